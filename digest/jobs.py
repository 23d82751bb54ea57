"""The one way an issue goes out, whoever asks: an editor's `digest send`, cron's
`digest send --if-due`, or the `digest schedule` daemon.

Every path takes the issue's send lock, then hands the edition to `send_edition`, the
single call into the delivery loop (`pipeline.send`, then `delivery.outbox`). Automatic
runs also decide, under the lock, whether the period's issue is due at all, so a daemon
and a cron job firing together, or two daemons, send each issue once.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from digest import pipeline
from digest.checks import check_line, issue_checks
from digest.config import Settings
from digest.delivery.outbox import SendSummary
from digest.delivery.transport import Transport
from digest.due import Action, IssueState, NextFire, Period, current_period, decide
from digest.entries import record_published
from digest.errors import DigestError, NotSentError, SendBusyError
from digest.store import Store, open_store
from digest.store.locks import issue_lock, lock_holder

Checks = Callable[[pipeline.Edition], Sequence[str]]


def editorial_checks(edition: pipeline.Edition) -> list[str]:
    """Editorial-check errors, which stop an automatic send (an editor may --force)."""
    found = issue_checks(edition.settings, edition.issue, edition.now)
    return [check_line(check) for check in found if check.is_error]


@dataclass(frozen=True)
class SendResult:
    summary: SendSummary
    counts: dict[str, int]
    """Rows of the issue by status, over every run so far."""
    stopped: bool = False


@dataclass(frozen=True)
class DueReport:
    line: str
    """What happened, in one line."""
    result: SendResult | None = None
    """Set when something was sent (or a send was started and stopped)."""


def send_edition(
    edition: pipeline.Edition,
    store: Store,
    transport: Transport | None = None,
    stop: threading.Event | None = None,
    on_sent: Callable[[str, str], None] | None = None,
) -> SendResult:
    """The single call into the delivery loop. The caller holds the issue's send lock.

    Without a transport, the configured ones ([delivery] connections); a given
    transport is the only connection. Setting `stop` lets the messages in flight
    finish and leaves the rest pending for the next run.
    """
    record_published(store, edition.issue)  # feed items go out in this issue only, ever
    edges = pipeline.send_edges(edition.settings, transport)
    summary = pipeline.send(
        edition, store, edges.transport, on_sent, halt=stop, options=edges.options,
        transport_factory=edges.transport_factory, sign=edges.sign,
    )  # fmt: skip
    stopped = stop is not None and stop.is_set()
    return SendResult(summary, store.counts(edition.issue.key), stopped=stopped)


def run_send(
    edition: pipeline.Edition,
    transport: Transport | None = None,
    stop: threading.Event | None = None,
    on_sent: Callable[[str, str], None] | None = None,
) -> SendResult:
    """Send (or resume) `edition` now, as an editor asked: no due-time or content rules.

    Waits up to [schedule] lock_wait_seconds for another sender of the same issue, then
    raises SendBusyError.
    """
    settings = edition.settings
    with (
        open_store(settings) as store,
        issue_lock(store, edition.issue.key, settings.schedule.lock_wait_seconds, shared=True),
    ):
        return send_edition(edition, store, transport, stop, on_sent)


def run_if_due(
    settings: Settings,
    now: dt.datetime,
    next_fire: NextFire,
    *,
    transport: Transport | None = None,
    stop: threading.Event | None = None,
    checks: Checks = editorial_checks,
) -> DueReport:
    """Send the current period's issue if it is due and not sent yet; else say why not.

    Doing nothing (already sent, being sent elsewhere, no entries) is a normal outcome
    and returns a report; with [schedule] send_empty an empty week goes out as the
    quiet-week issue instead. A week without entries is nothing to do even when its
    run was missed: it would not have been sent. Refusing (too late, editorial-check
    errors) raises NotSentError, so cron and systemd report it and the issue waits for
    an editor.
    """
    plan = settings.schedule
    period = current_period(next_fire, now, settings.tz, plan.week)
    with open_store(settings) as store:
        return _run_if_due(settings, store, period, now, transport, stop, checks)


def _run_if_due(
    settings: Settings,
    store: Store,
    period: Period,
    now: dt.datetime,
    transport: Transport | None,
    stop: threading.Event | None,
    checks: Checks,
) -> DueReport:
    plan, key = settings.schedule, period.issue_key
    try:
        with issue_lock(store, key, plan.lock_wait_seconds) as lock:
            state = _state(store, key)
            decision = decide(
                period,
                now,
                state,
                grace=dt.timedelta(seconds=plan.misfire_grace_seconds),
                max_lateness=dt.timedelta(hours=plan.max_lateness_hours),
            )
            if decision.action is Action.NOTHING:
                return DueReport(f"{decision.reason}: nothing to do")
            if decision.action is Action.REFUSE and state is not IssueState.NEW:
                raise NotSentError(decision.reason)  # interrupted: its recipients are frozen
            try:
                entries = pipeline.read_entries(settings, period.day)
                issue = pipeline.week_issue(settings, entries, period.day)
            except DigestError:
                if decision.action is Action.REFUSE:
                    # Missed either way; `digest send --date` shows the editor the cause.
                    raise NotSentError(decision.reason) from None
                raise
            if state is IssueState.NEW and not issue.sections and not plan.send_empty:
                # Due or missed, an empty week would not have gone out: nobody has
                # anything to send by hand, so a missed one is no error either.
                return DueReport(
                    f"issue {key} has no entries ({issue.start} to {issue.end} in "
                    f"{settings.entries.dir}): not sent ([schedule] send_empty = false)"
                )
            if decision.action is Action.REFUSE:
                raise NotSentError(decision.reason)  # missed, with entries: an editor decides
            edition = pipeline.edition_of(settings, issue, now)
            if decision.action is Action.SEND:
                _stop_on_check_errors(key, checks(edition))
            lock.share()  # decided: other senders may help with the outbox now
            result = send_edition(edition, store, transport, stop)
            return DueReport(decision.reason, result)
    except SendBusyError:
        # The holder is sending this very issue: when it ends the period is served.
        who = lock_holder(store, key)
        return DueReport(f"issue {key} is being sent by {who}: nothing to do here")


def _state(store: Store, key: str) -> IssueState:
    times = store.issue_times(key)
    if times is None:
        return IssueState.NEW
    return IssueState.IN_PROGRESS if times[1] is None else IssueState.SENT


def _stop_on_check_errors(key: str, errors: Sequence[str]) -> None:
    """Editorial errors stop an automatic send before anyone is frozen in or mailed."""
    if errors:
        lines = [f"issue {key} not sent: {len(errors)} editorial check error(s)"]
        raise NotSentError("\n".join(lines + [f"  {e}" for e in errors]))


def describe(result: SendResult) -> str:
    summary, counts = result.summary, result.counts
    done = (
        f"{summary.sent} sent, {summary.failed} failed, {summary.skipped} skipped this run; "
        f"{counts.get('sent', 0)} sent in all"
    )
    if result.stopped:
        return f"stopped after {done}; {counts.get('pending', 0)} pending resume on the next run"
    return done
