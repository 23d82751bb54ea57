"""Erasure reaches every byte (issue 12, items 4, 5 and 9): the store file is private,
an erased address is nowhere in the database file or its write-ahead log, and a
subscriber id is never given to anyone else."""

from __future__ import annotations

import mailbox
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest import pipeline
from digest.cli import cli
from digest.delivery.file import FileTransport
from digest.models import Subscriber
from digest.store import MIGRATIONS, Store, SubscriberRecord, open_store
from digest.web.app import create_app
from digest.web.server import running
from tests.conftest import FIXTURES, Project
from tests.test_delivery import FAST, setup
from tests.webclient import Browser, link, mails_to, path_of, text_of

ADDRESS = "p.novak@example.com"


def run(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args])


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets group and others read new files, as on many servers."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.sqlite_only
def test_store_and_its_wal_and_shm_are_created_0600(project: Project, open_umask: None) -> None:
    path = project.settings().store.path
    with Store(path) as store:
        store.upsert_subscribers([Subscriber("a@example.org", "", "fr", frozenset())], "t")
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        assert all(f.exists() for f in files)
        modes = {f.name: oct(f.stat().st_mode & 0o777) for f in files}
    assert modes == {f.name: "0o600" for f in files}
    # Through the CLI too, the first command that touches the store.
    other = project.root / "fresh" / "digest.db"
    other.parent.mkdir()
    env = {"DIGEST_STORE_PATH": str(other)}
    result = CliRunner().invoke(
        cli, ["--config", str(project.config), "subscribers", "add", "b@example.org"], env=env
    )
    assert result.exit_code == 0, result.output
    assert oct(other.stat().st_mode & 0o777) == "0o600"


def _bounced_and_replied(project: Project, tmp_path: Path) -> Store:
    """Week 49 sent to the sample list, a hard bounce for ADDRESS processed from a real
    DSN, and a server reply quoting the address in the outbox."""
    edition, store = setup(project)
    pipeline.send(edition, store, FileTransport(project.root / "outbox"), options=FAST)
    found = store.subscriber_by_email(ADDRESS)
    assert found is not None
    [row] = [r for r in store.deliveries("2025-W49") if r.subscriber_id == found.id]
    dsn = (FIXTURES / "bounces" / "dsn-hard.eml").read_bytes()
    dsn = dsn.replace(b"<2025-W49.4.25795695c94a7f97@example.org>", row.message_id.encode())
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add(dsn)
    box.close()
    result = run(project, "bounces", "process", str(tmp_path / "bounces.mbox"))
    assert result.exit_code == 0, result.output
    store.mark("2025-W49", found.id, "sent", row.message_id, f"250 2.0.0 <{ADDRESS}> queued")
    events = store.db.execute("SELECT email, detail FROM bounce_events").fetchall()
    assert [e["email"] for e in events] == [ADDRESS]
    return store


def _raw(path: Path) -> bytes:
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return b"".join(f.read_bytes() for f in files if f.exists())


@pytest.mark.sqlite_only
def test_erase_leaves_the_address_in_no_byte_of_the_database(
    project: Project, tmp_path: Path
) -> None:
    path = project.settings().store.path
    store = _bounced_and_replied(project, tmp_path)
    # Another connection stays open (a served site), so the WAL is not just deleted.
    reader = sqlite3.connect(path)
    reader.execute("SELECT COUNT(*) FROM subscribers").fetchone()
    try:
        assert ADDRESS.encode() in _raw(path)
        result = run(project, "subscribers", "remove", "--erase", ADDRESS.upper())
        assert result.exit_code == 0, result.output
        raw = _raw(path).lower()
        assert ADDRESS.encode() not in raw
        assert b"p.novak" not in raw and b"petra novak" not in raw
        # The rest of the list is still there, and the outbox row keeps its outcome.
        assert b"marc.olivier@example.fr" in raw
        assert store.counts("2025-W49").get("sent") == 7
    finally:
        reader.close()
        store.close()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("how", ["erase me", "cli"])
