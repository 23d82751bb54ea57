"""The weekly trigger and the due decision, with the clock as an argument."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from digest.due import Action, IssueState, Period, current_period, decide, last_fire
from digest.errors import ConfigError
from digest.schedule import next_fire_for, trigger_for
from tests.conftest import Project

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "fire_utc"),
    [
        # last Sunday of March 2025 is the 30th: winter time before, summer time after
        (utc(2025, 3, 22, 12), utc(2025, 3, 24, 6)),
        (utc(2025, 3, 29, 12), utc(2025, 3, 31, 5)),
        # last Sunday of October 2025 is the 26th: summer time before, winter time after
        (utc(2025, 10, 18, 12), utc(2025, 10, 20, 5)),
        (utc(2025, 10, 25, 12), utc(2025, 10, 27, 6)),
        # the changeover Sundays themselves are passed over: the day is a name, "mon"
        (utc(2025, 3, 30, 0), utc(2025, 3, 31, 5)),
        (utc(2025, 10, 26, 0), utc(2025, 10, 27, 6)),
    ],
)
def test_monday_0700_paris_across_daylight_saving(
    project: Project, after: dt.datetime, fire_utc: dt.datetime
) -> None:
    trigger = trigger_for(project.settings())
    fire = trigger.get_next_fire_time(None, after)
    assert fire == fire_utc
    local = fire.astimezone(PARIS)
    assert (local.strftime("%a"), local.hour, local.minute) == ("Mon", 7, 0)


def test_the_same_instant_is_the_last_fire_seen_from_cron(project: Project) -> None:
    next_fire = next_fire_for(project.settings())
    # 06:59 Paris on the first summer Monday is still in the previous week's period
    assert last_fire(next_fire, utc(2025, 3, 31, 4, 59)) == utc(2025, 3, 24, 6)
    assert last_fire(next_fire, utc(2025, 3, 31, 5, 0)) == utc(2025, 3, 31, 5)
    assert last_fire(next_fire, utc(2025, 10, 27, 5, 30)) == utc(2025, 10, 20, 5)
    assert last_fire(next_fire, utc(2025, 10, 27, 6, 0)) == utc(2025, 10, 27, 6)


def test_the_period_sends_the_week_of_its_fire_not_of_now(project: Project) -> None:
    settings = project.settings()
    next_fire = next_fire_for(settings)
    # caught up on Thursday, the Monday 8 December run still sends week 49
    period = current_period(next_fire, utc(2025, 12, 11, 9), settings.tz, "previous")
    assert period.fire == utc(2025, 12, 8, 6)
    assert period.issue_key == "2025-W49"
    current = current_period(next_fire, utc(2025, 12, 11, 9), settings.tz, "current")
    assert current.issue_key == "2025-W50"


def test_weekday_numbers_are_refused(project: Project) -> None:
    with pytest.raises(ConfigError, match=r"\[schedule\] day_of_week: use weekday names.*'1'"):
        project.settings(DIGEST_SCHEDULE_DAY_OF_WEEK="1")
    assert project.settings(DIGEST_SCHEDULE_DAY_OF_WEEK="mon,thu").schedule.day_of_week


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"DIGEST_SCHEDULE_HOUR": "24"}, "hour: must be between 0 and 23"),
        ({"DIGEST_SCHEDULE_WEEK": "next"}, "week: must be one of previous, current"),
        ({"DIGEST_SCHEDULE_MAX_LATENESS_HOURS": "0.5"}, "max_lateness_hours: must cover"),
    ],
)
def test_bad_schedule_settings_name_the_key(
    project: Project, environ: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment):
        project.settings(**environ)


FIRE = utc(2025, 12, 8, 6)
PERIOD = Period(fire=FIRE, day=dt.date(2025, 12, 1))
GRACE = dt.timedelta(hours=4)
MAX = dt.timedelta(hours=24)


@pytest.mark.parametrize(
    ("late", "state", "action"),
    [
        (dt.timedelta(0), IssueState.NEW, Action.SEND),
        (dt.timedelta(hours=4), IssueState.NEW, Action.SEND),
        (dt.timedelta(hours=4, seconds=1), IssueState.NEW, Action.REFUSE),
        (dt.timedelta(hours=10), IssueState.IN_PROGRESS, Action.RESUME),
        (dt.timedelta(hours=24), IssueState.IN_PROGRESS, Action.RESUME),
        (dt.timedelta(hours=24, seconds=1), IssueState.IN_PROGRESS, Action.REFUSE),
        (dt.timedelta(hours=1), IssueState.SENT, Action.NOTHING),
        (dt.timedelta(days=6), IssueState.SENT, Action.NOTHING),
    ],
)
def test_decide(late: dt.timedelta, state: IssueState, action: Action) -> None:
    decision = decide(PERIOD, FIRE + late, state, GRACE, MAX)
    assert decision.action is action
    assert "2025-W49" in decision.reason
    if action is Action.REFUSE:
        assert "digest send --date 2025-12-01" in decision.reason
