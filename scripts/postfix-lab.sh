#!/usr/bin/env bash
# A throwaway Postfix relay on 127.0.0.1 for `make bench` (bench/relay.py): the way the
# README tells operators to run digest, i.e. STARTTLS + SASL AUTH on the submission
# port, with a certificate from a private CA made here with openssl. Every message is
# discarded (discard transport for the test domain, and for any other domain too), so
# nothing ever leaves the machine.
#
#   scripts/postfix-lab.sh up      install what is missing, make the CA, configure, start
#   scripts/postfix-lab.sh down    stop the instance and delete its folder
#   scripts/postfix-lab.sh status  say whether it runs
#
# Needs root (Postfix's master runs as root and drops to the `postfix` user) and a
# Debian-like system (apt-get). No systemd: the instance is started and stopped with
# `postfix -c DIR start|stop`, its own config, queue and data folders under LAB_DIR,
# beside (never instead of) any system Postfix. `up` prints KEY=VALUE lines (also
# written to LAB_DIR/lab.env) that bench/relay.py reads.
#
# Settings (environment): LAB_DIR (/tmp/digest-postfix-lab), LAB_PORT (587: STARTTLS +
# AUTH), LAB_PLAIN_PORT (2526: plain, no AUTH, loopback only: for smtp-source, which
# speaks neither TLS nor AUTH), LAB_DOMAIN (example.org: the discarded test domain).
set -euo pipefail

LAB_DIR=${LAB_DIR:-/tmp/digest-postfix-lab}
LAB_PORT=${LAB_PORT:-587}
LAB_PLAIN_PORT=${LAB_PLAIN_PORT:-2526}
LAB_DOMAIN=${LAB_DOMAIN:-example.org}
LAB_USER=bench
CONF=$LAB_DIR/conf

say() { echo "postfix-lab: $*" >&2; }
fail() { say "$*"; exit 1; }

