"""SQLite storage: subscribers, issues and the per-recipient delivery outbox.

One file, WAL mode, schema versioned by `PRAGMA user_version`; each migration runs in a
transaction so a store is never left half-upgraded. The outbox rows are the send's
memory: a row is committed the moment the server accepts its message, so a crash
re-sends at most the message that was in flight.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from digest.errors import DigestError
from digest.models import Subscriber

STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL DEFAULT '',
        language TEXT NOT NULL,
        themes TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('pending','active','unsubscribed','bounced','complained')),
        created_at TEXT NOT NULL,
        confirmed_at TEXT,
        unsubscribed_at TEXT,
        consent_source TEXT NOT NULL DEFAULT '',
        attributes TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE issues (
        key TEXT PRIMARY KEY,
        number INTEGER NOT NULL,
        volume INTEGER NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        completed_at TEXT
    );
    CREATE TABLE deliveries (
        issue_key TEXT NOT NULL REFERENCES issues(key),
        subscriber_id INTEGER NOT NULL,
        email TEXT NOT NULL,
        variant TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending','sent','failed','skipped')),
        message_id TEXT NOT NULL DEFAULT '',
        reply TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (issue_key, subscriber_id)
    );
    CREATE INDEX deliveries_status ON deliveries(issue_key, status);
    """,
    # entries: feed cache for conditional requests, and feed items published once, ever
    """
    CREATE TABLE feed_cache (
        url TEXT PRIMARY KEY,
        etag TEXT NOT NULL DEFAULT '',
        last_modified TEXT NOT NULL DEFAULT '',
        body BLOB NOT NULL,
        fetched_at TEXT NOT NULL
    );
    CREATE TABLE feed_items (
        key TEXT PRIMARY KEY,
        issue_key TEXT NOT NULL,
        feed TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        recorded_at TEXT NOT NULL
    );
    """,
)


