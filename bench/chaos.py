"""Crash and fault run: `make chaos` (`python -m bench.chaos`).

A real `digest send` (a subprocess, with its own temporary project: config, store,
entries, subscribers) mails the issue to 2,000 subscribers through an aiosmtpd server
running in a thread of this runner on 127.0.0.1. The server misbehaves on purpose:

- 10 % of the addresses get `451` on their first attempt (retried by the outbox);
- 1 % get `550 5.1.1` on every attempt (failed for good, bounced);
- about 1 % of DATA commands see the connection dropped before the reply (the message
  is not taken; the outbox reconnects and retries).

Meanwhile the send is killed with SIGKILL at random moments (each after a random number
of accepted messages plus a random few milliseconds) and restarted until it completes.
Then the runner counts, per address, what the server accepted and prints missing,
duplicated and permanently failed. Target: 0 missing, every 5xx address failed (and
only those), and at most `kills × connections` duplicates, i.e. one per kill with the
default single connection: a kill can land after the server took a message and before
the store committed it, once per connection in flight. Exits 1 when the target is
missed. Everything it starts (server, sends) is stopped before it returns.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import hashlib
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import term_unwinds

REPO = Path(__file__).resolve().parent.parent
DAY = "2025-12-03"
ISSUE_KEY = "2025-W49"
RUN_TIMEOUT = 120.0
CHAOS_KEY = "chaos-" + "k" * 32  # a signing key needs at least 32 bytes
"""A single send that makes no progress for this long is a failure, not a wait."""


# -- the faulty server ---------------------------------------------------------------


@dataclass
class FaultyHandler:
    """aiosmtpd handler that fails on purpose; its fate per address is a pure hash, so
    it stays the same across the send's restarts (the server itself never restarts)."""

    seed: int
    temp_rate: float = 0.10
    perm_rate: float = 0.01
    drop_rate: float = 0.01
    attempts: collections.Counter[str] = field(default_factory=collections.Counter)
    accepted: collections.Counter[str] = field(default_factory=collections.Counter)
    refused: set[str] = field(default_factory=set)
    temp_failures: int = 0
    drops: int = 0
    total_accepted: int = 0

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def fate(self, address: str) -> float:
        digest = hashlib.sha256(f"{self.seed}:{address}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def permanent(self, address: str) -> bool:
        return self.fate(address) < self.perm_rate

    def temporary(self, address: str) -> bool:
        return self.perm_rate <= self.fate(address) < self.perm_rate + self.temp_rate

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.attempts[address] += 1
        if self.permanent(address):
            self.refused.add(address)
            return f"550 5.1.1 <{address}>: no such mailbox (chaos)"
        if self.temporary(address) and self.attempts[address] == 1:
            self.temp_failures += 1
            return "451 4.3.0 try again later (chaos)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.random.random() < self.drop_rate:
            self.drops += 1
            server.transport.close()  # hang up before the reply: the message is not taken
            return "421 4.4.2 connection dropped (chaos)"
        for address in envelope.rcpt_tos:
            self.accepted[address] += 1
        self.total_accepted += 1
        return "250 2.0.0 OK"


@contextlib.contextmanager
def faulty_server(handler: FaultyHandler) -> Iterator[int]:
    from aiosmtpd.controller import Controller

    # aiosmtpd logs every dropped connection; the summary counts them instead.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


# -- the project the send runs in ----------------------------------------------------


def make_project(root: Path, subscribers: int) -> list[str]:
    """Config, templates, entries and `subscribers` active readers; returns addresses."""
    from digest.config import load_settings
    from digest.models import Subscriber
    from digest.store import Store

    shutil.copy(REPO / "config.toml", root / "config.toml")
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "briefings", root / "briefings")
    (root / "subscribers").mkdir()
    settings = load_settings(root / "config.toml", {"DIGEST_SECRET_KEY": CHAOS_KEY})
    emails = [f"reader{i:05d}@example.org" for i in range(subscribers)]
    with Store(settings.store.path) as store:
        store.upsert_subscribers(
            (Subscriber(email=e, name=f"Reader {i}", language=("fr", "en")[i % 2],
                        themes=frozenset())
             for i, e in enumerate(emails)),
            source="chaos",
        )  # fmt: skip
    return emails


def send_env(root: Path, port: int, connections: int) -> dict[str, str]:
    return {
        **os.environ,
        "DIGEST_CONFIG": str(root / "config.toml"),
        "DIGEST_SECRET_KEY": CHAOS_KEY,
        "DIGEST_DELIVERY_TRANSPORT": "smtp",
        "DIGEST_DELIVERY_CONNECTIONS": str(connections),
        "DIGEST_DELIVERY_BACKOFF": "0.05",  # seconds: retries come fast in this run
        "DIGEST_DELIVERY_BACKOFF_MAX": "0.5",
        "DIGEST_DELIVERY_MAX_ATTEMPTS": "6",
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(port),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_SMTP_TIMEOUT": "10",
    }


