"""APScheduler wiring for `digest schedule`, and the only importer of APScheduler.

No business logic here: each tick asks `jobs.run_if_due`, which decides under the send
lock whether anything is due. The same trigger object answers `next_fire` for cron's
`digest send --if-due`, so the daemon and cron cannot disagree about a period.

On start the job also runs once at once: a run missed while the daemon was down is
caught up (within the grace time) without a persistent job store, and a run already
sent is a no-op. A transient failure (SMTP server down, 4xx) schedules a retry that
resumes the send. SIGTERM or SIGINT let the message in flight finish, then stop.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
from collections.abc import Callable
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from digest import jobs
from digest.config import Settings
from digest.due import NextFire
from digest.errors import DigestError, TransientDeliveryError

Echo = Callable[[str], None]
JOB_ID = "weekly-issue"
RETRY_ID = "resume-after-transient-failure"


class _Stop(Exception):
    """Raised from the signal handler to leave the scheduler's main loop."""


def trigger_for(settings: Settings) -> CronTrigger:
    """The weekly trigger: weekday names (3.x counts numbers from Monday = 0)."""
    plan = settings.schedule
    return CronTrigger(
        day_of_week=plan.day_of_week, hour=plan.hour, minute=plan.minute, timezone=settings.tz
    )


def next_fire_for(settings: Settings) -> NextFire:
    trigger = trigger_for(settings)

    def next_fire(after: dt.datetime) -> dt.datetime | None:
        found = trigger.get_next_fire_time(None, after)
        # In UTC: an instant of a repeated local hour (fold=1) never compares equal
        # to any other zone's datetime (PEP 495), which would confuse callers.
        return found.astimezone(dt.UTC) if isinstance(found, dt.datetime) else None

    return next_fire


def run_daemon(
    settings: Settings,
    echo: Echo,
    warn: Echo,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    checks: jobs.Checks = jobs.editorial_checks,
) -> None:
    """Run in the foreground until SIGTERM or SIGINT, sending each issue when due.

    Must run in the main thread (it installs signal handlers). Returns normally on a
    signal, after the job in flight has finished its current message.
    """
    trigger = trigger_for(settings)
    next_fire = next_fire_for(settings)
    plan = settings.schedule
    stop = threading.Event()
    working = threading.Event()

    def announce_next() -> None:
        upcoming = next_fire(now() + dt.timedelta(seconds=1))
        if upcoming is not None:
            local = upcoming.astimezone(settings.tz)
            echo(
                f"next run: {local.isoformat(timespec='minutes')} ({settings.newsletter.timezone})"
            )

    def tick() -> None:
        if stop.is_set():
            return
        working.set()
        try:
            report = jobs.run_if_due(settings, now(), next_fire, stop=stop, checks=checks)
            echo(report.line)
            result = report.result
            if result is not None:
                echo(f"issue {result.summary.issue_key}: {jobs.describe(result)}")
                pending = result.counts.get("pending", 0)
                if pending and not result.stopped and not stop.is_set():
                    # Deferred after its retries, or paused: resume later, as for a 4xx.
                    why = result.summary.paused or (
                        result.summary.failures[-1][1] if result.summary.failures else ""
                    )
                    warn(f"error: {pending} recipient(s) still pending: {why}")
                    retry_later()
        except TransientDeliveryError as exc:
            warn(f"error: {exc}")
            if not stop.is_set():
                retry_later()
        except DigestError as exc:
            for line in str(exc).splitlines():
                warn(f"error: {line}")
        finally:
            working.clear()
        if not stop.is_set():
            announce_next()

    def retry_later() -> None:
        # The issue is now in progress: retries resume it until max_lateness_hours,
        # after which run_if_due refuses and the retries end.
        when = dt.datetime.now(settings.tz) + dt.timedelta(seconds=plan.retry_seconds)
        scheduler.add_job(
            tick,
            DateTrigger(run_date=when),
            id=RETRY_ID,
            replace_existing=True,
            misfire_grace_time=None,  # a late retry is still worth running
        )
        echo(f"retrying at {when.isoformat(timespec='seconds')}")

    scheduler = BlockingScheduler(timezone=settings.tz)
    scheduler.add_job(
        tick,
        trigger,
        id=JOB_ID,
        coalesce=True,
        misfire_grace_time=plan.misfire_grace_seconds,
        max_instances=1,
        next_run_time=dt.datetime.now(settings.tz),
    )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise _Stop(signum)

    handled = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.getsignal(sig) for sig in handled}
    try:
        for sig in handled:
            signal.signal(sig, on_signal)
        echo(
            f"digest schedule: {plan.day_of_week} at {plan.hour:02d}:{plan.minute:02d} "
            f"{settings.newsletter.timezone}, the {plan.week} week's issue; "
            "checking for a missed run now"
        )
        announce_next()
        scheduler.start()
    except _Stop:
        pass
    finally:
        stop.set()
        for sig in handled:  # a second signal must not interrupt the orderly stop
            signal.signal(sig, signal.SIG_IGN)
        if scheduler.running:
            echo("stopping: finishing the message in flight" if working.is_set() else "stopping")
            scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    echo("stopped")