def test_erase_after_the_subscribe_form_leaves_no_rate_limit_row(
    project: Project, how: str
) -> None:
    """The form's one-mail-per-address limit is a row of its own: erasure removes it
    too, so the address is in no byte of the files (nor of a later `store copy`)."""
    settings = project.settings()
    path = settings.store.path
    signed_up = "Camille.Rate@example.net"
    with running(create_app(settings)) as base:
        visitor = Browser(base)
        form = visitor.get("/subscribe")
        data = {"csrf_token": form.csrf(), "email": signed_up, "name": "Camille"}
        assert visitor.post("/subscribe", data).status == 200
        [mail] = mails_to(project.root / "outbox", signed_up)
        confirm = path_of(link(text_of(mail), "confirm"))
        shown = visitor.get(confirm)
        done = visitor.post(confirm, {"csrf_token": shown.csrf()})
        assert done.status == 200
        preferences = path_of(link(done.body, "preferences"))
        # Another connection stays open (a served site), so the WAL is not just deleted.
        reader = sqlite3.connect(path)
        reader.execute("SELECT COUNT(*) FROM subscribers").fetchone()
        try:
            assert signed_up.lower().encode() in _raw(path).lower()
            if how == "cli":
                result = run(project, "subscribers", "remove", "--erase", signed_up)
                assert result.exit_code == 0, result.output
            else:
                page = visitor.get(preferences)
                erase = f"{preferences}/erase"
                asked = visitor.post(erase, {"csrf_token": page.csrf()})
                erased = visitor.post(erase, {"csrf_token": asked.csrf(), "confirmed": "yes"})
                assert erased.status == 200
            raw = _raw(path).lower()
            assert signed_up.lower().encode() not in raw and b"camille" not in raw
        finally:
            reader.close()
    with open_store(settings) as store:
        keys = [row[0] for row in store.db.execute("SELECT key FROM rate_limits")]
    assert not [key for key in keys if key.startswith("mail:")]


def test_ids_are_never_reused(project: Project) -> None:
    path = project.settings().store.path
    with Store(path) as store:
        for name in ("one", "two"):
            reader = Subscriber(f"{name}@example.org", "", "fr", frozenset())
            store.upsert_subscribers([reader], "t")
        two = store.record_by_email("two@example.org")
        assert two is not None
        store.erase(two.subscriber.id)
        store.import_records([SubscriberRecord(Subscriber("new@example.org", "", "fr",
                                                          frozenset()))])  # fmt: skip
        stranger = store.record_by_email("new@example.org")
    assert stranger is not None and stranger.subscriber.id == two.subscriber.id + 1


def test_migration_starts_ids_above_every_id_ever_used(tmp_path: Path) -> None:
    """A store made before AUTOINCREMENT whose highest subscriber was erased: the id
    lives on in the outbox, so the upgraded store starts after it."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[:3]:
        for statement in step.sqlite.split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute("PRAGMA user_version = 3")
    db.execute("INSERT INTO subscribers (id, email, language, created_at) "
               "VALUES (1, 'kept@example.org', 'fr', 'x')")  # fmt: skip
    db.execute("INSERT INTO issues (key, number, volume, created_at) VALUES ('w', 1, 1, 'x')")
    db.execute("INSERT INTO deliveries (issue_key, subscriber_id, email, updated_at) "
               "VALUES ('w', 7, '', 'x')")  # fmt: skip
    db.close()
    with Store(path) as store:
        assert [s.email for s in store.subscribers()] == ["kept@example.org"]
        store.upsert_subscribers([Subscriber("new@example.org", "", "fr", frozenset())], "t")
        new = store.subscriber_by_email("new@example.org")
    assert new is not None and new.id == 8


def test_a_frozen_row_of_an_erased_subscriber_is_never_delivered(project: Project) -> None:
    edition, store = setup(project)
    key = edition.issue.key
    everyone = [(s, pipeline.variant_of(s, project.settings()).label) for s in store.subscribers()]
    assert store.freeze_issue(key, edition.issue.number, edition.issue.volume, everyone)
    erased = max(store.subscribers(), key=lambda s: s.id)  # the highest id: reused before
    store.erase(erased.id)
    store.upsert_subscribers([Subscriber("stranger@example.org", "", "fr", frozenset())], "t")
    outbox = project.root / "outbox"
    summary = pipeline.send(edition, store, FileTransport(outbox), options=FAST)
    assert summary.sent == len(everyone) - 1
    sent_to = b"".join(p.read_bytes() for p in outbox.glob("*.eml"))
    assert b"stranger@example.org" not in sent_to and erased.email.encode() not in sent_to
    assert store.counts(key) == {"sent": len(everyone) - 1, "skipped": 1}
    store.close()