def store_counts(root: Path) -> dict[str, int]:
    from digest.config import load_settings
    from digest.store import Store

    settings = load_settings(root / "config.toml", {"DIGEST_SECRET_KEY": CHAOS_KEY})
    with Store(settings.store.path) as store:
        return store.counts(ISSUE_KEY)


# -- the run -------------------------------------------------------------------------


@dataclass
class Outcome:
    lines: list[str]
    ok: bool


def run(subscribers: int = 2000, kills: int = 20, connections: int = 1, seed: int = 8) -> Outcome:
    rng = random.Random(seed)
    handler = FaultyHandler(seed)
    step = max(2, subscribers // (2 * max(kills, 1)))  # kills spread over ~half the list
    killed = 0
    exits: list[int] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="digest-chaos-") as tmp, faulty_server(
        handler
    ) as port:  # fmt: skip
        root = Path(tmp)
        emails = make_project(root, subscribers)
        env = send_env(root, port, connections)
        command = [sys.executable, "-c", "from digest.cli import main; main()",
                   "send", "--date", DAY]  # fmt: skip
        while True:
            if len(exits) + killed > kills + 50:
                raise RuntimeError("the send never completed")
            child = subprocess.Popen(command, env=env, cwd=root, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
            try:
                if killed < kills and _kill_mid_send(child, handler, rng, step):
                    killed += 1
                    continue
                _, err = child.communicate(timeout=RUN_TIMEOUT)
            finally:
                if child.poll() is None:
                    child.kill()
                child.wait()
                if child.stderr is not None:
                    child.stderr.close()
            exits.append(child.returncode)
            if child.returncode not in (0, 1, 75):
                raise RuntimeError(f"digest send exited {child.returncode}: {err.decode()}")
            if child.returncode == 0 or (
                child.returncode == 1 and not store_counts(root).get("pending")
            ):
                break
        counts = store_counts(root)
    elapsed = time.monotonic() - started
    return report(handler, emails, counts, killed, exits, connections, kills, seed, elapsed)


def _kill_mid_send(
    child: subprocess.Popen[bytes], handler: FaultyHandler, rng: random.Random, step: int
) -> bool:
    """SIGKILL `child` once the server took a random 1..step more messages and a random
    few milliseconds passed; False when it exited first (it then ran to its end)."""
    target = handler.total_accepted + rng.randint(1, step)
    deadline = time.monotonic() + RUN_TIMEOUT
    while handler.total_accepted < target:
        if child.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise RuntimeError("digest send made no progress")
        time.sleep(0.002)
    time.sleep(rng.uniform(0, 0.02))
    if child.poll() is not None:
        return False
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    return True


def report(
    handler: FaultyHandler,
    emails: list[str],
    counts: dict[str, int],
    killed: int,
    exits: list[int],
    connections: int,
    kills: int,
    seed: int,
    elapsed: float,
) -> Outcome:
    doomed = {e for e in emails if handler.permanent(e)}
    deliverable = [e for e in emails if e not in doomed]
    missing = [e for e in deliverable if not handler.accepted[e]]
    duplicated = sum(max(0, handler.accepted[e] - 1) for e in emails)
    wrongly_taken = [e for e in doomed if handler.accepted[e]]
    failed = counts.get("failed", 0)
    bound = killed * connections
    ok = (
        not missing
        and duplicated <= bound
        and not wrongly_taken
        and failed == len(doomed)
        and counts.get("sent", 0) == len(deliverable)
        and not counts.get("pending")
        and killed == kills
    )
    lines = [
        f"chaos: {len(emails)} subscribers, {connections} connection(s), seed {seed}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {elapsed:.0f} s",
        f"server: {handler.temp_failures} first attempts answered 4xx, {len(handler.refused)} "
        f"addresses answered 5xx, {handler.drops} connections dropped before the reply",
        f"runs: {killed + len(exits)} ({killed} killed with SIGKILL mid-send, "
        f"{len(exits)} exited with status {', '.join(map(str, exits))}; 1 = some failed for "
        "good, 75 = some left pending)",
        f"store: {counts}",
        f"missing: {len(missing)}" + (f" ({', '.join(missing[:5])}…)" if missing else ""),
        f"duplicated: {duplicated} (bound: {bound} = {killed} kills × {connections} "
        "connection(s) in flight)",
        f"permanently failed: {failed} (server answered 5xx to {len(doomed)} addresses"
        + (f"; {len(wrongly_taken)} of them accepted!" if wrongly_taken else "")
        + ")",
        f"target {'met' if ok else 'MISSED'}: 0 missing, at most {bound} duplicated, {kills} kills",
    ]
    return Outcome(lines, ok)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos")
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--record", type=Path, help="also write the output here (make chaos: the page's copy)"
    )
    args = parser.parse_args(argv)
    try:
        with term_unwinds():
            outcome = run(args.subscribers, args.kills, args.connections, args.seed)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"chaos: error: {exc}", file=sys.stderr)
        sys.exit(1)
    text = "\n".join(outcome.lines) + "\n"
    print(text, end="")
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(text, encoding="utf-8")
    if not outcome.ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
