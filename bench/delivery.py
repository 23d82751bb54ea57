"""Delivery benchmark: `python -m bench delivery [--large]`.

Three questions, each answered as a ratio measured in one run (the machine is shared
and noisy; absolute numbers are only context):

1. throughput: `pipeline.send` to 5,000 subscribers over one connection, against a
   bare smtplib loop sending the same pre-built messages over one connection, both to
   an SMTP sink in another process. Target: at least 70 %.
2. connections: against a sink that waits 20 ms per message, N connections (up to 8)
   should reach at least 90 % of N × 50 messages per second.
3. memory: peak RSS of a send (null transport) for 10,000 and, with --large, 100,000
   subscribers, each in a fresh process. Target: flat as the list grows.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import resource
import shutil
import smtplib
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DAY = dt.date(2025, 12, 3)
NOW = dt.datetime(2025, 12, 8, 6, 0, tzinfo=dt.UTC)
BENCH_KEY = "bench-" + "k" * 32  # a signing key needs at least 32 bytes


# -- the sink: an aiosmtpd server in another process ---------------------------------


def readers_for_bench(count: int) -> Iterator[Any]:
    """The benchmarks' list: both languages, all themes or one or two chosen."""
    from digest.models import Subscriber

    langs, themes = ("fr", "en"), ("", "ukraine|hybrid", "spending")
    for i in range(count):
        yield Subscriber(
            email=f"reader{i:06d}@example.org",
            name=f"Reader {i}",
            language=langs[i % 2],
            themes=frozenset(t for t in themes[i % 3].split("|") if t),
        )


def serve_sink(port: int, delay: float) -> None:
    """Accept and discard every message, `delay` seconds after its final dot.

    A minimal SMTP responder, a thread per connection, rather than aiosmtpd: aiosmtpd
    reads DATA a line at a time in Python (~5 ms of CPU for a 60 KB issue on this
    machine), so with 8 connections the sink itself ate most of a core and its own cost,
    not the sender's, showed as the gap to N × 50 msg/s. An asyncio version of this sink
    answered ~1.3 ms late a message (its timers round up to the millisecond, and every
    chunk of DATA wakes the loop), which even a bare smtplib loop showed as 0.87–0.91 of
    the ideal; `time.sleep` in a thread of its own is late by a few tens of µs. A remote
    server's latency is what the delay models; this sink spends almost nothing besides.
    """

    class Session(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(b"220 sink ESMTP\r\n")
            buffer = b""

            def until(mark: bytes) -> bytes | None:
                nonlocal buffer
                seen = 0
                while (end := buffer.find(mark, seen)) < 0:
                    seen = max(0, len(buffer) - len(mark) + 1)
                    chunk = sock.recv(262144)
                    if not chunk:
                        return None
                    buffer += chunk
                found, buffer = buffer[:end], buffer[end + len(mark) :]
                return found

            with contextlib.suppress(OSError):
                while (line := until(b"\r\n")) is not None:
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        sock.sendall(b"250-sink\r\n250-PIPELINING\r\n250 SIZE 52428800\r\n")
                    elif verb == b"DATA":
                        sock.sendall(b"354 go ahead\r\n")
                        if until(b"\r\n.\r\n") is None:
                            return
                        if delay:
                            time.sleep(delay)
                        sock.sendall(b"250 2.0.0 OK\r\n")
                    elif verb == b"QUIT":
                        sock.sendall(b"221 bye\r\n")
                        return
                    else:  # MAIL, RCPT, RSET, NOOP
                        sock.sendall(b"250 OK\r\n")

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 64

    with Server(("127.0.0.1", port), Session) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print("ready", flush=True)
        sys.stdin.read()  # until the parent closes stdin
        server.shutdown()


@contextlib.contextmanager
def sink(delay: float = 0.0) -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.delivery", "--sink", str(port), str(delay)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None and child.stdin is not None
    if child.stdout.readline().strip() != "ready":
        raise RuntimeError("the SMTP sink did not start")
    try:
        yield port
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()


# -- a throwaway project with N subscribers -------------------------------------------


@contextlib.contextmanager
def project(readers: int, **environ: str) -> Iterator[tuple[object, object]]:
    from digest import pipeline
    from digest.config import load_settings
    from digest.store import Store

    with tempfile.TemporaryDirectory(prefix="digest-bench-") as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "config.toml", root / "config.toml")
        shutil.copytree(REPO / "templates", root / "templates")
        shutil.copytree(REPO / "briefings", root / "briefings")
        (root / "subscribers").mkdir()
        settings = load_settings(root / "config.toml", {"DIGEST_SECRET_KEY": BENCH_KEY, **environ})
        store = Store(settings.store.path)
        store.upsert_subscribers(readers_for_bench(readers), source="bench")
        issue = pipeline.assemble(settings, pipeline.read_entries(settings), DAY)
        edition = pipeline.Edition(settings, issue, pipeline.make_signer(settings), NOW)
        try:
            yield edition, store
        finally:
            store.close()


# -- 1. throughput against a bare smtplib loop -----------------------------------------


def throughput(readers: int) -> dict[str, float]:
    from digest import pipeline
    from digest.delivery.outbox import OutboxOptions
    from digest.delivery.smtp import SmtpOptions, SmtpTransport

    with sink() as port, project(readers) as (edition, store):
        assert isinstance(edition, pipeline.Edition)
        one = OutboxOptions(connections=1, max_attempts=1)
        messages = [edition.message_for(s) for s in store.subscribers("active")]  # type: ignore[attr-defined]
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for message in messages:
                smtp.sendmail(message.sender, [message.recipient], message.data)
        bare = time.perf_counter() - start
        transport = SmtpTransport(SmtpOptions("127.0.0.1", port, "none"))
        start = time.perf_counter()
        summary = pipeline.send(edition, store, transport, options=one)  # type: ignore[arg-type]
        ours = time.perf_counter() - start
    assert summary.sent == readers, summary
    return {
        "messages": readers,
        "bare_smtplib_per_s": readers / bare,
        "digest_send_per_s": readers / ours,
        "ratio": bare / ours,
    }


