"""One sender per issue at a time, across processes: an advisory `flock` per issue.

The kernel drops a `flock` when its holder exits, however it exits, so a crashed send
never leaves a stale lock behind to expire or to be broken by hand. Locks belong to the
open file, not the process, so two threads of one process exclude each other too. The
holder writes who it is into the file; a second sender quotes it in its message.

The lock only keeps two senders from working through the same pending rows at once;
the outbox rows in the store remain the record of who was mailed. On PostgreSQL the
lock is an advisory lock instead (digest/store/locks.py).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.errors import DigestError, SendBusyError

POLL_SECONDS = 0.2
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def lock_folder(store_path: Path) -> Path:
    """Locks live beside the store they guard: `digest.db` -> `digest.db.locks/`."""
    return store_path.with_name(store_path.name + ".locks")


def lock_path(store_path: Path, key: str) -> Path:
    return lock_folder(store_path) / f"{_SAFE.sub('_', key)}.lock"


@contextmanager
def send_lock(
    store_path: Path,
    key: str,
    wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Path]:
    """Hold the send lock of issue `key`, waiting up to `wait_seconds` for it.

    Raises SendBusyError naming the holder when it stays taken.
    """
    path = lock_path(store_path, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise DigestError(f"{path}: cannot open the send lock: {exc.strerror}") from None
    try:
        deadline = clock() + wait_seconds
        while not _try_lock(fd):
            if clock() >= deadline:
                raise SendBusyError(
                    f"issue {key} is being sent by {holder(path)}; gave up after waiting "
                    f"{wait_seconds:g} s ([schedule] lock_wait_seconds), try again when it ends"
                )
            sleep(POLL_SECONDS)
        _write_holder(fd, key)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def holder(path: Path) -> str:
    """Who holds the lock, as its holder recorded it, for messages."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {info['pid']} on {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"another process (see {path})"


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _write_holder(fd: int, key: str) -> None:
    info = {
        "issue": key,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
