"""Scheduled sends against real parts: SQLite files, aiosmtpd on 127.0.0.1, subprocesses.

Two clocks appear here. Library calls take an injected `now` (the sample briefings are
dated late 2025). The command line and the daemon read the real clock, so those tests
set [schedule] to a time a few minutes ago and write an entry into the week it sends.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.config import Settings
from digest.delivery.transport import Transport
from digest.errors import NotSentError, SendBusyError
from digest.jobs import Checks, DueReport, run_if_due, run_send
from digest.models import Message, Subscriber
from digest.pipeline import Edition, assemble, make_signer, make_transport, read_entries
from digest.schedule import next_fire_for
from digest.sendlock import send_lock
from digest.store import open_store
from tests.conftest import FIXTURES, Project, SlowHandler, SmtpServer, smtp_serving

PARIS = ZoneInfo("Europe/Paris")
FIRE = dt.datetime(2025, 12, 8, 6, tzinfo=dt.UTC)  # Monday 8 December, 07:00 in Paris
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECRET = {"DIGEST_SECRET_KEY": "k" * 40}
"""Fixed key: processes started together must not race to create the key file."""


def smtp_env(server: SmtpServer) -> dict[str, str]:
    return {
        "DIGEST_DELIVERY_TRANSPORT": "smtp",
        "DIGEST_SMTP_HOST": server.host,
        "DIGEST_SMTP_PORT": str(server.port),
        "DIGEST_SMTP_SECURITY": "none",
        **SECRET,
    }


def add_readers(settings: Settings, count: int) -> list[str]:
    readers = [
        Subscriber(email=f"reader{i:03d}@example.org", name=f"R {i}", language="fr",
                   themes=frozenset())
        for i in range(count)
    ]  # fmt: skip
    with open_store(settings) as store:
        store.upsert_subscribers(readers, source="test")
    return [r.email for r in readers]


def recipients(server: SmtpServer) -> list[str]:
    with server.handler.lock:
        return [rcpt for received in server.handler.received for rcpt in received.recipients]


def due(settings: Settings, now: dt.datetime, **kwargs: object) -> DueReport:
    return run_if_due(settings, now, next_fire_for(settings), **kwargs)  # type: ignore[arg-type]


def outbox(settings: Settings, key: str) -> dict[str, str]:
    with open_store(settings) as store:
        rows = store.db.execute(
            "SELECT email, status FROM deliveries WHERE issue_key = ?", (key,)
        ).fetchall()
    return {row["email"]: row["status"] for row in rows}


def issue_row(settings: Settings, key: str) -> tuple[str, str | None] | None:
    with open_store(settings) as store:
        return store.issue_times(key)


# -- injected clock ----------------------------------------------------------------


def test_catch_up_within_grace_sends_once(project: Project, smtp_server: SmtpServer) -> None:
    settings = project.settings(**smtp_env(smtp_server))
    people = add_readers(settings, 7)
    # the daemon was down at 07:00 and starts at 09:00: within the 4 h grace
    report = due(settings, FIRE + dt.timedelta(hours=2))
    assert report.result is not None and report.result.summary.sent == 7
    assert "2025-W49" in report.line
    assert sorted(recipients(smtp_server)) == people

    again = due(settings, FIRE + dt.timedelta(hours=3))
    assert again.result is None
    assert again.line.endswith("was already sent: nothing to do")
    assert sorted(recipients(smtp_server)) == people


def test_missed_past_grace_is_refused_until_an_editor_sends(
    project: Project, smtp_server: SmtpServer
) -> None:
    env = smtp_env(smtp_server)
    settings = project.settings(**env)
    people = add_readers(settings, 3)
    with pytest.raises(NotSentError, match=r"2025-W49 .* 5\.0 h late, more than") as caught:
        due(settings, FIRE + dt.timedelta(hours=5))
    assert "digest send --date 2025-12-01" in str(caught.value)
    assert caught.value.exit_code == 3
    assert recipients(smtp_server) == [] and issue_row(settings, "2025-W49") is None

    by_hand = CliRunner().invoke(
        cli, ["--config", str(project.config), "send", "--date", "2025-12-01"], env=env
    )
    assert by_hand.exit_code == 0, by_hand.output
    assert sorted(recipients(smtp_server)) == people
    assert due(settings, FIRE + dt.timedelta(hours=6)).line.endswith("nothing to do")


class StopAfter:
    """A real SMTP transport whose test hook asks for a stop after `count` messages."""

    def __init__(self, inner: Transport, count: int, stop: threading.Event) -> None:
        self.inner, self.count, self.stop = inner, count, stop

    def send(self, message: Message) -> str:
        reply = self.inner.send(message)
        self.count -= 1
        if self.count <= 0:
            self.stop.set()
        return reply

    def close(self) -> None:
        self.inner.close()


def stopped_after_two(settings: Settings) -> DueReport:
    """The period's automatic send, stopped (as by SIGTERM) after two messages."""
    stop = threading.Event()
    first = due(
        settings,
        FIRE + dt.timedelta(minutes=1),
        transport=StopAfter(make_transport(settings), 2, stop),
        stop=stop,
    )
    assert first.result is not None and first.result.stopped
    return first


