"""Several hosts on one PostgreSQL store: bad store settings, `store copy`, the whole
send on PostgreSQL, two schedulers, two web instances, and two senders sharing one
outbox while one of them is killed again and again."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest.cli import cli
from digest.jobs import DueReport, run_if_due
from digest.models import Subscriber
from digest.schedule import next_fire_for
from digest.store import Target, open_store
from digest.store.engine import open_engine
from digest.store.migrations import LATEST, MIGRATIONS, Migration, migrate, version
from digest.web.app import create_app
from digest.web.server import running
from tests.conftest import PgDatabase, Project, SlowHandler, SmtpServer, free_port, smtp_serving
from tests.webclient import Browser

SECRET = {"DIGEST_SECRET_KEY": "k" * 40}
FIRE = dt.datetime(2025, 12, 8, 6, tzinfo=dt.UTC)  # Monday 8 December, 07:00 in Paris


def digest(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args], env=env)


def one_error_line(result: Result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def smtp_env(server: SmtpServer) -> dict[str, str]:
    return {
        "DIGEST_DELIVERY_TRANSPORT": "smtp",
        "DIGEST_SMTP_HOST": server.host,
        "DIGEST_SMTP_PORT": str(server.port),
        "DIGEST_SMTP_SECURITY": "none",
        **SECRET,
    }


def readers(count: int) -> list[Subscriber]:
    return [
        Subscriber(f"reader{i:04d}@example.org", f"R {i}", "fr", frozenset()) for i in range(count)
    ]


# -- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://db.example.org/digest", r"\[store\] url: must start with"),
        ("postgresql://digest:hunter2@db.example.org/digest", r"holds a password; remove it"),
        ("postgresql://digest@db.example.org", r"name the database"),
        ("sqlite://subscribers/x.db", r'a SQLite url looks like "sqlite:///'),
    ],
)
def test_a_wrong_store_url_is_one_error_line_naming_the_key(
    project: Project, url: str, expected: str
) -> None:
    line = one_error_line(digest(project, "status", env={"DIGEST_STORE_URL": url}))
    assert re.search(expected, line), line
    assert "hunter2" not in line


def test_an_unreachable_server_names_the_host(project: Project) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://digest@127.0.0.1:{port}/digest"
    line = one_error_line(digest(project, "status", env={"DIGEST_STORE_URL": url}))
    assert f"cannot reach PostgreSQL at postgresql://digest@127.0.0.1:{port}/digest" in line
    assert "start the server or correct the host and port" in line


def test_a_refused_password_says_where_the_password_comes_from(
    project: Project, pg_database: PgDatabase
) -> None:
    env = {**pg_database.environ(), "DIGEST_STORE_PASSWORD": "wrong"}
    line = one_error_line(digest(project, "status", env=env))
    assert "refused the login" in line and "password_env" in line
    assert pg_database.url.split("://")[1].split("/")[0].split("@")[1] in line  # the host


def test_a_database_at_a_newer_schema_is_refused_and_left_as_it_is(
    project: Project, pg_database: PgDatabase
) -> None:
    settings = project.settings(**pg_database.environ())
    with open_store(settings) as store:
        later = Migration("CREATE TABLE later (x INTEGER)", "CREATE TABLE later (x INTEGER)")
        migrate(store.db, (*MIGRATIONS, later))
    line = one_error_line(digest(project, "status", env=pg_database.environ()))
    assert f"schema v{LATEST + 1} is newer than this digest (v{LATEST})" in line
    assert "upgrade digest" in line
    db = open_engine(Target(pg_database.url, password=pg_database.password))
    assert version(db) == LATEST + 1 and "later" in db.tables()
    db.close()


# -- store copy ---------------------------------------------------------------------


@pytest.mark.sqlite_only  # the project's own store is the SQLite file it copies from
def test_store_copy_moves_every_table_and_leaves_the_sqlite_file_untouched(
    project: Project, pg_database: PgDatabase, smtp_server: SmtpServer
) -> None:
    env = smtp_env(smtp_server)
    assert digest(project, "subscribers", "import", "subscribers/sample.csv").exit_code == 0
    sent = digest(project, "send", "--date", "2025-12-03", env=env)
    assert sent.exit_code == 0, sent.output
    settings = project.settings(**env)
    with open_store(settings) as store:
        store.record_feed_items("2025-W49", [("item-1", "feed", "A title")])
        store.save_feed_cache("https://feed.test/", "e", "", b"<rss/>")
        store.record_bounce(email="j.smith@example.net", kind="soft", fingerprint="fp-1")
        store.hit("client:127.0.0.1", 3600, 5)
        store.upsert_subscribers([Subscriber("erased@example.org", "", "fr", frozenset())], "t")
        erased = store.subscriber_by_email("erased@example.org")
        assert erased is not None and store.erase(erased.id)
        expected = {t: store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                    for t in store.db.tables()}  # fmt: skip
    db_file = settings.store.path
    before = hashlib.sha256(db_file.read_bytes()).hexdigest()

    copied = digest(project, "store", "copy", "--to", pg_database.url,
                    env={"DIGEST_STORE_PASSWORD": pg_database.password})  # fmt: skip
    assert copied.exit_code == 0, copied.output
    for table, count in expected.items():
        assert f"{table:<14} {count:>8} rows copied, count verified" in copied.output
    assert hashlib.sha256(db_file.read_bytes()).hexdigest() == before

    on_pg = project.settings(**pg_database.environ())
    with open_store(on_pg) as store:
        assert {t: store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in expected} == expected  # fmt: skip
        assert store.counts("2025-W49") == {"sent": expected["deliveries"]}
        assert store.is_suppressed("erased@example.org")  # the same key came along
        # ids were kept, and new rows get fresh ones after them
        record = store.add_pending(Subscriber("new@example.org", "", "fr", frozenset()), "t")
        assert record.subscriber.id > max(s.id for s in store.subscribers("active"))

    again = digest(project, "store", "copy", "--to", pg_database.url,
                   env={"DIGEST_STORE_PASSWORD": pg_database.password})  # fmt: skip
    assert "already holds rows: copy into an empty store" in one_error_line(again)


# -- one store, several hosts -------------------------------------------------------


def test_the_whole_send_runs_on_postgresql_and_resumes(
    project: Project, pg_database: PgDatabase, smtp_server: SmtpServer
) -> None:
    env = {**pg_database.environ(), **smtp_env(smtp_server)}
    imported = digest(project, "subscribers", "import", "subscribers/sample.csv", env=env)
    assert imported.exit_code == 0, imported.output
    first = digest(project, "send", "--date", "2025-12-03", env=env)
    assert first.exit_code == 0, first.output
    again = digest(project, "send", "--date", "2025-12-03", env=env)
    assert again.exit_code == 0 and "resumed" in again.output
    got = collections.Counter(r for m in smtp_server.handler.received for r in m.recipients)
    assert got and set(got.values()) == {1}
    status = digest(project, "status", env=env)
    assert "2025-W49" in status.output and "complete" in status.output
    assert not (project.root / "subscribers" / "digest.db").exists()  # nothing on SQLite


def test_two_schedulers_on_two_hosts_send_the_period_once(
    project: Project, pg_database: PgDatabase
) -> None:
    with smtp_serving(SlowHandler(delay=0.02)) as server:
        settings = project.settings(**pg_database.environ(), **smtp_env(server))
        with open_store(settings) as store:
            store.upsert_subscribers(readers(30), source="test")
        start = threading.Barrier(2)
        reports: list[DueReport] = []

        def scheduler() -> None:
            start.wait()
            reports.append(
                run_if_due(settings, FIRE + dt.timedelta(minutes=1), next_fire_for(settings))
            )

        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        got = collections.Counter(r for m in server.handler.received for r in m.recipients)
    assert len(reports) == 2
    assert sorted(got) == [r.email for r in readers(30)] and set(got.values()) == {1}
    sent = [r for r in reports if r.result is not None and r.result.summary.sent]
    assert len(sent) == 1
    other = next(r for r in reports if r is not sent[0])
    assert other.line.endswith(("already sent: nothing to do", "nothing to do here")), other.line


def test_two_web_instances_share_the_subscribe_limit(
    project: Project, pg_database: PgDatabase
) -> None:
    settings = project.settings(
        **pg_database.environ(), **SECRET, DIGEST_SERVE_SUBSCRIBE_PER_HOUR="3"
    )
    with running(create_app(settings)) as first, running(create_app(settings)) as second:
        statuses = []
        for i in range(5):
            visitor = Browser(first if i % 2 == 0 else second)
            form = visitor.get("/subscribe")
            reply = visitor.post(
                "/subscribe", [("csrf_token", form.csrf()), ("email", f"p{i}@example.org")]
            )
            statuses.append(reply.status)
    assert statuses == [200, 200, 200, 429, 429]  # 3 an hour from this client, in all


# -- several senders, one outbox, kill -9 -------------------------------------------

READERS = 2000
CONNECTIONS = 2


@pytest.fixture
def sink() -> Iterator[SmtpServer]:
    with smtp_serving(SlowHandler(delay=0.02)) as server:  # the kills land mid-flight
        yield server


def _sender(env: dict[str, str], root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from digest.cli import main; main()",
         "send", "--date", "2025-12-03"],
        env={**os.environ, **env}, cwd=root,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_two_senders_share_an_outbox_while_one_is_killed_again_and_again(
    project: Project, pg_database: PgDatabase, sink: SmtpServer
) -> None:
    env = {
        **pg_database.environ(),
        **smtp_env(sink),
        "DIGEST_CONFIG": str(project.config),
        "DIGEST_DELIVERY_CONNECTIONS": str(CONNECTIONS),
        "DIGEST_DELIVERY_LEASE_SECONDS": "2",
    }
    with open_store(project.settings(**env)) as store:
        store.upsert_subscribers(readers(READERS), source="test")
    steady = _sender(env, project.root)
    kills = 0
    handler = sink.handler
    deadline = time.monotonic() + 240
    victim = _sender(env, project.root)
    while steady.poll() is None and time.monotonic() < deadline:
        time.sleep(2.8)  # a sender needs ~2 s to start: then it claims and sends a while
        if victim.poll() is None and len(handler.received) < READERS * 0.9:
            os.kill(victim.pid, signal.SIGKILL)
            kills += 1
        victim.wait()
        assert victim.stderr is not None
        victim.stderr.close()
        victim = _sender(env, project.root)
    victim.wait(timeout=120)
    steady.wait(timeout=120)
    for child in (steady, victim):
        assert child.stderr is not None
        errors = child.stderr.read().decode()
        child.stderr.close()
        assert child.returncode == 0, errors
    got = collections.Counter(r for m in handler.received for r in m.recipients)
    missing = {r.email for r in readers(READERS)} - set(got)
    duplicates = sum(n - 1 for n in got.values())

    assert kills >= 3, "the sends ended before the test could kill anything"
    assert not missing
    assert duplicates <= kills * CONNECTIONS
    with open_store(project.settings(**env)) as store:
        assert store.counts("2025-W49") == {"sent": READERS}
        assert store.issue_times("2025-W49")[1] is not None  # type: ignore[index]


# -- the subscriber pages and bounce processing on PostgreSQL ---------------------


def test_subscribe_confirm_and_unsubscribe_on_postgresql(
    project: Project, pg_database: PgDatabase
) -> None:
    from tests.webclient import link, mails_to, path_of, text_of

    settings = project.settings(**pg_database.environ(), **SECRET)
    outbox = project.root / "outbox"
    with running(create_app(settings)) as base:
        visitor = Browser(base)
        form = visitor.get("/subscribe")
        reply = visitor.post(
            "/subscribe",
            [("csrf_token", form.csrf()), ("email", "Reader@Example.org"), ("language", "en")],
        )
        assert reply.status == 200 and "Check your inbox" in reply.body
        [mail] = mails_to(outbox, "Reader@example.org")
        confirm = path_of(link(text_of(mail), "confirm"))
        shown = visitor.get(confirm)
        done = visitor.post(confirm, {"csrf_token": shown.csrf()})
        assert done.status == 200 and "Subscription confirmed" in done.body
    with open_store(settings) as store:
        record = store.record_by_email("reader@example.org")
        assert record is not None and record.status == "active"
        assert store.unsubscribe(record.subscriber.id)
    assert not (project.root / "subscribers" / "digest.db").exists()


def test_bounces_process_on_postgresql(
    project: Project, pg_database: PgDatabase, tmp_path: Path
) -> None:
    from tests.test_bounces import ALL, as_mbox

    env = {**pg_database.environ(), **SECRET}
    assert (
        digest(project, "subscribers", "import", "subscribers/sample.csv", env=env).exit_code == 0
    )
    assert digest(project, "send", "--date", "2025-12-03", env=env).exit_code == 0
    with open_store(project.settings(**env)) as store:
        mbox = as_mbox(tmp_path, ALL, store)  # type: ignore[arg-type]
    processed = digest(project, "bounces", "process", str(mbox), env=env)
    assert processed.exit_code == 0, processed.output
    with open_store(project.settings(**env)) as store:
        status = {s.email: s.status for s in store.subscribers()}
        assert status["p.novak@example.com"] == "bounced"
        assert status["j.smith@example.net"] == "complained"
        [row] = store.issue_statuses(1)
        assert (row["bounced"], row["complained"]) == (2, 1)
    again = digest(project, "bounces", "process", str(mbox), env=env)
    assert again.exit_code == 0


def test_the_preview_offers_the_theme_sets_readers_chose_on_postgresql(
    project: Project, pg_database: PgDatabase
) -> None:
    from digest.web.preview import theme_sets

    settings = project.settings(**pg_database.environ())
    chosen = frozenset({"ukraine", "spending"})
    with open_store(settings) as store:
        store.upsert_subscribers([Subscriber("a@example.org", "", "fr", chosen)], "t")
    assert chosen in theme_sets(settings)