@dataclass(frozen=True)
class DeliveryRow:
    issue_key: str
    subscriber_id: int
    email: str
    status: str
    message_id: str
    reply: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Store:
    """A connection to the store file; create one per process or thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA busy_timeout=30000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise DigestError(f"{path}: cannot open the store: {exc}") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise DigestError(
                f"{self.path}: store schema v{version} is newer than this digest "
                f"(v{len(MIGRATIONS)}): upgrade digest"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as db:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    # -- subscribers -------------------------------------------------------------

    def upsert_subscribers(self, subscribers: Iterable[Subscriber], source: str) -> int:
        """Insert or update by address (case-insensitive), all in one transaction."""
        count = 0
        now = _now()
        with self.transaction() as db:
            for sub in subscribers:
                db.execute(
                    """
                    INSERT INTO subscribers
                        (email, name, language, themes, status, created_at, confirmed_at,
                         consent_source)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(email) DO UPDATE SET
                        name=excluded.name, language=excluded.language, themes=excluded.themes
                    """,
                    (sub.email, sub.name, sub.language, "|".join(sorted(sub.themes)),
                     sub.status, now, now if sub.status == "active" else None, source),
                )  # fmt: skip
                count += 1
        return count

    def subscribers(self, status: str | None = None) -> list[Subscriber]:
        query = "SELECT * FROM subscribers"
        args: tuple[str, ...] = ()
        if status:
            query += " WHERE status = ?"
            args = (status,)
        return [_subscriber(row) for row in self.db.execute(query + " ORDER BY id", args)]

    def subscriber(self, subscriber_id: int) -> Subscriber | None:
        row = self.db.execute("SELECT * FROM subscribers WHERE id = ?", (subscriber_id,))
        found = row.fetchone()
        return _subscriber(found) if found else None

    # -- issues and outbox -------------------------------------------------------

    def freeze_issue(
        self,
        key: str,
        number: int,
        volume: int,
        recipients: Iterable[tuple[Subscriber, str]],
    ) -> bool:
        """Record the issue and one pending row per (subscriber, variant) once.

        Returns True when this call created the issue. A second call for the same
        issue adds nobody: the recipient list is frozen when the send first starts.
        """
        now = _now()
        with self.transaction() as db:
            created = db.execute(
                "INSERT OR IGNORE INTO issues (key, number, volume, created_at) VALUES (?,?,?,?)",
                (key, number, volume, now),
            ).rowcount
            if created:
                db.executemany(
                    """INSERT INTO deliveries (issue_key, subscriber_id, email, variant, updated_at)
                       VALUES (?, ?, ?, ?, ?)""",
                    [(key, s.id, s.email, variant, now) for s, variant in recipients],
                )
        return bool(created)

    def pending(self, key: str) -> list[DeliveryRow]:
        rows = self.db.execute(
            "SELECT * FROM deliveries WHERE issue_key = ? AND status = 'pending' "
            "ORDER BY subscriber_id",
            (key,),
        )
        return [_delivery(row) for row in rows]

    def mark(self, key: str, subscriber_id: int, status: str, message_id: str, reply: str) -> None:
        """Commit one recipient's outcome at once (autocommit), before the next send."""
        self.db.execute(
            """UPDATE deliveries SET status = ?, message_id = ?, reply = ?,
                   attempts = attempts + 1, updated_at = ?
               WHERE issue_key = ? AND subscriber_id = ?""",
            (status, message_id, reply[:500], _now(), key, subscriber_id),
        )

    def complete_issue(self, key: str) -> None:
        self.db.execute(
            "UPDATE issues SET completed_at = ? WHERE key = ? AND completed_at IS NULL",
            (_now(), key),
        )

    def counts(self, key: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT status, COUNT(*) FROM deliveries WHERE issue_key = ? GROUP BY status", (key,)
        )
        return {status: count for status, count in rows}

    # -- schedule: has this period's issue started, or finished? -----------------

    def issue_times(self, key: str) -> tuple[str, str | None] | None:
        """(created_at, completed_at) of an issue; None when its send never started."""
        row = self.db.execute(
            "SELECT created_at, completed_at FROM issues WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else (row["created_at"], row["completed_at"])

    # -- entries: feed cache and feed items published once ---------------------------

    def feed_cache(self, url: str) -> FeedCacheRow | None:
        row = self.db.execute("SELECT * FROM feed_cache WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        return FeedCacheRow(row["etag"], row["last_modified"], bytes(row["body"]))

    def save_feed_cache(self, url: str, etag: str, last_modified: str, body: bytes) -> None:
        self.db.execute(
            """INSERT INTO feed_cache (url, etag, last_modified, body, fetched_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(url) DO UPDATE SET etag=excluded.etag,
                   last_modified=excluded.last_modified, body=excluded.body,
                   fetched_at=excluded.fetched_at""",
            (url, etag, last_modified, body, _now()),
        )

    def published_feed_items(self) -> dict[str, str]:
        """Feed item key -> the issue it went out in."""
        rows = self.db.execute("SELECT key, issue_key FROM feed_items")
        return {key: issue_key for key, issue_key in rows}

    def record_feed_items(self, issue_key: str, items: Iterable[tuple[str, str, str]]) -> int:
        """Record (key, feed, title) as published in `issue_key`; the first issue wins."""
        now = _now()
        with self.transaction() as db:
            return sum(
                db.execute(
                    """INSERT OR IGNORE INTO feed_items (key, issue_key, feed, title, recorded_at)
                       VALUES (?, ?, ?, ?, ?)""",
                    (key, issue_key, feed, title, now),
                ).rowcount
                for key, feed, title in items
            )


@dataclass(frozen=True)
class FeedCacheRow:
    etag: str
    last_modified: str
    body: bytes


def _subscriber(row: sqlite3.Row) -> Subscriber:
    return Subscriber(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        language=row["language"],
        themes=frozenset(t for t in row["themes"].split("|") if t),
        status=row["status"],
    )


def _delivery(row: sqlite3.Row) -> DeliveryRow:
    return DeliveryRow(
        issue_key=row["issue_key"],
        subscriber_id=row["subscriber_id"],
        email=row["email"],
        status=row["status"],
        message_id=row["message_id"],
        reply=row["reply"],
    )


def attributes_json(attributes: dict[str, str]) -> str:
    return json.dumps(attributes, ensure_ascii=False, sort_keys=True)