def test_interrupted_send_resumes_until_max_lateness(
    project: Project, smtp_server: SmtpServer
) -> None:
    settings = project.settings(**smtp_env(smtp_server))
    people = add_readers(settings, 7)
    first = stopped_after_two(settings)
    assert first.result.counts == {"sent": 2, "pending": 5}
    assert issue_row(settings, "2025-W49") is not None
    assert len(recipients(smtp_server)) == 2

    with pytest.raises(NotSentError, match=r"interrupted and is now 30\.0 h late"):
        due(settings, FIRE + dt.timedelta(hours=30))
    assert len(recipients(smtp_server)) == 2

    # past the grace time but within max lateness: an interrupted send is finished
    resumed = due(settings, FIRE + dt.timedelta(hours=10))
    assert resumed.result is not None and "resumes" in resumed.line
    assert sorted(recipients(smtp_server)) == people
    assert set(outbox(settings, "2025-W49").values()) == {"sent"}
    assert issue_row(settings, "2025-W49")[1] is not None  # type: ignore[index]


def test_a_local_time_that_happens_twice_sends_once(
    project: Project, smtp_server: SmtpServer
) -> None:
    # Sunday 02:30 happens twice in Paris on 26 October 2025, and APScheduler fires at both
    env = {"DIGEST_SCHEDULE_DAY_OF_WEEK": "sun", "DIGEST_SCHEDULE_HOUR": "2",
           "DIGEST_SCHEDULE_MINUTE": "30", **smtp_env(smtp_server)}  # fmt: skip
    settings = project.settings(**env)
    first_fire, second_fire = (
        dt.datetime(2025, 10, 26, 0, 30, tzinfo=dt.UTC),
        dt.datetime(2025, 10, 26, 1, 30, tzinfo=dt.UTC),
    )
    next_fire = next_fire_for(settings)
    assert next_fire(first_fire + dt.timedelta(seconds=1)) == second_fire
    project.write_entry(
        "2025-10-15-summit.md",
        "---\ntitle: Les ministres préparent le sommet\ndate: 2025-10-15\n---\nSommet.\n",
    )
    people = add_readers(settings, 3)
    assert due(settings, first_fire + dt.timedelta(minutes=1)).result is not None
    again = due(settings, second_fire + dt.timedelta(minutes=1))
    assert again.result is None and again.line.endswith("already sent: nothing to do")
    assert sorted(recipients(smtp_server)) == people


