"""[schedule] send_empty: a week without entries, against real parts (SQLite files, the
aiosmtpd server on 127.0.0.1, the file transport, the MJML compiler)."""

from __future__ import annotations

import datetime as dt
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from click.testing import CliRunner, Result

from digest.cli import cli
from digest.config import Settings
from digest.jobs import DueReport, run_if_due
from digest.models import Subscriber
from digest.pipeline import make_transport
from digest.schedule import next_fire_for
from digest.store import open_store
from tests.conftest import Project, SmtpServer
from tests.test_schedule import PARIS, SECRET, WEEKDAYS, StopAfter, smtp_env

EMPTY_FIRE = dt.datetime(2025, 12, 22, 6, 30, tzinfo=dt.UTC)
"""Monday 22 December, 07:30 in Paris: sends week 51, which has no briefing."""
NUMBER = {"fr": "n° 51", "en": "No. 51"}
QUIET = {"fr": "Pas d'articles cette semaine.", "en": "No briefing entries this week."}
ON = {"DIGEST_SCHEDULE_SEND_EMPTY": "true"}

READERS = [
    Subscriber(email="ada@example.org", name="Ada", language="fr", themes=frozenset()),
    Subscriber(email="bob@example.org", name="", language="en", themes=frozenset()),
    Subscriber(email="cy@example.org", name="Cy", language="fr", themes=frozenset({"ukraine"})),
    Subscriber(email="dee@example.org", name="Dee", language="en", themes=frozenset({"summit"})),
    Subscriber(
        email="gone@example.org", name="", language="fr", themes=frozenset(), status="unsubscribed"
    ),
]
ACTIVE = sorted(r.email for r in READERS if r.status == "active")


def add_readers(settings: Settings) -> None:
    with open_store(settings) as store:
        store.upsert_subscribers(READERS, source="test")


def due(settings: Settings, now: dt.datetime, **kwargs: object) -> DueReport:
    return run_if_due(settings, now, next_fire_for(settings), **kwargs)  # type: ignore[arg-type]


def received(server: SmtpServer) -> dict[str, EmailMessage]:
    with server.handler.lock:
        got = [(r.recipients, r.message) for r in server.handler.received]
    assert all(len(rcpts) == 1 for rcpts, _ in got)
    return {rcpts[0]: message for rcpts, message in got}


def parts(message: EmailMessage) -> tuple[str, str]:
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert html is not None and text is not None
    return str(html.get_content()), str(text.get_content())


def test_off_an_empty_week_is_not_sent_and_says_why(
    project: Project, smtp_server: SmtpServer
) -> None:
    settings = project.settings(**smtp_env(smtp_server))
    add_readers(settings)
    report = due(settings, EMPTY_FIRE)
    assert report.result is None and "\n" not in report.line
    assert report.line.startswith("issue 2025-W51 has no entries")
    assert report.line.endswith("not sent ([schedule] send_empty = false)")
    assert received(smtp_server) == {}
    with open_store(settings) as store:
        assert store.issue_times("2025-W51") is None


def test_on_every_active_reader_gets_one_quiet_issue_once(
    project: Project, smtp_server: SmtpServer
) -> None:
    settings = project.settings(**smtp_env(smtp_server), **ON)
    add_readers(settings)
    report = due(settings, EMPTY_FIRE)
    assert report.result is not None and report.result.summary.sent == len(ACTIVE)
    assert report.result.summary.no_content == []
    got = received(smtp_server)
    assert sorted(got) == ACTIVE  # theme choices do not matter in a quiet week
    for reader in READERS[:4]:
        message = got[reader.email]
        assert NUMBER[reader.language] in message["Subject"] and "\n" not in message["Subject"]
        html, text = parts(message)
        quiet = QUIET[reader.language]
        assert "<mj-" not in html and f'<html lang="{reader.language}"' in html
        assert quiet.replace("'", "&#39;") in html and quiet in text
        assert "/unsubscribe/" in html and "/preferences/" in html
        assert "/unsubscribe/" in text and "/preferences/" in text
        assert message["List-Unsubscribe"] and message["List-Unsubscribe-Post"]
    assert "Hello reader," in parts(got["bob@example.org"])[1]  # the greeting's fallback
    assert "Bonjour Ada," in parts(got["ada@example.org"])[1]
    assert "Au sommaire" not in parts(got["ada@example.org"])[0]  # no empty contents box

    again = due(settings, EMPTY_FIRE + dt.timedelta(minutes=30))
    assert again.result is None and again.line.endswith("already sent: nothing to do")
    assert len(smtp_server.handler.received) == len(ACTIVE)


def test_on_an_interrupted_quiet_issue_resumes_without_duplicates(
    project: Project, smtp_server: SmtpServer
) -> None:
    settings = project.settings(**smtp_env(smtp_server), **ON)
    add_readers(settings)
    stop = threading.Event()
    first = due(
        settings, EMPTY_FIRE, transport=StopAfter(make_transport(settings), 1, stop), stop=stop
    )
    assert first.result is not None and first.result.stopped
    assert first.result.counts == {"sent": 1, "pending": len(ACTIVE) - 1}
    resumed = due(settings, EMPTY_FIRE + dt.timedelta(hours=5))
    assert resumed.result is not None and "resumes" in resumed.line
    with smtp_server.handler.lock:
        rcpts = sorted(r.recipients[0] for r in smtp_server.handler.received)
    assert rcpts == ACTIVE


