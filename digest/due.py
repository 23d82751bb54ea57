"""Which weekly issue is due at `now`, and may it go out on its own? Pure: no I/O.

The schedule itself (weekday, hour, time zone, daylight saving) is known only through a
`next_fire` function, which the daemon builds from the very same APScheduler trigger it
runs, so `digest send --if-due` from cron and `digest schedule` agree on every instant.

A period runs from one scheduled fire to the next. Its issue may *start* on its own up
to `grace` after the fire, and an interrupted send of it may be *resumed* on its own up
to `max_lateness`; beyond that it waits for an editor, because a week-old digest that
lands unannounced does more harm than one sent on purpose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from zoneinfo import ZoneInfo

from digest.assemble import issue_key

NextFire = Callable[[dt.datetime], dt.datetime | None]
"""The first scheduled instant at or after the given aware datetime (None: never)."""

LOOKBACK = dt.timedelta(days=8)
"""Weekday names guarantee at least one fire per week, so eight days always hold one."""


class IssueState(Enum):
    NEW = "new"
    """No send started: no row in the store's issues table."""
    IN_PROGRESS = "in progress"
    """Recipients frozen, some still pending: a crash, a stop or a transient failure."""
    SENT = "sent"
    """completed_at is set: every recipient has an outcome."""


class Action(Enum):
    SEND = "send"
    RESUME = "resume"
    NOTHING = "nothing"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Period:
    fire: dt.datetime
    """The scheduled instant that opened the period, in the newsletter's zone."""
    day: dt.date
    """A day inside the ISO week whose issue this period sends."""

    @property
    def issue_key(self) -> str:
        return issue_key(self.day)


@dataclass(frozen=True)
class Decision:
    action: Action
    period: Period
    reason: str
    """One line for the operator's log or cron mail."""


def last_fire(next_fire: NextFire, now: dt.datetime) -> dt.datetime:
    """The latest scheduled instant at or before `now`."""
    found: dt.datetime | None = None
    candidate = next_fire(now - LOOKBACK)
    while candidate is not None and candidate <= now:
        found = candidate
        candidate = next_fire(candidate + dt.timedelta(microseconds=1))
    if found is None:
        raise ValueError(f"the schedule has no fire time in the {LOOKBACK.days} days to {now}")
    return found


def current_period(next_fire: NextFire, now: dt.datetime, tz: ZoneInfo, week: str) -> Period:
    """The period `now` falls in, and the week its issue covers.

    The week is taken from the scheduled fire, not from `now`, so a Monday send that
    catches up on Tuesday still sends last week's issue, not a new one.
    """
    fire = last_fire(next_fire, now).astimezone(tz)
    local = fire.date()
    day = local - dt.timedelta(days=7) if week == "previous" else local
    return Period(fire=fire, day=day)


def decide(
    period: Period,
    now: dt.datetime,
    state: IssueState,
    grace: dt.timedelta,
    max_lateness: dt.timedelta,
) -> Decision:
    """Send, resume, do nothing, or refuse (and say why) for the period's issue."""
    key, late = period.issue_key, now - period.fire
    due = f"due {period.fire.isoformat(timespec='minutes')}"
    if state is IssueState.SENT:
        return Decision(Action.NOTHING, period, f"issue {key} ({due}) was already sent")
    by_hand = f"it waits for an editor: digest send --date {period.day.isoformat()}"
    if state is IssueState.IN_PROGRESS:
        if late <= max_lateness:
            return Decision(Action.RESUME, period, f"issue {key} ({due}) resumes")
        return Decision(
            Action.REFUSE,
            period,
            f"issue {key} ({due}) was interrupted and is now {_hours(late)} late, more "
            f"than max_lateness_hours ({_hours(max_lateness)}): {by_hand}",
        )
    if late <= grace:
        return Decision(Action.SEND, period, f"issue {key} ({due}) is due")
    return Decision(
        Action.REFUSE,
        period,
        f"issue {key} ({due}) was missed and is now {_hours(late)} late, more than "
        f"misfire_grace_seconds ({_hours(grace)}): {by_hand}",
    )


def _hours(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h"