install_missing() {
    local missing=()
    command -v postfix >/dev/null || missing+=(postfix)
    command -v smtp-source >/dev/null || missing+=(postfix)
    command -v saslpasswd2 >/dev/null || missing+=(sasl2-bin)
    ls /usr/lib/*/sasl2/libplain.so* >/dev/null 2>&1 || missing+=(libsasl2-modules)
    ls /usr/lib/*/sasl2/libsasldb.so* >/dev/null 2>&1 || missing+=(libsasl2-modules-db)
    command -v openssl >/dev/null || missing+=(openssl)
    if ((${#missing[@]})); then
        command -v apt-get >/dev/null || fail "missing ${missing[*]} and no apt-get to install them"
        say "installing ${missing[*]}"
        # No debconf questions: the package's own main.cf is not used by the lab.
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

make_ca() {
    # A private CA and a server certificate for 127.0.0.1 / localhost, both EC P-256.
    local pki=$LAB_DIR/pki
    mkdir -p "$pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=digest bench CA" -keyout "$pki/ca.key" -out "$pki/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=127.0.0.1" -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$pki/ext.cnf"
    openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
        -CAcreateserial -days 2 -extfile "$pki/ext.cnf" -out "$pki/server.pem" 2>/dev/null
    chmod 600 "$pki/ca.key" "$pki/server.key"
}

configure() {
    mkdir -p "$CONF/sasl" "$LAB_DIR/queue" "$LAB_DIR/data"
    chown postfix "$LAB_DIR/data"
    local password
    password=$(openssl rand -hex 12)
    # Cyrus SASL with its own sasldb file: PLAIN/LOGIN, only offered after STARTTLS.
    echo "$password" | saslpasswd2 -p -c -f "$CONF/sasldb2" -u "$LAB_DOMAIN" "$LAB_USER"
    chown root:postfix "$CONF/sasldb2"
    chmod 640 "$CONF/sasldb2"
    cat >"$CONF/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $CONF/sasldb2
mech_list: PLAIN LOGIN
EOF
    cat >"$CONF/main.cf" <<EOF
# digest bench relay (scripts/postfix-lab.sh): loopback only, everything discarded.
compatibility_level = 3.6
queue_directory = $LAB_DIR/queue
data_directory = $LAB_DIR/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.lab.test
mydomain = lab.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
syslog_name = postfix-digest-lab
maillog_file = $LAB_DIR/maillog
maillog_file_prefixes = $LAB_DIR
alias_maps =
alias_database =
local_recipient_maps =
transport_maps = inline:{ $LAB_DOMAIN=discard:lab }
default_transport = discard:lab
relay_transport = discard:lab
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject
smtpd_tls_cert_file = $LAB_DIR/pki/server.pem
smtpd_tls_key_file = $LAB_DIR/pki/server.key
smtpd_tls_security_level = may
smtpd_tls_loglevel = 0
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $CONF/sasl
smtpd_sasl_auth_enable = no
message_size_limit = 52428800
default_process_limit = 50
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
in_flow_delay = 0
EOF
    # master.cf: Debian's services, none chrooted (the sasldb file and queue live
    # outside any chroot), with our two listeners instead of the port-25 one.
    local services=/etc/postfix/master.cf
    [[ -f $services ]] || services=/usr/share/postfix/master.cf.dist
    awk '/^#/ || NF == 0 { next }
         /^[^ \t]/ { skip = ($1 == "smtp" && $2 == "inet") }
         skip { next }
         /^[^ \t]/ && $2 ~ /^(unix|inet|fifo|pass|unix-dgram)$/ { $5 = "n" }
         { print }' "$services" >"$CONF/master.cf"
    cat >>"$CONF/master.cf" <<EOF
127.0.0.1:$LAB_PORT inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
127.0.0.1:$LAB_PLAIN_PORT inet n - n - - smtpd
EOF
    echo "$password" >"$LAB_DIR/password"
    chmod 600 "$LAB_DIR/password"
}

wait_listening() {
    local port=$1
    for _ in $(seq 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

up() {
    [[ $(id -u) == 0 ]] || fail "needs root (Postfix's master starts as root)"
    install_missing
    stop_quietly
    rm -rf "$LAB_DIR"
    mkdir -p "$LAB_DIR"
    make_ca
    configure
    postfix -c "$CONF" check 2>"$LAB_DIR/check.log" || fail "postfix check failed: $(tail -1 "$LAB_DIR/check.log")"
    postfix -c "$CONF" start 2>"$LAB_DIR/start.log" || fail "postfix did not start: $(tail -1 "$LAB_DIR/start.log")"
    wait_listening "$LAB_PORT" || fail "nothing listens on 127.0.0.1:$LAB_PORT (see $LAB_DIR/maillog)"
    wait_listening "$LAB_PLAIN_PORT" || fail "nothing listens on 127.0.0.1:$LAB_PLAIN_PORT"
    {
        echo "LAB_DIR=$LAB_DIR"
        echo "HOST=127.0.0.1"
        echo "PORT=$LAB_PORT"
        echo "PLAIN_PORT=$LAB_PLAIN_PORT"
        echo "CA_FILE=$LAB_DIR/pki/ca.pem"
        echo "USERNAME=$LAB_USER@$LAB_DOMAIN"
        echo "PASSWORD_FILE=$LAB_DIR/password"
        echo "DOMAIN=$LAB_DOMAIN"
        echo "POSTFIX=$(postconf -c "$CONF" -h mail_version)"
    } | tee "$LAB_DIR/lab.env"
}

stop_quietly() {
    if [[ -f $CONF/main.cf ]]; then
        postfix -c "$CONF" stop >/dev/null 2>&1 || true
        # master exits within a second or two; give it up to 10
        for _ in $(seq 50); do
            postfix -c "$CONF" status >/dev/null 2>&1 || return 0
            sleep 0.2
        done
        postfix -c "$CONF" abort >/dev/null 2>&1 || true
    fi
}

case ${1:-} in
    up) up ;;
    down)
        stop_quietly
        rm -rf "$LAB_DIR"
        ;;
    status)
        if [[ -f $CONF/main.cf ]] && postfix -c "$CONF" status 2>/dev/null; then
            say "running (config $CONF)"
        else
            say "not running"
            exit 1
        fi
        ;;
    *) fail "usage: $0 up|down|status" ;;
esac
