"""Several senders, one outbox: `python -m bench senders [--readers N] [--connections C]`.

The same list sent three times to a loopback SMTP sink that answers after 20 ms (like a
remote server, so the sink is not the bottleneck): one `digest send` on SQLite, one on
PostgreSQL, two at once on PostgreSQL sharing the issue's outbox by claims. Each sender
is a real `digest send` process; we report the wall time until the last one exits,
messages a second, and each process's peak RSS (VmHWM, read by the process itself at
exit). Targets: two senders on PostgreSQL >= 1.6x one; peak RSS <= 150 MB each.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.delivery import BENCH_KEY, readers_for_bench, sink

REPO = Path(__file__).resolve().parent.parent
DATE = "2025-12-03"
KEY = "2025-W49"
_CHILD = """
import atexit, os, sys
def _peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(os.environ["BENCH_RSS_FILE"], "w") as out:
                    out.write(str(int(line.split()[1]) / 1024))
atexit.register(_peak)
from digest.cli import main
main()
"""


class NoPostgres(RuntimeError):
    """PostgreSQL is not installed: the report says so instead of failing."""


def _project(root: Path, readers: int) -> None:
    from digest.config import load_settings
    from digest.store import open_store

    shutil.copy(REPO / "config.toml", root / "config.toml")
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "briefings", root / "briefings")
    (root / "subscribers").mkdir()
    settings = load_settings(root / "config.toml", {"DIGEST_SECRET_KEY": BENCH_KEY})
    with open_store(settings) as store:
        store.upsert_subscribers(readers_for_bench(readers), source="bench")


def _send(root: Path, env: dict[str, str], senders: int) -> dict[str, Any]:
    """Start `senders` `digest send` processes at once; wall time and each peak RSS."""
    children = []
    start = time.perf_counter()
    for i in range(senders):
        rss_file = root / f"rss-{i}.txt"
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, "send", "--date", DATE],
            cwd=root, env={**os.environ, **env, "BENCH_RSS_FILE": str(rss_file)},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        children.append((child, rss_file))
    peaks = []
    for child, rss_file in children:
        _, errors = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"digest send failed: {errors.decode()[-2000:]}")
        peaks.append(float(rss_file.read_text()))
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peaks}


def run(readers: int, connections: int, log: Any = print) -> dict[str, Any]:
    from digest.config import load_settings
    from digest.store import Target, open_store
    from digest.store.copy import copy_store
    from digest.store.engine import sqlite_target
    from tests import pgcluster

    results: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="digest-bench-senders-") as tmp,
        pgcluster.cluster() as pg,
        sink(0.02) as port,
    ):
        if pg is None:
            raise NoPostgres("PostgreSQL is not installed: no senders benchmark")
        root = Path(tmp)
        log(f"senders: {readers} subscribers into SQLite, copied to two PostgreSQL databases")
        _project(root, readers)
        db_file = root / "subscribers" / "digest.db"
        urls = {}
        for name in ("one", "two"):
            urls[name] = pg.create_database(f"bench_{name}")
            copy_store(sqlite_target(db_file), Target(urls[name], password=pg.password))
        base = {
            "DIGEST_SECRET_KEY": BENCH_KEY,
            "DIGEST_DELIVERY_TRANSPORT": "smtp",
            "DIGEST_DELIVERY_CONNECTIONS": str(connections),
            "DIGEST_SMTP_HOST": "127.0.0.1",
            "DIGEST_SMTP_PORT": str(port),
            "DIGEST_SMTP_SECURITY": "none",
            "DIGEST_STORE_PASSWORD": pg.password,
        }
        runs = [
            ("one sender, SQLite", {}, 1),
            ("one sender, PostgreSQL", {"DIGEST_STORE_URL": urls["one"]}, 1),
            ("two senders, PostgreSQL", {"DIGEST_STORE_URL": urls["two"]}, 2),
        ]
        for label, extra, senders in runs:
            log(f"senders: {label}, {connections} connections each, sink 20 ms")
            env = {**base, **extra}
            measured = _send(root, env, senders)
            settings = load_settings(root / "config.toml", env)
            with open_store(settings) as store:
                counts = store.counts(KEY)
            if counts != {"sent": readers}:
                raise RuntimeError(f"{label}: outbox ended as {counts}")
            results.append({
                "label": label, "senders": senders, "connections": connections,
                "messages": readers, "seconds": measured["seconds"],
                "per_s": readers / measured["seconds"], "peak_rss_mb": measured["peak_rss_mb"],
            })  # fmt: skip
    one_pg, two_pg = results[1]["per_s"], results[2]["per_s"]
    return {"runs": results, "two_over_one": two_pg / one_pg}


def describe(result: dict[str, Any]) -> list[str]:
    lines = [f"{'run':<26} {'wall s':>8} {'msg/s':>8}  peak RSS MB per process"]
    for r in result["runs"]:
        peaks = ", ".join(f"{p:.0f}" for p in r["peak_rss_mb"])
        lines.append(f"{r['label']:<26} {r['seconds']:>8.1f} {r['per_s']:>8.0f}  {peaks}")
    lines.append(f"two senders / one sender on PostgreSQL: {result['two_over_one']:.2f}x "
                 "(target >= 1.6x)")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench senders")
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    result = run(args.readers, args.connections)
    print("\n".join(describe(result)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