def test_two_senders_at_once_mail_each_reader_once(
    project: Project, smtp_server: SmtpServer
) -> None:
    settings = project.settings(**smtp_env(smtp_server))
    people = add_readers(settings, 12)
    start = threading.Barrier(2)
    reports: list[DueReport] = []

    def sender() -> None:
        start.wait()
        reports.append(due(settings, FIRE + dt.timedelta(minutes=1)))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(reports) == 2
    assert sorted(recipients(smtp_server)) == people
    sent = [r for r in reports if r.result is not None and r.result.summary.sent]
    assert len(sent) == 1
    other = next(r for r in reports if r not in sent)
    assert other.line.endswith(("already sent: nothing to do", "nothing to do here"))


def test_an_issue_without_entries_is_not_sent(project: Project, smtp_server: SmtpServer) -> None:
    settings = project.settings(**smtp_env(smtp_server))
    add_readers(settings, 2)
    # Monday 22 December sends week 51, which has no briefing
    report = due(settings, dt.datetime(2025, 12, 22, 6, 30, tzinfo=dt.UTC))
    assert report.result is None
    assert report.line.startswith("issue 2025-W51 has no entries (2025-12-15 to 2025-12-21")
    assert recipients(smtp_server) == [] and issue_row(settings, "2025-W51") is None


def test_a_missed_issue_without_entries_is_nothing_to_do(
    project: Project, smtp_server: SmtpServer
) -> None:
    settings = project.settings(**smtp_env(smtp_server))
    add_readers(settings, 2)
    # the Monday 22 December run (week 51, no briefing) was missed by almost six days:
    # there was nothing to send then, so there is nothing for an editor to send now
    report = due(settings, dt.datetime(2025, 12, 28, 6, 30, tzinfo=dt.UTC))
    assert report.result is None
    assert report.line == (
        f"issue 2025-W51 has no entries (2025-12-15 to 2025-12-21 in {settings.entries.dir})"
        ": not sent ([schedule] send_empty = false)"
    )
    assert recipients(smtp_server) == [] and issue_row(settings, "2025-W51") is None
    # with send_empty the quiet-week issue would have gone out: missed, it waits
    quiet = project.settings(DIGEST_SCHEDULE_SEND_EMPTY="1", **smtp_env(smtp_server))
    with pytest.raises(NotSentError, match=r"2025-W51 .* was missed .* 144\.5 h late"):
        due(quiet, dt.datetime(2025, 12, 28, 6, 30, tzinfo=dt.UTC))
    assert recipients(smtp_server) == [] and issue_row(settings, "2025-W51") is None


def test_a_missed_issue_whose_entries_cannot_be_read_still_waits_for_an_editor(
    project: Project,
) -> None:
    # Deciding whether a missed week is empty reads its entries; a broken file must not
    # turn the refusal (exit 3, no retry) into an ordinary error that systemd retries.
    project.write_entry("2025-12-04-broken.md", "---\ntitle: [unclosed\n---\nBody.\n")
    settings = project.settings(**SECRET)
    with pytest.raises(NotSentError, match=r"2025-W49 .* was missed"):
        due(settings, FIRE + dt.timedelta(hours=5))


def test_editorial_check_errors_stop_an_automatic_send(
    project: Project, smtp_server: SmtpServer
) -> None:
    settings = project.settings(**smtp_env(smtp_server))
    add_readers(settings, 2)
    seen: list[str] = []

    def checks(edition: Edition) -> list[str]:
        seen.append(edition.issue.key)
        return ["2025-12-03-drones.md: title longer than 120 characters"]

    typed: Checks = checks
    with pytest.raises(NotSentError) as caught:
        due(settings, FIRE + dt.timedelta(minutes=5), checks=typed)
    lines = str(caught.value).splitlines()
    assert lines[0] == "issue 2025-W49 not sent: 1 editorial check error(s)"
    assert "drones.md: title longer" in lines[1]
    assert seen == ["2025-W49"]
    assert recipients(smtp_server) == [] and issue_row(settings, "2025-W49") is None