def test_on_a_reader_without_entries_in_a_non_empty_week_still_gets_nothing(
    project: Project, smtp_server: SmtpServer
) -> None:
    settings = project.settings(**smtp_env(smtp_server), **ON)
    add_readers(settings)
    # Monday 1 December sends week 48, which holds only a Black Sea entry
    report = due(settings, dt.datetime(2025, 12, 1, 6, 30, tzinfo=dt.UTC))
    assert report.result is not None
    assert sorted(report.result.summary.no_content) == ["cy@example.org", "dee@example.org"]
    assert sorted(received(smtp_server)) == ["ada@example.org", "bob@example.org"]
    for message in received(smtp_server).values():
        assert not any(quiet in parts(message)[1] for quiet in QUIET.values())


# -- the command line: file transport, .eml files on disk ----------------------------


def run(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args], env=env)


def emls(project: Project) -> dict[str, EmailMessage]:
    found = {}
    for path in (project.root / "outbox").glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found[str(message["To"]).split("<")[-1].rstrip(">")] = message
    return found


def test_cli_send_date_on_an_empty_week_refuses_unless_send_empty(project: Project) -> None:
    add_readers(project.settings())
    refused = run(project, "send", "--date", "2025-12-17", env=SECRET)
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert refused.output.startswith("error: no entries dated in week 2025-W51")
    assert "send_empty = true" in refused.output and len(refused.output.splitlines()) == 1
    assert not (project.root / "outbox").exists()

    sent = run(project, "send", "--date", "2025-12-17", env={**SECRET, **ON})
    assert sent.exit_code == 0, sent.output
    assert f"issue 2025-W51 sent: {len(ACTIVE)} sent, 0 failed" in sent.output
    got = emls(project)
    assert sorted(got) == ACTIVE
    html, text = parts(got["cy@example.org"])
    assert "<mj-" not in html and QUIET["fr"] in text

    again = run(project, "send", "--date", "2025-12-17", env={**SECRET, **ON})
    assert again.exit_code == 0 and "resumed: 0 sent" in again.output
    assert len(emls(project)) == len(ACTIVE)


def test_cli_build_shows_the_quiet_issue_in_both_languages(project: Project) -> None:
    for language in ("fr", "en"):
        out = project.root / "out" / language
        built = run(project, "build", "--date", "2025-12-17", "--language", language,
                    "--out", str(out), env={**SECRET, **ON})  # fmt: skip
        assert built.exit_code == 0, built.output
        assert "issue 2025-W51 (vol. 1, no. 51): 0 entries in 0 sections" in built.output
        html = (out / "issue.html").read_text(encoding="utf-8")
        text = (out / "issue.txt").read_text(encoding="utf-8")
        assert "<mj-" not in html and QUIET[language].replace("'", "&#39;") in html
        assert QUIET[language] in text


def schedule_now(minutes_ago: int = 2) -> dict[str, str]:
    """[schedule] overrides for a run a few minutes ago on the real clock; its week (the
    previous one) has no entry, since the test briefings are dated late 2025."""
    fire = dt.datetime.now(PARIS) - dt.timedelta(minutes=minutes_ago)
    return {
        "DIGEST_SCHEDULE_DAY_OF_WEEK": WEEKDAYS[fire.weekday()],
        "DIGEST_SCHEDULE_HOUR": str(fire.hour),
        "DIGEST_SCHEDULE_MINUTE": str(fire.minute),
    }


def test_cli_if_due_sends_the_quiet_issue_once(project: Project, tmp_path: Path) -> None:
    env = {**SECRET, **schedule_now()}
    add_readers(project.settings())
    off = run(project, "send", "--if-due", env=env)
    assert off.exit_code == 0, off.output
    assert len(off.output.splitlines()) == 1 and "send_empty = false" in off.output
    assert not (project.root / "outbox").exists()

    first = run(project, "send", "--if-due", env={**env, **ON})
    assert first.exit_code == 0, first.output
    assert f"{len(ACTIVE)} sent, 0 failed" in first.output
    second = run(project, "send", "--if-due", env={**env, **ON})
    assert second.exit_code == 0, second.output
    assert len(second.output.splitlines()) == 1
    assert second.output.strip().endswith("was already sent: nothing to do")
    assert sorted(emls(project)) == ACTIVE


def test_check_says_once_what_happens_to_an_empty_week(project: Project) -> None:
    for env, outcome in (({}, "nothing is sent"), (ON, "every active reader gets the quiet")):
        result = run(project, "check", "--date", "2025-12-17", env=env)
        assert result.exit_code == 0, result.output
        findings = [line for line in result.output.splitlines() if line.startswith("warning")]
        assert len(findings) == 1 and "[empty-issue]" in findings[0]
        assert f"no entry in 2025-W51: {outcome}" in findings[0]
