"""Shared fixtures: a throwaway project on disk, and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from digest.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Project:
    root: Path
    environ: dict[str, str] = field(default_factory=dict)
    """Variables every settings() sees (the store password when on PostgreSQL)."""

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    def settings(self, **environ: str) -> Settings:
        return load_settings(self.config, {**self.environ, **environ})

    def write_entry(self, name: str, text: str) -> Path:
        path = self.root / "briefings" / name
        path.write_text(text, encoding="utf-8")
        return path


ON_POSTGRES = os.environ.get("DIGEST_TEST_STORE", "") == "postgresql"
"""`DIGEST_TEST_STORE=postgresql pytest`: the whole suite with every project's store on
PostgreSQL (a fresh database per test); tests about the SQLite file itself are marked
`sqlite_only` and skipped then."""


@pytest.fixture
def project(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Project:
    """The repository's config and templates with the test briefings, in a temp folder."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "config.toml", root / "config.toml")
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(FIXTURES / "briefings", root / "briefings")
    (root / "subscribers").mkdir()
    shutil.copy(REPO / "subscribers" / "sample.csv", root / "subscribers" / "sample.csv")
    if not ON_POSTGRES:
        return Project(root)
    database: PgDatabase = request.getfixturevalue("pg_database")
    config = root / "config.toml"
    text = config.read_text(encoding="utf-8")
    default = 'url = "sqlite:///subscribers/digest.db"'
    assert default in text
    config.write_text(text.replace(default, f'url = "{database.url}"'), encoding="utf-8")
    # A killed sender's rows wait out its lease before a rerun takes them (2 min by
    # default): short here, so the kill-and-resume tests do not wait for it.
    environ = {"DIGEST_STORE_PASSWORD": database.password, "DIGEST_DELIVERY_LEASE_SECONDS": "3"}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)  # the CLI and subprocesses see them too
    return Project(root, environ)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="about the SQLite store itself (DIGEST_TEST_STORE=postgresql)")
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    """Stores every message; `replies` lets a test make the server answer 4xx/5xx."""

    received: list[Received] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            if self.replies:
                return self.replies.pop(0)
            content = envelope.original_content or b""
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
            )
        return "250 2.0.0 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler
    controller: Controller | None = None


@contextmanager
def smtp_serving(handler: RecordingHandler, port: int = 0, **options: Any) -> Iterator[SmtpServer]:
    """A real aiosmtpd server on 127.0.0.1 (on `port`, else a free one) with `handler`
    (and aiosmtpd `options`: TLS, authentication) for the duration of the block."""
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler, controller)
    finally:
        controller.stop()


@dataclass
class SlowHandler(RecordingHandler):
    """Takes `delay` seconds in DATA, so a send is still running when it is poked,
    interrupted or killed."""

    delay: float = 0.1

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real aiosmtpd server on 127.0.0.1, plain SMTP, recording what it accepts."""
    with smtp_serving(RecordingHandler()) as server:
        yield server


# -- PostgreSQL: one throwaway cluster per test session, a fresh database per test ------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """The session's PostgreSQL cluster; skips the test without PostgreSQL (fails instead
    when DIGEST_REQUIRE_POSTGRES=1, as in CI)."""
    from tests import pgcluster

    with pgcluster.cluster() as found:
        yield found


_databases = iter(range(1, 1_000_000))


@dataclass
class PgDatabase:
    url: str
    password: str

    def environ(self) -> dict[str, str]:
        """What a `digest` process needs to use this database as its store."""
        return {"DIGEST_STORE_URL": self.url, "DIGEST_STORE_PASSWORD": self.password}


@pytest.fixture
def pg_database(pg_cluster: Any) -> Iterator[PgDatabase]:
    if pg_cluster is None:
        pytest.skip("PostgreSQL is not installed (DIGEST_REQUIRE_POSTGRES=1 makes this fail)")
    name = f"digest_test_{next(_databases)}"
    url = pg_cluster.create_database(name)
    try:
        yield PgDatabase(url, pg_cluster.password)
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Where a store under test lives: a SQLite file, then a PostgreSQL database."""
    from digest.store import Target
    from digest.store.engine import sqlite_target

    if request.param == "sqlite":
        return sqlite_target(tmp_path / "store.db")
    database: PgDatabase = request.getfixturevalue("pg_database")
    return Target(database.url, password=database.password)
