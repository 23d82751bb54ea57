"""One issue, one decision at a time: the per-issue send lock on either engine.

SQLite (one host): the `flock` of digest/sendlock.py, held for the whole send, as
before. PostgreSQL (several hosts): a session advisory lock, which the server drops when
the holder's connection ends, however it ends. Plain `digest send` takes it SHARED, so
senders on several hosts work through one outbox together (their claims keep them
apart); a scheduled run takes it EXCLUSIVE while it decides whether the period's issue
is due, then turns it into a shared hold for the send, so a second scheduler waits for
the first and then finds the issue sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from digest.errors import SendBusyError
from digest.sendlock import holder, lock_path, send_lock
from digest.store.base import StoreBase

LOCK_CLASS = 25705  # "di": digest's advisory lock class; the object is hashtext(issue key)
POLL_SECONDS = 0.2


@dataclass
class IssueLock:
    store: StoreBase
    key: str
    shared: bool
    _exclusive: bool = field(default=False)

    def share(self) -> None:
        """Exclusive -> shared, never letting go in between (PostgreSQL only; the SQLite
        flock stays exclusive for the whole send)."""
        if self.store.engine != "postgresql" or not self._exclusive:
            return
        self.store.db.execute("SELECT pg_advisory_lock_shared(?, hashtext(?))",
                              (LOCK_CLASS, self.key))  # fmt: skip
        self.store.db.execute("SELECT pg_advisory_unlock(?, hashtext(?))", (LOCK_CLASS, self.key))
        self._exclusive = False
        self.shared = True


@contextmanager
def issue_lock(
    store: StoreBase,
    key: str,
    wait_seconds: float,
    *,
    shared: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[IssueLock]:
    """Hold issue `key`'s lock, waiting up to `wait_seconds`; SendBusyError naming the
    holder when it stays taken."""
    if store.target.path is not None:
        with send_lock(store.target.path, key, wait_seconds, sleep, clock):
            yield IssueLock(store, key, shared=False)
        return
    db = store.db
    mode = "_shared" if shared else ""
    deadline = clock() + wait_seconds
    while not db.execute(
        f"SELECT pg_try_advisory_lock{mode}(?, hashtext(?))", (LOCK_CLASS, key)
    ).fetchone()[0]:
        if clock() >= deadline:
            raise SendBusyError(
                f"issue {key} is being sent by {lock_holder(store, key)}; gave up after "
                f"waiting {wait_seconds:g} s ([schedule] lock_wait_seconds), try again when "
                "it ends"
            )
        sleep(POLL_SECONDS)
    lock = IssueLock(store, key, shared=shared, _exclusive=not shared)
    try:
        yield lock
    finally:
        mode = "_shared" if lock.shared else ""
        if not db.closed:  # a closed session's advisory locks are gone with it
            db.execute(f"SELECT pg_advisory_unlock{mode}(?, hashtext(?))", (LOCK_CLASS, key))


def lock_holder(store: StoreBase, key: str) -> str:
    """Who holds issue `key`'s lock, for messages."""
    if store.target.path is not None:
        return holder(lock_path(store.target.path, key))
    row = store.db.execute(
        """SELECT a.application_name, a.client_addr, a.backend_start
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ?
             AND l.objid::bigint = (hashtext(?)::bigint & 4294967295)
             AND l.pid != pg_backend_pid()
           LIMIT 1""",
        (LOCK_CLASS, key),
    ).fetchone()
    if row is None:
        return "another sender"
    name = row[0] or "another sender"
    client = f" ({row[1]})" if row[1] else ""
    since = row[2].isoformat(timespec="seconds") if row[2] else "?"
    return f"{name}{client} since {since}"