@pytest.mark.sqlite_only  # the flock of a SQLite store
def test_a_second_sender_waits_then_names_the_holder(project: Project) -> None:
    settings = project.settings(DIGEST_SCHEDULE_LOCK_WAIT_SECONDS="0", **SECRET)
    add_readers(settings, 1)
    edition = Edition(
        settings,
        assemble(settings, read_entries(settings), dt.date(2025, 12, 1)),
        make_signer(settings),
        FIRE,
    )
    with send_lock(settings.store.path, "2025-W49", 0):
        with pytest.raises(SendBusyError, match=rf"2025-W49 is being sent by pid {os.getpid()}"):
            run_send(edition)
        busy = due(settings, FIRE + dt.timedelta(minutes=1))
        assert busy.result is None
        assert busy.line.startswith("issue 2025-W49 is being sent by pid")
        assert busy.line.endswith("nothing to do here")
    assert run_send(edition).summary.sent == 1


@pytest.mark.sqlite_only  # the flock of a SQLite store
def test_a_waiting_sender_goes_once_the_holder_is_done(project: Project) -> None:
    settings = project.settings(**SECRET)
    add_readers(settings, 2)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with send_lock(settings.store.path, "2025-W49", 0):
            held.set()
            release.wait(timeout=30)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(timeout=30)
    threading.Timer(0.3, release.set).start()
    report = due(settings, FIRE + dt.timedelta(minutes=1))  # waits up to 60 s
    thread.join(timeout=30)
    assert report.result is not None and report.result.summary.sent == 2


@pytest.mark.sqlite_only  # the flock of a SQLite store
def test_a_dead_holder_leaves_no_stale_lock(project: Project) -> None:
    settings = project.settings()
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from digest.sendlock import send_lock\n"
        "with send_lock(Path(sys.argv[1]), '2025-W49', 0):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(settings.store.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with (
            pytest.raises(SendBusyError, match=f"pid {child.pid}"),
            send_lock(settings.store.path, "2025-W49", 0),
        ):
            pass  # pragma: no cover
    finally:
        child.kill()
        child.communicate(timeout=30)
    with send_lock(settings.store.path, "2025-W49", 0):
        pass


# -- the real clock: command line, cron and the daemon -------------------------------


def just_fired(
    project: Project, minutes_ago: int = 2, *, entry: bool = True, **extra: str
) -> dict[str, str]:
    """[schedule] overrides for a run `minutes_ago` minutes ago, and (unless `entry` is
    false: the test briefings are all of 2025) an entry to send."""
    fire = dt.datetime.now(PARIS) - dt.timedelta(minutes=minutes_ago)
    day = fire.date() - dt.timedelta(days=7)  # [schedule] week = "previous"
    if entry:
        project.write_entry(
            "zz-last-week.md",
            f"---\ntitle: Les ministres préparent le sommet\ndate: {day.isoformat()}\n---\n"
            "Réunion ministérielle avant le sommet.\n",
        )
    return {
        "DIGEST_SCHEDULE_DAY_OF_WEEK": WEEKDAYS[fire.weekday()],
        "DIGEST_SCHEDULE_HOUR": str(fire.hour),
        "DIGEST_SCHEDULE_MINUTE": str(fire.minute),
        **extra,
    }


def test_if_due_twice_in_one_period(project: Project, smtp_server: SmtpServer) -> None:
    env = {**smtp_env(smtp_server), **just_fired(project)}
    people = add_readers(project.settings(**env), 5)
    args = ["--config", str(project.config), "send", "--if-due"]
    first = CliRunner().invoke(cli, args, env=env)
    assert first.exit_code == 0, first.output
    assert "5 sent, 0 failed" in first.output
    second = CliRunner().invoke(cli, args, env=env)
    assert second.exit_code == 0, second.output
    assert len(second.output.splitlines()) == 1
    assert second.output.strip().endswith("was already sent: nothing to do")
    assert sorted(recipients(smtp_server)) == people


