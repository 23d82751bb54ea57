"""TLS to a relay with a private CA, TCP_NODELAY on every connection, bad TLS files,
and a relay that drops the connection mid-send: all against real aiosmtpd servers with
certificates from a CA this module makes (with `cryptography`)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from digest.cli import cli
from digest.delivery.smtp import SmtpOptions, SmtpTransport, TlsFiles, tls_context
from digest.errors import ConfigError, DeliverySetupError, RecipientRefusedError
from digest.models import Message
from tests.conftest import Project, RecordingHandler, SmtpServer, smtp_serving

MESSAGE = Message("a@example.org", "b@example.org", "<x@example.org>", b"Subject: x\r\n\r\nx\r\n")


@dataclass(frozen=True)
class Pki:
    folder: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def server_context(self, client_ca: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server_cert, self.server_key)
        if client_ca:  # ask for a client certificate, accept the session without one
            context.load_verify_locations(self.ca)
            context.verify_mode = ssl.CERT_OPTIONAL
        return context


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _issue(
    ca_key: ec.EllipticCurvePrivateKey, issuer: x509.Name, common: str, **extensions: Any
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    for extension, critical in extensions.values():
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(ca_key, hashes.SHA256()), key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A private CA, a server certificate for 127.0.0.1 and a client certificate."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("digest test CA"))
        .issuer_name(_name("digest test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    server, server_key = _issue(
        ca_key, ca.subject, "127.0.0.1",
        san=(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                          x509.DNSName("localhost")]), False),
        aki=(aki, False),
    )  # fmt: skip
    client, client_key = _issue(ca_key, ca.subject, "digest sender", aki=(aki, False))
    elsewhere, elsewhere_key = _issue(
        ca_key, ca.subject, "relay.example",
        san=(x509.SubjectAlternativeName([x509.DNSName("relay.example")]), False),
        aki=(aki, False),
    )  # fmt: skip
    (folder / "elsewhere.pem").write_bytes(elsewhere.public_bytes(serialization.Encoding.PEM))
    _write_key(folder / "elsewhere.key", elsewhere_key)
    paths = Pki(folder, folder / "ca.pem", folder / "server.pem", folder / "server.key",
                folder / "client.pem", folder / "client.key")  # fmt: skip
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.server_cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths.client_cert.write_bytes(client.public_bytes(serialization.Encoding.PEM))
    _write_key(paths.server_key, server_key)
    _write_key(paths.client_key, client_key)
    return paths


@dataclass
class PeerHandler(RecordingHandler):
    """Records, per message, the client certificate the session presented (if any)."""

    peers: list[Any] | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.peers is None:
            self.peers = []
        self.peers.append(server.transport.get_extra_info("peercert"))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def starttls_server(pki: Pki) -> Iterator[SmtpServer]:
    with smtp_serving(
        PeerHandler(), tls_context=pki.server_context(client_ca=True), require_starttls=True
    ) as server:
        yield server


@pytest.fixture
def implicit_tls_server(pki: Pki) -> Iterator[SmtpServer]:
    with smtp_serving(PeerHandler(), ssl_context=pki.server_context()) as server:
        yield server


def context(pki: Pki, **keys: str) -> ssl.SSLContext:
    return tls_context(TlsFiles(pki.folder / "config.toml", **keys))  # type: ignore[arg-type]


def no_delay(transport: SmtpTransport) -> int:
    sock = transport.sock
    assert sock is not None
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_starttls_to_a_relay_with_a_private_ca_sets_tcp_nodelay(
    pki: Pki, starttls_server: SmtpServer
) -> None:
    options = SmtpOptions(starttls_server.host, starttls_server.port, "starttls")
    transport = SmtpTransport(options, context(pki, ca_file=str(pki.ca)))
    transport.send(MESSAGE)
    assert no_delay(transport) != 0
    assert isinstance(transport.sock, ssl.SSLSocket)  # the option survived the upgrade
    transport.send(MESSAGE)
    transport.close()
    assert len(starttls_server.handler.received) == 2


def test_implicit_tls_with_ca_dir_sets_tcp_nodelay(
    pki: Pki, implicit_tls_server: SmtpServer
) -> None:
    hashed = pki.folder / "cadir"
    hashed.mkdir(exist_ok=True)
    # ca_dir wants OpenSSL's hashed names: `openssl rehash` makes them
    (hashed / "ca.pem").write_bytes(pki.ca.read_bytes())
    subprocess.run(["openssl", "rehash", str(hashed)], check=True, capture_output=True)
    options = SmtpOptions(implicit_tls_server.host, implicit_tls_server.port, "ssl")
    transport = SmtpTransport(options, context(pki, ca_dir=str(hashed)))
    transport.send(MESSAGE)
    assert isinstance(transport.sock, ssl.SSLSocket)
    assert no_delay(transport) != 0
    transport.close()
    assert len(implicit_tls_server.handler.received) == 1


def test_plain_connections_set_tcp_nodelay(smtp_server: SmtpServer) -> None:
    transport = SmtpTransport(SmtpOptions(smtp_server.host, smtp_server.port, "none"))
    transport.send(MESSAGE)
    assert no_delay(transport) != 0
    transport.close()


def test_a_client_certificate_is_presented_when_set(pki: Pki, starttls_server: SmtpServer) -> None:
    options = SmtpOptions(starttls_server.host, starttls_server.port, "starttls")
    keys = {"ca_file": str(pki.ca), "client_cert_file": str(pki.client_cert),
            "client_key_file": str(pki.client_key)}  # fmt: skip
    with_cert = SmtpTransport(options, context(pki, **keys))
    with_cert.send(MESSAGE)
    with_cert.close()
    without = SmtpTransport(options, context(pki, ca_file=str(pki.ca)))
    without.send(MESSAGE)
    without.close()
    peers = starttls_server.handler.peers  # type: ignore[attr-defined]
    assert peers[0] and dict(x[0] for x in peers[0]["subject"])["commonName"] == "digest sender"
    assert not peers[1]


def test_an_unknown_ca_names_the_key_to_set(pki: Pki, starttls_server: SmtpServer) -> None:
    options = SmtpOptions(starttls_server.host, starttls_server.port, "starttls")
    with pytest.raises(DeliverySetupError, match=r"TLS: self-signed.*set \[smtp\] ca_file"):
        SmtpTransport(options, context(pki)).send(MESSAGE)
    assert starttls_server.handler.received == []
    # the last resort still works
    insecure = SmtpTransport(options, context(pki, verify_certificates=False))  # type: ignore[arg-type]
    insecure.send(MESSAGE)
    insecure.close()
    assert len(starttls_server.handler.received) == 1


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"ca_file": "missing.pem"}, r"\[smtp\] ca_file: cannot read .*missing.pem"),
        ({"ca_file": "garbage.pem"}, r"\[smtp\] ca_file: cannot use .*garbage.pem"),
        ({"ca_dir": "missing"}, r"\[smtp\] ca_dir: .*missing is not a folder"),
        ({"client_cert_file": "garbage.pem"}, r"\[smtp\] client_cert_file: cannot use .*garbage"),
        ({"client_cert_file": "client.pem", "client_key_file": "garbage.pem"},
         r"\[smtp\] client_key_file: cannot use .*garbage.pem"),
        ({"client_key_file": "client.key"}, r"\[smtp\] client_key_file: set client_cert_file"),
    ],
)  # fmt: skip
def test_bad_tls_files_are_one_line_naming_key_and_file(
    pki: Pki, keys: dict[str, str], expected: str
) -> None:
    (pki.folder / "garbage.pem").write_text("-----BEGIN CERTIFICATE-----\nnope\n")
    with pytest.raises(ConfigError, match=expected) as error:
        context(pki, **keys)
    assert "\n" not in str(error.value)


# -- through the CLI: errors before anyone is mailed; a relay dropping the connection --


def run(project: Project, *args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args], env=env)


def tls_env(server: SmtpServer, pki: Pki, **extra: str) -> dict[str, str]:
    return {
        "DIGEST_DELIVERY_TRANSPORT": "smtp",
        "DIGEST_SMTP_HOST": server.host,
        "DIGEST_SMTP_PORT": str(server.port),
        "DIGEST_SMTP_SECURITY": "starttls",
        "DIGEST_SMTP_CA_FILE": str(pki.ca),
        "DIGEST_DELIVERY_BACKOFF": "0.01",
        "DIGEST_DELIVERY_CONNECTIONS": "1",
        **extra,
    }


def imported(project: Project) -> None:
    path = str(project.root / "subscribers/sample.csv")
    result = CliRunner().invoke(
        cli, ["--config", str(project.config), "subscribers", "import", path]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"DIGEST_SMTP_CA_FILE": "{garbage}"}, "[smtp] ca_file: cannot use {garbage}"),
        ({"DIGEST_DKIM_SELECTOR": "s", "DIGEST_DKIM_DOMAIN": "example.org",
          "DIGEST_DKIM_KEY_FILE": "{garbage}"}, "[dkim]: key from {garbage} is not usable"),
        ({"DIGEST_DKIM_SELECTOR": "s", "DIGEST_DKIM_DOMAIN": "example.org",
          "DIGEST_DKIM_KEY_FILE": "{ec_key}"}, "key from {ec_key} is not usable: not an RSA"),
    ],
)  # fmt: skip
def test_a_bad_ca_file_or_dkim_key_stops_the_send_before_anyone_is_mailed(
    project: Project, pki: Pki, starttls_server: SmtpServer,
    extra: dict[str, str], expected: str,
) -> None:  # fmt: skip
    imported(project)
    garbage = pki.folder / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnope\n")
    names = {"garbage": str(garbage), "ec_key": str(pki.client_key)}
    env = tls_env(starttls_server, pki, **{k: v.format(**names) for k, v in extra.items()})
    result = run(project, "send", "--date", "2025-12-03", env=env)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert expected.format(**names) in lines[0]
    assert starttls_server.handler.received == []
    status = json.loads(run(project, "status", "--json", env=env).output)
    assert status == [] or status[0]["sent"] == 0


@dataclass
class DroppingHandler(PeerHandler):
    """Accepts `keep` messages, then cuts the TLS connection in the middle of the next
    DATA (no reply), as a relay that restarts or a middlebox that resets would."""

    keep: int = 3

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.keep <= 0:
            server.transport.abort()
            return "421 4.3.0 gone"  # never reaches the client
        self.keep -= 1
        return await super().handle_DATA(server, session, envelope)


def test_a_relay_dropping_tls_mid_send_leaves_rows_pending_exit_75_and_resume_works(
    project: Project, pki: Pki
) -> None:
    imported(project)
    dropping = DroppingHandler(keep=3)
    with smtp_serving(dropping, tls_context=pki.server_context(), require_starttls=True) as server:
        env = tls_env(server, pki, DIGEST_DELIVERY_MAX_ATTEMPTS="2")
        first = run(project, "send", "--date", "2025-12-03", env=env)
        assert first.exit_code == 75, first.output
        assert "Traceback" not in first.output
        status = json.loads(run(project, "status", "--json", env=env).output)
        assert (status[0]["sent"], status[0]["pending"], status[0]["failed"]) == (3, 4, 0)
        dropping.keep = 100  # the relay is back
        again = run(project, "send", "--date", "2025-12-03", env=env)
        assert again.exit_code == 0, again.output
    recipients = [r.recipients[0] for r in dropping.received]
    assert len(recipients) == len(set(recipients)) == 7  # everyone once, nobody twice
    status = json.loads(run(project, "status", "--json", env=env).output)
    assert (status[0]["sent"], status[0]["pending"]) == (7, 0)


# -- PIPELINING (RFC 2920): MAIL, RCPT, DATA in one write when the server offers it ----


@dataclass
class PipeliningHandler(RecordingHandler):
    """Offers PIPELINING in its EHLO reply and refuses the recipients in `refuse`."""

    refuse: tuple[str, ...] = ()

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:  # fmt: skip
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        options: list[str],
    ) -> str:  # fmt: skip
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_pipelined_sends_keep_dots_and_classify_refusals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = PipeliningHandler(refuse=("gone@example.org",))
    with smtp_serving(handler) as server:
        transport = SmtpTransport(SmtpOptions(server.host, server.port, "none"))
        monkeypatch.setattr(  # proof that the pipelined path ran: no separate MAIL command
            "smtplib.SMTP.mail", lambda *a, **k: pytest.fail("MAIL sent on its own")
        )
        dotted = b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\nend"
        first = Message("a@example.org", "b@example.org", "<1@x>", dotted)
        assert transport.send(first).startswith("250")
        with pytest.raises(RecipientRefusedError, match=r"550 5\.1\.1"):
            transport.send(Message("a@example.org", "gone@example.org", "<2@x>", dotted))
        assert transport.send(MESSAGE).startswith("250")  # the connection carries on
        transport.close()
    assert [r.recipients for r in handler.received] == [["b@example.org"], ["b@example.org"]]
    assert handler.received[0].data == dotted + b"\r\n"  # dot-stuffed on the wire, intact


def test_a_name_the_certificate_does_not_cover_names_the_host_key(pki: Pki) -> None:
    # A certificate from the trusted CA, but made out for relay.example, not 127.0.0.1.
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(pki.folder / "elsewhere.pem", pki.folder / "elsewhere.key")
    with smtp_serving(PeerHandler(), tls_context=server_context) as server:
        options = SmtpOptions(server.host, server.port, "starttls")
        with pytest.raises(DeliverySetupError, match=r"mismatch.*set \[smtp\] host to a name"):
            SmtpTransport(options, context(pki, ca_file=str(pki.ca))).send(MESSAGE)
        assert server.handler.received == []