# -- 2. parallel connections against a slow sink --------------------------------------


def timed_send(edition: Any, store: Any, port: int, count: int) -> float:
    """Seconds `pipeline.send` takes over `count` connections to the sink on `port`."""
    from digest import pipeline
    from digest.delivery.outbox import OutboxOptions
    from digest.delivery.smtp import SmtpOptions, SmtpTransport

    def make() -> SmtpTransport:
        return SmtpTransport(SmtpOptions("127.0.0.1", port, "none"))

    readers = len(store.subscribers("active"))
    options = OutboxOptions(connections=count, max_attempts=1)
    start = time.perf_counter()
    summary = pipeline.send(edition, store, make(), options=options, transport_factory=make)
    elapsed = time.perf_counter() - start
    assert summary.sent == readers, summary
    return elapsed


def connections(count: int, readers: int, delay: float = 0.02) -> dict[str, float]:
    with sink(delay) as port, project(readers) as (edition, store):
        for reader in store.subscribers("active")[:12]:  # type: ignore[attr-defined]
            edition.message_for(reader)  # type: ignore[attr-defined]  # render variants first
        elapsed = timed_send(edition, store, port, count)
    ideal = count / delay
    return {
        "connections": count,
        "messages": readers,
        "per_s": readers / elapsed,
        "ideal_per_s": ideal,
        "ratio": readers / elapsed / ideal,
    }


# -- 2b. the matrix for the performance page: ours against bare smtplib, N connections -


def bare_smtplib(port: int, messages: list[Any], count: int) -> float:
    """Seconds for `count` threads, each one smtplib connection, to send their share."""

    def loop(share: list[Any]) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for message in share:
                smtp.sendmail(message.sender, [message.recipient], message.data)

    threads = [threading.Thread(target=loop, args=(messages[i::count],)) for i in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def ours_against_bare(count: int, readers: int, delay: float) -> dict[str, float]:
    """Messages a second of `pipeline.send` and of a bare smtplib loop, same N, same sink.

    Both send the same messages; the bare loop gets them pre-built, so the ratio is
    what the outbox (rendering, SQLite commit per accept, retries) costs on top.
    """
    from digest import pipeline

    with sink(delay) as port, project(readers) as (edition, store):
        assert isinstance(edition, pipeline.Edition)
        messages = [edition.message_for(s) for s in store.subscribers("active")]  # type: ignore[attr-defined]
        bare = bare_smtplib(port, messages, count)
        ours = timed_send(edition, store, port, count)
    return {
        "connections": count,
        "delay_ms": delay * 1000,
        "messages": readers,
        "bare_per_s": readers / bare,
        "ours_per_s": readers / ours,
        "ratio": bare / ours,
    }


# -- 3. memory as the list grows --------------------------------------------------------


class NullTransport:
    def send(self, message: object) -> str:
        return "250 discarded"

    def close(self) -> None:
        pass


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process. Not ru_maxrss: on Linux that keeps
    the peak of the process image before exec, i.e. of the parent that forked us."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def rss_child(readers: int) -> None:
    from digest import pipeline
    from digest.delivery.outbox import OutboxOptions

    with project(readers) as (edition, store):
        before = memory_mb("VmRSS")
        summary = pipeline.send(
            edition, store, NullTransport(),  # type: ignore[arg-type]
            options=OutboxOptions(connections=1, max_attempts=1),
        )  # fmt: skip
        peak = memory_mb("VmHWM")
    print(json.dumps({"readers": readers, "sent": summary.sent, "rss_before_mb": before,
                      "rss_peak_mb": peak}))  # fmt: skip


def rss(readers: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.delivery", "--rss-child", str(readers)],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench delivery")
    parser.add_argument("--large", action="store_true", help="also 100,000 subscribers (RSS)")
    parser.add_argument("--readers", type=int, default=5000, help="throughput list size")
    parser.add_argument("--sink", nargs=2, metavar=("PORT", "DELAY"), help=argparse.SUPPRESS)
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sink:
        serve_sink(int(args.sink[0]), float(args.sink[1]))
        return
    if args.rss_child:
        rss_child(args.rss_child)
        return

    print("delivery: throughput, one connection (target ratio >= 0.70)")
    t = throughput(args.readers)
    print(f"  {t['messages']} messages: bare smtplib {t['bare_smtplib_per_s']:.0f}/s, "
          f"digest send {t['digest_send_per_s']:.0f}/s, ratio {t['ratio']:.2f}")  # fmt: skip
    print("delivery: N connections, sink waits 20 ms a message (target ratio >= 0.90)")
    for count in (1, 4, 8):
        c = connections(count, readers=150 * count)
        print(f"  {count} connection(s): {c['per_s']:.0f}/s of ideal {c['ideal_per_s']:.0f}/s, "
              f"ratio {c['ratio']:.2f}")  # fmt: skip
    print("delivery: peak RSS of a send (null transport; target: flat)")
    sizes = [1_000, 10_000] + ([100_000] if args.large else [])
    for size in sizes:
        r = rss(size)
        print(f"  {size:>7} subscribers: peak {r['rss_peak_mb']:.0f} MB "
              f"(before send {r['rss_before_mb']:.0f} MB)")  # fmt: skip
    if not args.large:
        print("  (run `python -m bench delivery --large` for 100,000)")


if __name__ == "__main__":
    main()