def test_if_due_past_grace_exits_3_with_one_line(project: Project) -> None:
    env = {**just_fired(project, minutes_ago=90, DIGEST_SCHEDULE_MISFIRE_GRACE_SECONDS="60")}
    result = CliRunner().invoke(cli, ["--config", str(project.config), "send", "--if-due"],
                                env={**env, **SECRET})  # fmt: skip
    assert result.exit_code == 3
    assert result.output.startswith("error: issue ") and "was missed" in result.output
    assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output


def test_if_due_for_a_missed_week_without_entries_exits_0_with_one_line(
    project: Project,
) -> None:
    """A new or quiet install run by the README's `@reboot` cron line: a missed week
    that had no entries is nothing to do, not an error mailed by cron (exit 3) naming
    a `digest send --date` that cannot work."""
    env = just_fired(project, minutes_ago=90, entry=False,
                     DIGEST_SCHEDULE_MISFIRE_GRACE_SECONDS="60", **SECRET)  # fmt: skip
    cron = digest_process(project, env, "send", "--if-due")
    out, err = cron.communicate(timeout=120)
    assert (cron.returncode, err) == (0, ""), (out, err)
    [line] = out.splitlines()
    assert line.startswith("issue ") and "has no entries" in line, line
    assert line.endswith(": not sent ([schedule] send_empty = false)")
    assert issue_row(project.settings(**env), line.split()[1]) is None


def test_if_due_refuses_a_date(project: Project) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(project.config), "send", "--if-due", "--date", "2025-12-01"]
    )
    assert result.exit_code == 2 and "--if-due takes the week from [schedule]" in result.output


@pytest.fixture
def slow_smtp() -> Iterator[SmtpServer]:
    with smtp_serving(SlowHandler()) as server:
        yield server


def digest_process(project: Project, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from digest.cli import main; main()",
         "--config", str(project.config), *args],
        env={**os.environ, **env},
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


