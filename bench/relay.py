"""Through a real relay: `python -m bench relay [--messages N]`.

A Postfix on 127.0.0.1 set up by scripts/postfix-lab.sh (STARTTLS + SASL AUTH on 587,
a certificate from a private CA, every message discarded), the way the README tells
operators to run digest. In one run, for 1 and 4 connections, DKIM off and on:

- `digest send` (pipeline.send: render, sign, one SQLite commit per accept) through
  SmtpTransport with [smtp] ca_file and a login;
- a bare smtplib loop sending the same bytes over the same STARTTLS + AUTH, N threads
  of one connection each, with TCP_NODELAY as a tuned client would (without it every
  DATA waits ~45 ms on Nagle + delayed ACK). Its messages are pre-built (no rendering,
  no store); with DKIM on it signs each one just before sending it, with the same
  signer, as the simplest correct sending program does. Pre-signing them outside the
  clock (as a first version of this benchmark did) charged the signer's cost twice:
  once in the DKIM on/off ratio, which is there to measure it, and again in digest /
  bare, which is there to measure what the outbox adds to a send;
- Postfix's own `smtp-source` as the ceiling: the same relay and message size, but
  plain SMTP without AUTH on a second loopback port (smtp-source speaks neither TLS
  nor AUTH).

Every cell runs in two layouts of the machine's cores, taking turns:

- `own`: Postfix (its master and every process it starts) pinned to one core, the
  sender (digest, the bare loop, smtp-source) to the others. This is the shape of a
  real send, where the relay is another host: it measures whether the sender keeps up
  with what the relay accepts;
- `shared`: both on every core, as when the relay runs on the sending machine. On a
  2-core machine 4 connections saturate both cores, so every CPU-millisecond the
  sender spends a message shows as throughput, including the ones a relay host would
  never see.

Targets, each a ratio in this run: DKIM-on digest >= 0.9 of DKIM-off digest, and
digest >= 0.9 of the bare loop at 1 and 4 connections. Where Postfix cannot be set up
(not root, no apt-get, a port taken) the section says why and is skipped; on a single
core there is only the shared layout.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import smtplib
import socket
import ssl
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import term_unwinds
from bench.delivery import REPO, project

SCRIPT = REPO / "scripts" / "postfix-lab.sh"
CONNECTIONS = (1, 4)
LAYOUTS = ("own", "shared")


class Skipped(Exception):
    """Postfix could not be set up here; the message says why."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def postfix_lab(log: Any = print, submission_port: int = 587) -> Iterator[dict[str, str]]:
    """Start the lab relay (scripts/postfix-lab.sh up), yield its settings, stop it.

    The submission port is 587 when free (as operators run it), else any free port;
    `submission_port=0` always takes a free one (the smoke test, beside other runs)."""
    if shutil.which("bash") is None:
        raise Skipped("no bash to run scripts/postfix-lab.sh")
    if os.geteuid() != 0:
        raise Skipped("needs root to start Postfix (run make bench as root, e.g. in CI)")
    lab_dir = tempfile.mkdtemp(prefix="digest-postfix-lab-")
    port = submission_port if submission_port and _port_is_free(submission_port) else 0
    env = {**os.environ, "LAB_DIR": lab_dir, "LAB_PORT": str(port or _free_port()),
           "LAB_PLAIN_PORT": str(_free_port())}  # fmt: skip
    log("relay: setting up Postfix (scripts/postfix-lab.sh up)")
    try:
        up = subprocess.run(
            ["bash", str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=600
        )
    except subprocess.TimeoutExpired:
        up = None
    try:
        if up is None or up.returncode != 0:
            reason = "timed out" if up is None else (up.stderr.strip().splitlines() or ["?"])[-1]
            raise Skipped(f"Postfix could not be set up: {reason}")
        settings = dict(line.split("=", 1) for line in up.stdout.splitlines() if "=" in line)
        yield settings
    finally:
        subprocess.run(["bash", str(SCRIPT), "down"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(lab_dir, ignore_errors=True)


def _postfix_pids(lab: dict[str, str]) -> list[int]:
    """Postfix's master and every process under it (smtpd, cleanup, qmgr, discard...)."""
    pid_file = Path(lab["LAB_DIR"]) / "queue" / "pid" / "master.pid"
    master = int(pid_file.read_text().split()[0])
    children: dict[int, list[int]] = collections.defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        children[int(fields[1])].append(int(stat.parent.name))
    found, todo = [], [master]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children[pid]
    return found


def layouts(cpus: set[int]) -> tuple[str, ...]:
    """The layouts this machine can run: `own` needs a core for Postfix and one left."""
    return LAYOUTS if len(cpus) >= 2 else ("shared",)


@contextmanager
def pinned(lab: dict[str, str], layout: str, cpus: set[int]) -> Iterator[None]:
    """Run the block in `layout`: the calling thread's affinity (which the threads and
    processes it starts inherit) and Postfix's (which the processes its master forks
    inherit) set for it; the sender gets all of `cpus` back after."""
    relay_cpus = {max(cpus)} if layout == "own" else cpus
    sender_cpus = cpus - relay_cpus if layout == "own" else cpus
    for pid in _postfix_pids(lab):
        try:
            os.sched_setaffinity(pid, relay_cpus)
        except ProcessLookupError:
            continue  # a process that ended meanwhile
    os.sched_setaffinity(0, sender_cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, cpus)


def _dkim_signer() -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from digest.delivery.dkim import DkimSigner, rsa_key

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    return DkimSigner("example.org", [rsa_key(b"bench", pem)])


def _digest_send(lab: dict[str, str], readers: int, count: int, signer: Any) -> float:
    """Messages a second of pipeline.send through the relay, `count` connections."""
    from digest import pipeline
    from digest.delivery.outbox import OutboxOptions
    from digest.delivery.smtp import SmtpOptions, SmtpTransport, TlsFiles, tls_context

    context = tls_context(TlsFiles(Path(lab["LAB_DIR"]) / "x.toml", ca_file=lab["CA_FILE"]))
    password = Path(lab["PASSWORD_FILE"]).read_text().strip()
    options = SmtpOptions(lab["HOST"], int(lab["PORT"]), "starttls",
                          username=lab["USERNAME"], password=password)  # fmt: skip

    def make() -> SmtpTransport:
        return SmtpTransport(options, context)

    with project(readers) as (edition, store):
        assert isinstance(edition, pipeline.Edition)
        for reader in store.subscribers("active")[:12]:  # type: ignore[attr-defined]
            edition.message_for(reader)  # compile the variants before the clock starts
        send_options = OutboxOptions(connections=count, max_attempts=1)
        start = time.perf_counter()
        summary = pipeline.send(
            edition, store, make(), options=send_options, transport_factory=make,  # type: ignore[arg-type]
            sign=signer.sign if signer else None,
        )  # fmt: skip
        elapsed = time.perf_counter() - start
    if summary.sent != readers:
        raise RuntimeError(f"digest send through Postfix: {summary}")
    return readers / elapsed


def _bare_loop(lab: dict[str, str], readers: int, count: int, signer: Any) -> float:
    """Messages a second of N plain smtplib threads sending the same bytes, each signed
    just before it goes when `signer` is given."""
    from digest import pipeline

    with project(readers) as (edition, store):
        assert isinstance(edition, pipeline.Edition)
        messages = [edition.message_for(s) for s in store.subscribers("active")]  # type: ignore[attr-defined]
    sign = signer.sign if signer else (lambda message: message)
    context = ssl.create_default_context(cafile=lab["CA_FILE"])
    password = Path(lab["PASSWORD_FILE"]).read_text().strip()
    errors: list[BaseException] = []

    def loop(share: list[Any]) -> None:
        try:
            with smtplib.SMTP(lab["HOST"], int(lab["PORT"])) as smtp:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                smtp.starttls(context=context)
                smtp.login(lab["USERNAME"], password)
                for message in share:
                    smtp.sendmail(message.sender, [message.recipient], sign(message).data)
        except BaseException as exc:  # reported after the join
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(messages[i::count],)) for i in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"bare smtplib loop through Postfix: {errors[0]!r}")
    return readers / elapsed


def _message_size(readers: int) -> int:
    from digest import pipeline

    with project(min(readers, 12)) as (edition, store):
        assert isinstance(edition, pipeline.Edition)
        sizes = [len(edition.message_for(s).data) for s in store.subscribers("active")]  # type: ignore[attr-defined]
    return int(statistics.median(sizes))


def _smtp_source(lab: dict[str, str], messages: int, count: int, size: int) -> float:
    """Messages a second of Postfix's smtp-source: plain SMTP, no AUTH, reused sessions."""
    tool = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    args = [tool, "-d", "-s", str(count), "-m", str(messages), "-l", str(size),
            "-f", "digest@example.org", "-t", "reader@example.org",
            f"{lab['HOST']}:{lab['PLAIN_PORT']}"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, timeout=600)
    return messages / (time.perf_counter() - start)


def measure(messages: int, repeat: int, log: Any = print, port: int = 587) -> dict[str, Any]:
    """The relay table, or {"skipped": why} when Postfix cannot run here."""
    try:
        with postfix_lab(log, port) as lab:
            signer = _dkim_signer()
            size = _message_size(messages)
            # Postfix starts its smtpd, cleanup and discard processes on demand: one
            # untimed round first, so the first timed cell does not pay for them.
            _digest_send(lab, min(messages, 50), max(CONNECTIONS), signer)
            _bare_loop(lab, min(messages, 50), max(CONNECTIONS), None)
            cpus = os.sched_getaffinity(0)
            kinds = layouts(cpus)
            cells = [
                (layout, dkim, count)
                for layout in kinds for count in CONNECTIONS for dkim in (False, True)
            ]  # fmt: skip
            ours: dict[tuple[str, bool, int], list[float]] = {cell: [] for cell in cells}
            bare: dict[tuple[str, bool, int], list[float]] = {cell: [] for cell in cells}
            # Every cell once per turn, DKIM off and on next to each other, digest and
            # bare taking turns to go first: the machine's load drifts over minutes, and
            # a ratio of two medians measured minutes apart would measure the drift.
            for turn in range(repeat):
                log(f"relay: turn {turn + 1} of {repeat}: {messages} messages a run, "
                    f"{len(cells)} cells: {kinds} layouts, DKIM off and on, "
                    f"{CONNECTIONS} connections")  # fmt: skip
                for layout, dkim, count in cells:
                    sign = signer if dkim else None
                    cell = (layout, dkim, count)
                    with pinned(lab, layout, cpus):
                        if turn % 2:
                            bare[cell].append(_bare_loop(lab, messages, count, sign))
                        ours[cell].append(_digest_send(lab, messages, count, sign))
                        if not turn % 2:
                            bare[cell].append(_bare_loop(lab, messages, count, sign))
            rows = [
                {"layout": layout, "dkim": dkim, "connections": count, "messages": messages,
                 "ours_per_s": statistics.median(ours[(layout, dkim, count)]),
                 "bare_per_s": statistics.median(bare[(layout, dkim, count)]),
                 "ours_runs": ours[(layout, dkim, count)], "bare_runs": bare[(layout, dkim, count)]}
                for layout, dkim, count in cells
            ]  # fmt: skip
            ceiling = []
            for layout in kinds:
                for count in CONNECTIONS:
                    log(f"relay: smtp-source, {count} session(s), {layout} layout")
                    with pinned(lab, layout, cpus):
                        runs = [_smtp_source(lab, messages, count, size) for _ in range(repeat)]
                    ceiling.append(
                        {"layout": layout, "connections": count, "per_s": statistics.median(runs)}
                    )
            return {
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                "postfix": lab.get("POSTFIX", "?"),
                "port": int(lab["PORT"]),
                "message_bytes": size,
                "repeat": repeat,
                "cpus": len(cpus),
                "rows": rows,
                "ceiling": ceiling,
            }
    except Skipped as why:
        log(f"relay: skipped: {why}")
        return {"skipped": str(why)}


def of_layout(items: list[dict[str, Any]], layout: str) -> list[dict[str, Any]]:
    """The rows (or ceilings) of one layout; results saved before layouts were
    measured are all `shared`."""
    return [item for item in items if item.get("layout", "shared") == layout]


def measured_layouts(relay: dict[str, Any]) -> list[str]:
    return [layout for layout in LAYOUTS if of_layout(relay["rows"], layout)]


def ratios(relay: dict[str, Any], layout: str = "shared") -> dict[str, float]:
    """ours/bare per (dkim, connections), and DKIM on/off for digest, per connections,
    in one layout.

    Each is the median of the ratios of runs made next to each other in the same turn
    (paired), which the load's drift between turns does not move; results saved before
    runs were kept give the ratio of the medians."""
    out: dict[str, float] = {}
    rows = {(r["dkim"], r["connections"]): r for r in of_layout(relay["rows"], layout)}

    def paired(a: dict[str, Any], a_key: str, b: dict[str, Any], b_key: str) -> float:
        runs_a = a.get(a_key.replace("per_s", "runs"))
        runs_b = b.get(b_key.replace("per_s", "runs"))
        if runs_a and runs_b and len(runs_a) == len(runs_b):
            return float(statistics.median(x / y for x, y in zip(runs_a, runs_b, strict=True)))
        return float(a[a_key] / b[b_key])

    for (dkim, count), row in rows.items():
        out[f"ours_bare_{'dkim' if dkim else 'plain'}_{count}"] = paired(
            row, "ours_per_s", row, "bare_per_s"
        )
        if dkim:
            out[f"dkim_on_off_{count}"] = paired(
                row, "ours_per_s", rows[(False, count)], "ours_per_s"
            )
            out[f"bare_dkim_on_off_{count}"] = paired(
                row, "bare_per_s", rows[(False, count)], "bare_per_s"
            )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench relay")
    parser.add_argument("--messages", type=int, default=1000, help="messages per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per cell (median)")
    args = parser.parse_args(argv)
    with term_unwinds():
        relay = measure(args.messages, args.repeat)
    if "skipped" in relay:
        return
    for layout in measured_layouts(relay):
        print(f"  {layout} layout:")
        for row in of_layout(relay["rows"], layout):
            print(f"  DKIM {'on ' if row['dkim'] else 'off'} {row['connections']} conn: digest "
                  f"{row['ours_per_s']:.0f}/s, bare {row['bare_per_s']:.0f}/s, "
                  f"ratio {row['ours_per_s'] / row['bare_per_s']:.2f}")  # fmt: skip
        for ceiling in of_layout(relay["ceiling"], layout):
            print(f"  smtp-source {ceiling['connections']} session(s): {ceiling['per_s']:.0f}/s")
        for key, value in ratios(relay, layout).items():
            print(f"  {key}: {value:.2f}")


if __name__ == "__main__":
    main()
