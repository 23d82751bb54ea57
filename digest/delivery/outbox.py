"""The send loop: N workers drain an issue's pending outbox rows through transports.

Crash safety comes from the rows, not from this loop: each worker owns its store
connection and commits a row the moment its server accepted the message, so a kill -9
re-sends at most the messages in flight (one per connection). Rows are claimed in small
batches with a lease (digest/store/outbox.py), so memory does not grow with the list and
senders on several hosts can share one issue: a heartbeat renews this sender's lease,
and when nothing is left to claim the sender waits for the leases of others to run out
(a killed sender's rows) before it ends, so the issue completes while one sender lives.

Retries stay inside the worker that hit them: a 4xx reply or a dropped connection is
retried on the same row after an exponential backoff, while the other connections go
on. A 5xx is final for that row; when it blames the address (RCPT refused, 5.1.x)
it counts as a hard bounce, while a content or policy refusal does not. Too many failed tries in a
row, or a fault of the transport itself (login refused, bad TLS), stop every worker and
leave the unsent rows pending for the next run.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import os
import queue
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from digest.config import DeliverySettings
from digest.delivery.transport import Transport
from digest.errors import (
    ConnectFailedError,
    DeliverySetupError,
    PermanentDeliveryError,
    RecipientRefusedError,
    TransientDeliveryError,
)
from digest.models import Message, Subscriber
from digest.store import DeliveryRow, Store

HOUR = 3600.0
PAGE = 500


@dataclass(frozen=True)
class OutboxOptions:
    """How hard to push: the [delivery] keys that shape a send."""

    connections: int = 1
    rate_per_second: float = 0.0
    hourly_cap: int = 0
    max_per_connection: int = 0
    max_attempts: int = 4
    backoff: float = 30.0
    backoff_max: float = 600.0
    max_consecutive_failures: int = 20
    hard_bounce_limit: int = 1
    lease_seconds: float = 120.0

    @classmethod
    def from_settings(cls, delivery: DeliverySettings) -> OutboxOptions:
        """The [delivery] keys of the same names; the loop never reads config itself."""
        return cls(**{f.name: getattr(delivery, f.name) for f in dataclasses.fields(cls)})

    def delay(self, attempt: int) -> float:
        """Wait before try `attempt + 1`: backoff, 2×backoff, 4×… up to backoff_max."""
        return float(min(self.backoff * 2 ** (attempt - 1), self.backoff_max))


@dataclass
class SendSummary:
    issue_key: str
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0
    """Rows still pending after their tries ran out on transient errors (rerun retries)."""
    retries: int = 0
    no_content: list[str] = field(default_factory=list)
    """Addresses left out because none of their themes has an entry this week."""
    failures: list[tuple[str, str]] = field(default_factory=list)
    bounced: list[str] = field(default_factory=list)
    """Addresses marked bounced during this run (hard-bounce limit reached)."""
    resumed: bool = False
    paused: str = ""
    """Why the run stopped early with rows pending; empty when it ran to the end."""


class RateLimiter:
    """Hands out send times: at most `rate` a second and `hourly_cap` in any hour.

    A pure schedule over a monotonic clock passed in, so tests check the computed
    times instead of racing the wall clock. `earlier` seeds the hourly window with
    sends of a previous run (the cap is per hour, not per process).
    """

    def __init__(
        self, rate: float, hourly_cap: int, now: float, earlier: Iterable[float] = ()
    ) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._cap = hourly_cap
        self._next = now
        self._window: collections.deque[float] = collections.deque(sorted(earlier))
        self._lock = threading.Lock()

    def reserve(self, now: float) -> float:
        """Claim the next free slot at or after `now`; return when it starts."""
        with self._lock:
            at = max(now, self._next)
            if self._cap:
                while self._window and self._window[0] <= at - HOUR:
                    self._window.popleft()
                if len(self._window) >= self._cap:
                    at = max(at, self._window[-self._cap] + HOUR)
                self._window.append(at)
                while len(self._window) > self._cap:
                    self._window.popleft()
            self._next = at + self._interval
            return at


MessageMaker = Callable[[Subscriber], Message | None]
"""Builds the message of one current subscriber, or None when they get no content."""


class _Run:
    """State shared by the workers of one send."""

    def __init__(
        self,
        issue_key: str,
        options: OutboxOptions,
        summary: SendSummary,
        limiter: RateLimiter,
        clock: Callable[[], float],
        on_progress: Callable[[str, str], None] | None,
        halt: threading.Event | None = None,
    ) -> None:
        self.issue_key = issue_key
        self.halt = halt
        self.options = options
        self.summary = summary
        self.limiter = limiter
        self.clock = clock
        self.on_progress = on_progress
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.writing = threading.Lock()
        """Held around each outbox write. SQLite lets one writer in at a time and makes
        the others sleep in its busy handler (1 ms, then longer), which with 8 workers
        committing 400 times a second cost more than the commits; queueing on a thread
        lock instead wakes the next writer at once."""
        self.consecutive = 0
        self.fatal: BaseException | None = None
        self.rows: queue.Queue[_Outgoing | None] = queue.Queue(
            maxsize=max(32, options.connections * 8)
        )

    def halted(self) -> bool:
        """Stopped from inside (pause, fatal error) or asked to stop from outside."""
        return self.stop.is_set() or (self.halt is not None and self.halt.is_set())

    def wait_until(self, at: float) -> bool:
        """Sleep until `at` on the run's clock; False when the run was stopped meanwhile.

        Sleeps in short slices so an outside stop (SIGTERM) is seen within 0.2 s.
        """
        while not self.halted():
            delay = at - self.clock()
            if delay <= 0:
                return True
            self.stop.wait(min(delay, 0.2))
        return False

    def succeeded(self, email: str, reply: str) -> None:
        with self.lock:
            self.consecutive = 0
            self.summary.sent += 1
            if self.on_progress is not None:
                self.on_progress(email, reply)

    def failed_try(self, reason: str) -> None:
        with self.lock:
            self.consecutive += 1
            limit = self.options.max_consecutive_failures
            if self.consecutive >= limit and not self.summary.paused:
                self.summary.paused = (
                    f"paused after {self.consecutive} failed tries in a row (last: {reason}); "
                    "unsent recipients stay pending: fix the cause and run the send again"
                )
                self.stop.set()

    def unreachable(self, reason: str) -> bool:
        """Pause at once when no server answered and nothing was sent yet in this run:
        the relay is down or the settings are wrong, and retrying each recipient with
        backoff until the failure limit would only keep the operator waiting minutes for
        the same answer. Later in a run a refused connection is retried like any
        transient fault."""
        with self.lock:
            if self.summary.sent:
                return False
            if not self.summary.paused:
                self.summary.paused = (
                    f"{reason}; nothing was sent in this run, unsent recipients stay "
                    "pending: check [smtp] host and port, then run the send again"
                )
            self.stop.set()
            return True

    def abort(self, exc: BaseException) -> None:
        with self.lock:
            if self.fatal is None:
                self.fatal = exc
        self.stop.set()

    def progress_only(self, email: str, outcome: str) -> None:
        with self.lock:
            if self.on_progress is not None:
                self.on_progress(email, outcome)


@dataclass(frozen=True)
class _Outgoing:
    row: DeliveryRow
    subscriber: Subscriber
    message: Message


def _worker(run: _Run, opened: Store, transport: Transport) -> None:
    store = opened.reopen()
    store.db.relax_durability()
    on_connection = 0
    try:
        while not run.halted():
            item = run.rows.get()
            if item is None:
                break
            on_connection = _deliver(run, store, transport, item, on_connection)
    except BaseException as exc:
        run.abort(exc)
    finally:
        try:
            transport.close()
        finally:
            store.close()


def _deliver(
    run: _Run, store: Store, transport: Transport, item: _Outgoing, on_connection: int
) -> int:
    """Send one row with its retries; return the count of messages on this connection."""
    key, options, summary = run.issue_key, run.options, run.summary
    row, current, message = item.row, item.subscriber, item.message
    for attempt in range(1, options.max_attempts + 1):
        if not run.wait_until(run.limiter.reserve(run.clock())):
            return on_connection  # stopping: this row stays pending
        if options.max_per_connection and on_connection >= options.max_per_connection:
            transport.close()
            on_connection = 0
        try:
            reply = transport.send(message)
        except DeliverySetupError as exc:
            run.abort(exc)
            return on_connection
        except PermanentDeliveryError as exc:
            reason = str(exc)
            with run.writing:
                store.mark(key, row.subscriber_id, "failed", message.message_id, reason)
            became = None
            if isinstance(exc, RecipientRefusedError):  # not content or policy refusals
                with run.writing:
                    became = _record_hard_bounce(store, key, current, reason, options)
            with run.lock:
                summary.failed += 1
                summary.failures.append((current.email, reason))
                if became == "bounced":
                    summary.bounced.append(current.email)
            run.failed_try(reason)
            run.progress_only(current.email, "failed")
            return on_connection
        except TransientDeliveryError as exc:
            reason = str(exc)
            with run.writing:
                store.note_attempt(key, row.subscriber_id, reason)
            on_connection = 0  # the transport may have dropped the connection
            if isinstance(exc, ConnectFailedError) and run.unreachable(reason):
                return on_connection
            run.failed_try(reason)
            if attempt == options.max_attempts:
                with run.lock:
                    summary.deferred += 1
                    summary.failures.append((current.email, f"deferred: {reason}"))
                return on_connection
            with run.lock:
                summary.retries += 1
            if not run.wait_until(run.clock() + options.delay(attempt)):
                return on_connection
            continue
        with run.writing:
            store.mark(key, row.subscriber_id, "sent", message.message_id, reply)
        run.succeeded(current.email, reply)
        return on_connection + 1
    return on_connection  # pragma: no cover - the loop always returns


def _record_hard_bounce(
    store: Store, key: str, current: Subscriber, reason: str, options: OutboxOptions
) -> str | None:
    return store.record_bounce(
        email=current.email,
        kind="hard",
        fingerprint=f"smtp:{key}:{current.id}",
        subscriber_id=current.id,
        issue_key=key,
        detail=reason,
        source="smtp",
        hard_limit=options.hard_bounce_limit,
    )


def _skip(run: _Run, store: Store, row: DeliveryRow, why: str) -> None:
    with run.writing:
        store.mark(run.issue_key, row.subscriber_id, "skipped", "", why)
    with run.lock:
        run.summary.skipped += 1
    run.progress_only(row.email, "skipped")


def _unsendable(run: _Run, store: Store, row: DeliveryRow, reason: str) -> None:
    """A reader whose message cannot even be built (an address stored before it was
    checked): their row fails and the others go on."""
    with run.writing:
        store.mark(run.issue_key, row.subscriber_id, "failed", "", reason)
    with run.lock:
        run.summary.failed += 1
        run.summary.failures.append((row.email, reason))
    run.progress_only(row.email, "failed")


def deliver(
    store: Store,
    issue_key: str,
    make: MessageMaker,
    transports: list[Transport],
    options: OutboxOptions,
    summary: SendSummary,
    *,
    on_progress: Callable[[str, str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    halt: threading.Event | None = None,
    sign: Callable[[Message], Message] | None = None,
) -> SendSummary:
    """Send every pending row of `issue_key`, one worker thread per transport.

    The calling thread reads the rows a page at a time, checks each subscriber is still
    active, builds and signs (DKIM, `sign`) the message and queues it; the workers send
    and commit. Building and signing while the workers wait on their servers hides their
    cost, even with one connection (signing in the worker would add it to every
    message's round trip); the RSA step runs in OpenSSL without the GIL, so it does not
    hold up the workers either. The queue is short,
    so an unsubscribe lands at most a few dozen messages late. Raises the transport's
    DeliverySetupError (or any unexpected error) after every worker has stopped.
    """
    now_wall = dt.datetime.now(dt.UTC)
    earlier: list[float] = []
    if options.hourly_cap:
        start = clock()
        earlier = [
            start - (now_wall - at).total_seconds()
            for at in store.sent_since(now_wall - dt.timedelta(hours=1))
        ]
    limiter = RateLimiter(options.rate_per_second, options.hourly_cap, clock(), earlier)
    run = _Run(issue_key, options, summary, limiter, clock, on_progress, halt)
    with _short_gil_turns():
        _run_workers(run, store, issue_key, make, transports, sign)
    if run.fatal is not None:
        raise run.fatal
    return summary


GIL_TURN = 0.0005
"""Seconds a thread may hold the GIL while another waits for it (Python's default: 5 ms).

The builder thread releases the GIL for each RSA signature (OpenSSL) and then waits to
get it back from a worker busy in Python; with the default it waited up to 5 ms a
message (a null-transport send with DKIM took 2.7 s for 1,000 messages, 1.1 s with
0.2 ms turns). Workers mostly wait on sockets, so short turns cost little."""


@contextlib.contextmanager
def _short_gil_turns() -> Iterator[None]:
    """sys.setswitchinterval is process-wide: set for the send, restored after it."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, GIL_TURN))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _run_workers(
    run: _Run,
    store: Store,
    issue_key: str,
    make: MessageMaker,
    transports: list[Transport],
    sign: Callable[[Message], Message] | None,
) -> None:
    claimer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if store.engine == "sqlite":
        store.release_claims(issue_key)  # one host, under the issue's flock: all stale
    threads = [
        threading.Thread(target=_worker, args=(run, store, transport), name=f"outbox-{i}")
        for i, transport in enumerate(transports)
    ]
    beat = threading.Event()
    if store.engine != "sqlite":
        threads.append(
            threading.Thread(target=_heartbeat, args=(run, store, claimer, beat), name="lease")
        )
    for thread in threads:
        thread.start()
    batch = min(PAGE, max(16, 4 * len(transports)))
    try:
        for row, current in _claimed(run, store, claimer, batch):
            if run.halted():
                break
            if current is None or current.status != "active":
                _skip(run, store, row, "no longer active")
                continue
            try:
                message = make(current)
            except RecipientRefusedError as exc:
                _unsendable(run, store, row, str(exc))
                continue
            if message is None:
                _skip(run, store, row, "no entries for themes")
                continue
            if sign is not None:
                message = sign(message)
            _put(run, _Outgoing(row, current, message))
    except BaseException as exc:
        run.abort(exc)
    finally:
        beat.set()
        _stop_workers(run, threads)
        _give_back(run, store, issue_key, claimer)


def _give_back(run: _Run, store: Store, issue_key: str, claimer: str) -> None:
    """Release the rows this sender still holds (deferred ones: free for the next run).

    A Ctrl-C can land inside a call on the sending connection and leave it mid-command
    (psycopg: "another command is already in progress"), its session still holding the
    claim's row locks. When the send is ending on such an error anyway, that connection
    is closed (which drops its locks) and the rows go back over a fresh one: otherwise a
    rerun would wait out the lease before resuming."""
    try:
        store.release_claims(issue_key, claimer)
    except Exception:
        if run.fatal is None:
            raise
        store.close()
        fresh = store.reopen()
        try:
            fresh.release_claims(issue_key, claimer)
        finally:
            fresh.close()


def _heartbeat(run: _Run, opened: Store, claimer: str, done: threading.Event) -> None:
    """Renew this sender's lease every third of it while the send runs."""
    lease = run.options.lease_seconds
    store = opened.reopen()
    try:
        while not done.wait(lease / 3):
            store.renew_claims(run.issue_key, claimer, lease)
    except BaseException as exc:
        run.abort(exc)
    finally:
        store.close()


def _stop_workers(run: _Run, threads: list[threading.Thread]) -> None:
    """End each worker and wait for all of them, even through Ctrl-C: an interrupt
    stops the send like `halt` (the messages in flight finish and are committed) and is
    raised once every worker is done, never while one still writes on its connection."""
    ends = len(threads)
    while True:
        try:
            while ends:
                _put_end(run)
                ends -= 1
            for thread in threads:
                thread.join()
            return
        except KeyboardInterrupt as exc:
            run.abort(exc)


def _put(run: _Run, item: _Outgoing) -> None:
    while not run.halted():
        try:
            run.rows.put(item, timeout=0.2)
            return
        except queue.Full:
            continue


def _put_end(run: _Run) -> None:
    """Queue an end marker; when stopping, drop queued rows (they stay pending in the
    store) so the marker fits even if no worker is left to drain the queue."""
    while True:
        try:
            run.rows.put(None, timeout=0.2)
            return
        except queue.Full:
            if run.halted():
                with contextlib.suppress(queue.Empty):
                    run.rows.get_nowait()


def _claimed(
    run: _Run, store: Store, claimer: str, batch: int
) -> Iterable[tuple[DeliveryRow, Subscriber | None]]:
    """Claimed rows, a batch at a time, until none is left to claim and no other sender
    holds any (a killed sender's rows come back when their lease runs out)."""
    after = -1
    while not run.halted():
        page = store.claim(run.issue_key, claimer, batch, run.options.lease_seconds, after)
        if page:
            after = page[-1][0].subscriber_id
            yield from page
            continue
        if after >= 0:
            after = -1  # once more from the start: released rows, expired leases
            continue
        wait = store.lease_wait(run.issue_key, claimer)
        if wait is None:
            return
        run.wait_until(run.clock() + min(max(wait, 0.1), 2.0))