@contextmanager
def schedule_daemon(project: Project, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """`digest schedule` as a real process; killed if the block leaves it running."""
    daemon = digest_process(project, env, "schedule")
    try:
        yield daemon
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate()


def stopped(daemon: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM, as systemd stops it, and what it printed until it exited."""
    daemon.send_signal(signal.SIGTERM)
    return daemon.communicate(timeout=60)


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_cron_twice_at_once_in_two_processes(project: Project, slow_smtp: SmtpServer) -> None:
    env = {**smtp_env(slow_smtp), **just_fired(project)}
    people = add_readers(project.settings(**env), 20)
    runs = [digest_process(project, env, "send", "--if-due") for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sorted(recipients(slow_smtp)) == people
    assert sum("20 sent, 0 failed" in out for out, _ in outputs) == 1


def test_daemon_sends_a_missed_run_on_start_and_stops_cleanly_on_sigterm(
    project: Project, slow_smtp: SmtpServer
) -> None:
    env = {**smtp_env(slow_smtp), **just_fired(project)}
    settings = project.settings(**env)
    people = add_readers(settings, 30)
    with schedule_daemon(project, env) as daemon:
        wait_for(lambda: len(recipients(slow_smtp)) >= 2)
        out, err = stopped(daemon)
    assert daemon.returncode == 0, (out, err)
    lines = out.splitlines()
    assert lines[0].startswith("digest schedule: ") and lines[1].startswith("next run: ")
    assert "stopping: finishing the message in flight" in out and lines[-1] == "stopped"
    assert "Traceback" not in err

    key = next(line.split()[1] for line in lines if line.startswith("issue "))
    rows = outbox(settings, key)
    mailed = recipients(slow_smtp)
    # no half state: exactly the accepted messages are recorded sent, the rest pending
    assert sorted(e for e, s in rows.items() if s == "sent") == sorted(mailed)
    assert {s for e, s in rows.items() if e not in mailed} == {"pending"}
    assert 2 <= len(mailed) < len(people)

    # the next run (here cron's) resumes and finishes: every reader exactly once
    resumed = CliRunner().invoke(cli, ["--config", str(project.config), "send", "--if-due"],
                                 env=env)  # fmt: skip
    assert resumed.exit_code == 0, resumed.output
    assert "resumes" in resumed.output
    assert sorted(recipients(slow_smtp)) == people


def test_daemon_resumes_after_a_transient_failure(
    project: Project, smtp_server: SmtpServer
) -> None:
    env = {**smtp_env(smtp_server), **just_fired(project), "DIGEST_SCHEDULE_RETRY_SECONDS": "1",
           "DIGEST_DELIVERY_MAX_ATTEMPTS": "1"}  # fmt: skip
    people = add_readers(project.settings(**env), 4)
    smtp_server.handler.replies.append("451 4.3.0 Try again later")
    with schedule_daemon(project, env) as daemon:
        wait_for(lambda: len(recipients(smtp_server)) == len(people))
        out, err = stopped(daemon)
    assert daemon.returncode == 0, (out, err)
    assert "still pending: deferred: 451 4.3.0 Try again later" in err
    assert "retrying at " in out and " resumes" in out
    assert sorted(recipients(smtp_server)) == people


def test_daemon_reports_a_run_missed_past_grace_and_sends_nothing(
    project: Project, smtp_server: SmtpServer
) -> None:
    env = {
        **smtp_env(smtp_server),
        **just_fired(project, minutes_ago=90, DIGEST_SCHEDULE_MISFIRE_GRACE_SECONDS="60"),
    }
    add_readers(project.settings(**env), 2)
    with schedule_daemon(project, env) as daemon:
        assert daemon.stdout is not None
        # the start-up check has run once the second "next run:" line is printed
        seen = [daemon.stdout.readline() for _ in range(3)]
        assert seen[2].startswith("next run: "), seen
        out, err = stopped(daemon)
    assert daemon.returncode == 0, (out, err)
    assert "was missed and is now 1.5 h late" in err and "waits for an editor" in err
    assert recipients(smtp_server) == []


def test_daemon_starts_quietly_after_a_missed_week_without_entries(project: Project) -> None:
    env = just_fired(project, minutes_ago=90, entry=False,
                     DIGEST_SCHEDULE_MISFIRE_GRACE_SECONDS="60", **SECRET)  # fmt: skip
    with schedule_daemon(project, env) as daemon:
        assert daemon.stdout is not None
        # the start-up check has run once the second "next run:" line is printed
        seen: list[str] = []
        while sum(line.startswith("next run: ") for line in seen) < 2:
            seen.append(daemon.stdout.readline())
            assert seen[-1], seen  # not the end of the output
        assert len(seen) == 4 and "has no entries" in seen[2], seen
        out, err = stopped(daemon)
    assert daemon.returncode == 0, (out, err)
    assert "error" not in err and "waits for an editor" not in err, err
    # idle when stopped: no message in flight to speak of
    assert out.splitlines()[-2:] == ["stopping", "stopped"], out


def test_a_resumed_automatic_send_keeps_the_issues_feed_items(
    project: Project, smtp_server: SmtpServer
) -> None:
    # The first run records the feed item as published in W49; the resumed run must
    # read it back for W49, or the readers it mails get a different issue.
    feed = project.root / "wire.rss"
    feed.write_bytes((FIXTURES / "feeds" / "defence-news.rss").read_bytes())
    settings = project.settings(DIGEST_FEEDS_URLS=str(feed), **smtp_env(smtp_server))
    add_readers(settings, 4)
    stopped_after_two(settings)
    resumed = due(settings, FIRE + dt.timedelta(hours=1))
    assert resumed.result is not None and resumed.result.summary.sent == 2
    with smtp_server.handler.lock:
        texts = [r.message.get_body(("plain",)) for r in smtp_server.handler.received]
    assert len(texts) == 4
    for text in texts:
        assert text is not None and "Nordic allies pool orders" in text.get_content()
