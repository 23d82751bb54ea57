"""SQLite storage: subscribers, issues and the per-recipient delivery outbox.

One file, WAL mode, schema versioned by `PRAGMA user_version`; each migration runs in a
transaction so a store is never left half-upgraded. The outbox rows are the send's
memory: a row is committed the moment the server accepts its message, so a crash
re-sends at most the message that was in flight.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.consent import OPTED_OUT, keeps_out, may_change_status, suppression_hash
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
    # delivery: bounce counters, a bounce/complaint log (idempotent by fingerprint),
    # and the lookup of a returned message by its Message-ID.
    """
    ALTER TABLE subscribers ADD COLUMN hard_bounces INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE subscribers ADD COLUMN soft_bounces INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE bounce_events (
        id INTEGER PRIMARY KEY,
        subscriber_id INTEGER,
        email TEXT NOT NULL,
        issue_key TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL CHECK (kind IN ('hard','soft','complaint')),
        detail TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        fingerprint TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE INDEX deliveries_message_id ON deliveries(message_id);
    CREATE INDEX deliveries_sent_at ON deliveries(status, updated_at);
    """,
    # consent: the suppression list. An erased address is remembered only as a keyed
    # hash (digest.consent.suppression_hash) under a random key made once per store.
    """
    CREATE TABLE store_keys (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );
    INSERT INTO store_keys (name, value) VALUES ('suppression', randomblob(32));
    CREATE TABLE suppressions (
        address_hash TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # subscriber ids are never reused (AUTOINCREMENT): an outbox row or a delivery
    # history frozen for an erased subscriber can never pass to a newcomer. The
    # sequence starts above every id the outbox and the bounce log ever saw.
    """
    CREATE TABLE subscribers_v5 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
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
        attributes TEXT NOT NULL DEFAULT '{}',
        hard_bounces INTEGER NOT NULL DEFAULT 0,
        soft_bounces INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO subscribers_v5 (id, email, name, language, themes, status, created_at,
        confirmed_at, unsubscribed_at, consent_source, attributes, hard_bounces, soft_bounces)
    SELECT id, email, name, language, themes, status, created_at, confirmed_at,
        unsubscribed_at, consent_source, attributes, hard_bounces, soft_bounces
    FROM subscribers;
    DROP TABLE subscribers;
    ALTER TABLE subscribers_v5 RENAME TO subscribers;
    DELETE FROM sqlite_sequence WHERE name IN ('subscribers', 'subscribers_v5');
    INSERT INTO sqlite_sequence (name, seq)
    SELECT 'subscribers', COALESCE(MAX(used), 0) FROM (
        SELECT MAX(id) AS used FROM subscribers
        UNION ALL SELECT MAX(subscriber_id) FROM deliveries
        UNION ALL SELECT MAX(subscriber_id) FROM bounce_events
    );
    """,
    # status: bounced and complained per issue, counted from the event log
    """
    CREATE INDEX bounce_events_issue ON bounce_events(issue_key, kind);
    CREATE INDEX bounce_events_subscriber ON bounce_events(subscriber_id, kind);
    """,
    # archive: each variant of an issue as it was sent, once, with neutral values in the
    # per-reader places; html and text are zlib-compressed UTF-8.
    """
    CREATE TABLE archived_variants (
        issue_key TEXT NOT NULL REFERENCES issues(key),
        variant TEXT NOT NULL,
        language TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        summary TEXT NOT NULL DEFAULT '',
        html BLOB NOT NULL,
        text BLOB NOT NULL,
        archived_at TEXT NOT NULL,
        PRIMARY KEY (issue_key, variant)
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


def create_private(path: Path) -> None:
    """Create the store file readable by its owner only (0600), before SQLite opens it.

    It holds every subscriber's address. SQLite gives the -wal and -shm files it makes
    next to it the database file's own mode, so those are 0600 too. An existing file
    keeps the mode its operator gave it.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class Store:
    """A connection to the store file; create one per process or thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            create_private(path)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            # Deleted rows are overwritten with zeros, not left in free pages: an erased
            # address must not survive in the file's bytes.
            self.db.execute("PRAGMA secure_delete=ON")
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
                    ((key, s.id, s.email, variant, now) for s, variant in recipients),
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

    # -- subscribers: records, preferences, erasure (issue 5) ----------------------

    def record(self, subscriber_id: int) -> SubscriberRecord | None:
        row = self.db.execute("SELECT * FROM subscribers WHERE id = ?", (subscriber_id,))
        found = row.fetchone()
        return _record(found) if found else None

    def record_by_email(self, email: str) -> SubscriberRecord | None:
        row = self.db.execute("SELECT * FROM subscribers WHERE email = ?", (email,))
        found = row.fetchone()
        return _record(found) if found else None

    def records(self, status: str | None = None) -> list[SubscriberRecord]:
        query = "SELECT * FROM subscribers"
        args: tuple[str, ...] = ()
        if status:
            query, args = query + " WHERE status = ?", (status,)
        return [_record(row) for row in self.db.execute(query + " ORDER BY id", args)]

    def import_records(self, records: Iterable[SubscriberRecord]) -> ImportCounts:
        """Insert or update by address, all in one transaction (all-or-nothing).

        Fields a record leaves as None keep the stored value. An import never turns an
        address the store has as unsubscribed or complained back into a recipient: that
        person said no, and an old list must not override it.
        """
        counts = ImportCounts()
        now = _now()
        with self.transaction() as db:
            for rec in records:
                sub = rec.subscriber
                found = db.execute(
                    "SELECT * FROM subscribers WHERE email = ?", (sub.email,)
                ).fetchone()
                themes = "|".join(sorted(sub.themes))
                attributes = attributes_json(rec.attributes)
                suppressed = self._suppressed(db, sub.email)
                if found is None and suppressed:
                    counts.kept_out += 1  # erased: no old list brings the row back
                    continue
                if found is None:
                    status = rec.status or "active"
                    db.execute(
                        """INSERT INTO subscribers (email, name, language, themes, status,
                               created_at, confirmed_at, unsubscribed_at, consent_source,
                               attributes)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        (sub.email, sub.name, sub.language, themes, status,
                         rec.created_at or now,
                         rec.confirmed_at or (now if status == "active" else None),
                         rec.unsubscribed_at, rec.consent_source, attributes),
                    )  # fmt: skip
                    counts.added += 1
                    continue
                status = rec.status or found["status"]
                kept_out = keeps_out(found["status"], suppressed) or not may_change_status(
                    found["status"], status, by_confirmation=False
                )
                merged = {**json.loads(found["attributes"] or "{}"), **rec.attributes}
                given = rec.given
                if given is not None:
                    themes = themes if "themes" in given else found["themes"]
                name = sub.name if given is None or "name" in given else found["name"]
                language = (
                    sub.language if given is None or "language" in given else found["language"]
                )
                values = (name, language, themes, status,
                          rec.created_at or found["created_at"],
                          rec.confirmed_at or found["confirmed_at"],
                          rec.unsubscribed_at or found["unsubscribed_at"],
                          rec.consent_source or found["consent_source"],
                          attributes_json(merged))  # fmt: skip
                if values == tuple(found[c] for c in _IMPORTED_COLUMNS):
                    counts.unchanged += 1  # a re-import of the same list says so
                    continue
                if kept_out:  # status, name and choices stay as that person left them
                    counts.kept_out += 1
                    continue
                db.execute(
                    """UPDATE subscribers SET name = ?, language = ?, themes = ?, status = ?,
                           created_at = ?, confirmed_at = ?, unsubscribed_at = ?,
                           consent_source = ?, attributes = ?
                       WHERE id = ?""",
                    (*values, found["id"]),
                )
                counts.updated += 1
        return counts

    def add_pending(self, subscriber: Subscriber, consent_source: str) -> SubscriberRecord:
        """Record a sign-up awaiting confirmation, or refresh one; returns the stored row.

        An active subscriber is left as is (the form must not let a stranger change
        someone's preferences), and so is an address that opted out (`consent.keeps_out`):
        only that person's confirmation click brings it back. A new address, or one still
        pending, becomes pending with the new choices. An erased address gets a new
        pending row, which stays suppressed until confirmed.
        """
        now = _now()
        with self.transaction() as db:
            found = db.execute(
                "SELECT * FROM subscribers WHERE email = ?", (subscriber.email,)
            ).fetchone()
            themes = "|".join(sorted(subscriber.themes))
            if found is None:
                db.execute(
                    """INSERT INTO subscribers (email, name, language, themes, status,
                           created_at, consent_source)
                       VALUES (?, ?, ?, ?, 'pending', ?, ?)""",
                    (subscriber.email, subscriber.name, subscriber.language, themes, now,
                     consent_source),
                )  # fmt: skip
            elif found["status"] != "active" and not keeps_out(
                found["status"], self._suppressed(db, subscriber.email)
            ):
                db.execute(
                    """UPDATE subscribers SET name = ?, language = ?, themes = ?,
                           status = 'pending', consent_source = ? WHERE id = ?""",
                    (subscriber.name, subscriber.language, themes, consent_source,
                     found["id"]),
                )  # fmt: skip
            row = db.execute(
                "SELECT * FROM subscribers WHERE email = ?", (subscriber.email,)
            ).fetchone()
        return _record(row)

    def confirm(self, subscriber_id: int, from_status: str = "pending") -> bool:
        """`from_status` -> active: the person's own double opt-in click.

        `from_status` is the status the confirmation link was sent for: pending for a
        sign-up, or the opted-out status of someone coming back, so an old link cannot
        undo a later opt-out. Lifts the address off the suppression list. True if it
        changed; confirming twice is a no-op.
        """
        if from_status != "pending" and from_status not in OPTED_OUT:
            return False
        if not may_change_status(from_status, "active", by_confirmation=True):
            return False  # pragma: no cover - a confirmation may always
        with self.transaction() as db:
            changed = db.execute(
                """UPDATE subscribers SET status = 'active', confirmed_at = ?,
                       unsubscribed_at = NULL, hard_bounces = 0, soft_bounces = 0
                   WHERE id = ? AND status = ?""",
                (_now(), subscriber_id, from_status),
            ).rowcount
            if changed:
                row = db.execute("SELECT email FROM subscribers WHERE id = ?", (subscriber_id,))
                self._lift_suppression(db, row.fetchone()[0])
        return bool(changed)

    # -- consent: the suppression list (keyed hashes of erased addresses) -----------

    def _suppression_key(self, db: sqlite3.Connection) -> bytes:
        row = db.execute("SELECT value FROM store_keys WHERE name = 'suppression'").fetchone()
        return bytes(row[0])

    def _suppressed(self, db: sqlite3.Connection, email: str) -> bool:
        digest = suppression_hash(self._suppression_key(db), email)
        found = db.execute("SELECT 1 FROM suppressions WHERE address_hash = ?", (digest,))
        return found.fetchone() is not None

    def _suppress(self, db: sqlite3.Connection, email: str, reason: str) -> None:
        db.execute(
            "INSERT OR IGNORE INTO suppressions (address_hash, reason, created_at) "
            "VALUES (?, ?, ?)",
            (suppression_hash(self._suppression_key(db), email), reason, _now()),
        )

    def _lift_suppression(self, db: sqlite3.Connection, email: str) -> None:
        digest = suppression_hash(self._suppression_key(db), email)
        db.execute("DELETE FROM suppressions WHERE address_hash = ?", (digest,))

    def is_suppressed(self, email: str) -> bool:
        """Whether an erased address is on the suppression list (no confirmation since)."""
        return self._suppressed(self.db, email)

    def unsubscribe(self, subscriber_id: int) -> bool:
        changed = self.db.execute(
            """UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?
               WHERE id = ? AND status != 'unsubscribed'""",
            (_now(), subscriber_id),
        ).rowcount
        return bool(changed)

    def set_preferences(self, subscriber_id: int, language: str, themes: frozenset[str]) -> None:
        self.db.execute(
            "UPDATE subscribers SET language = ?, themes = ? WHERE id = ?",
            (language, "|".join(sorted(themes)), subscriber_id),
        )

    def erase(self, subscriber_id: int) -> bool:
        """Delete the subscriber and blank their address in the outbox (right to erasure).

        The address goes onto the suppression list as a keyed hash, so no old list
        re-adds it: only the person's own confirmed sign-up does.
        """
        with self.transaction() as db:
            found = db.execute(
                "SELECT email, status FROM subscribers WHERE id = ?", (subscriber_id,)
            ).fetchone()
            if found is None:
                return False
            email, status = found
            self._suppress(db, email, status if status in OPTED_OUT else "erased")
            self._scrub_address(db, subscriber_id, email)
            db.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,))
        self._checkpoint()
        return True

    def _scrub_address(self, db: sqlite3.Connection, subscriber_id: int, email: str) -> None:
        """Remove an address from every column that can hold it, for an erasure.

        The outbox keeps each row (the send's counts stay right) without address or
        server reply (a reply often quotes the address); a frozen row still pending is
        skipped, never sent. The bounce log loses the person's events entirely.
        """
        db.execute(
            """UPDATE deliveries SET email = '', reply = '',
                   status = CASE WHEN status = 'pending' THEN 'skipped' ELSE status END
               WHERE subscriber_id = ?""",
            (subscriber_id,),
        )
        db.execute(
            "DELETE FROM bounce_events WHERE subscriber_id = ? OR email = ? COLLATE NOCASE",
            (subscriber_id, email),
        )

    def _checkpoint(self) -> None:
        """Fold the write-ahead log into the file and empty it: the WAL still holds the
        pages as they were before an erasure. A reader holding a snapshot may keep this
        from finishing; the next checkpoint then overwrites those frames."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def deliveries_of(self, subscriber_id: int) -> list[dict[str, str]]:
        """What was sent to one subscriber, for their data download."""
        rows = self.db.execute(
            "SELECT issue_key, status, updated_at FROM deliveries WHERE subscriber_id = ? "
            "ORDER BY issue_key",
            (subscriber_id,),
        )
        return [dict(row) for row in rows]

    def sent_issues(self) -> list[SentIssue]:
        """Issues whose send has completed, newest first: the public archive."""
        rows = self.db.execute(
            "SELECT * FROM issues WHERE completed_at IS NOT NULL ORDER BY key DESC"
        )
        return [
            SentIssue(row["key"], row["number"], row["volume"], row["subject"],
                      row["completed_at"])
            for row in rows
        ]  # fmt: skip

    # -- archive: each sent variant, stored once (issue 15) ----------------------

    def archive_variant(self, copy: ArchivedVariant) -> bool:
        """Keep `copy` as the archived form of its variant; the first copy wins.

        Returns True when this call stored it. A resumed send, or a send after the
        entries were edited, never replaces what went out first.
        """
        stored = self.db.execute(
            """INSERT OR IGNORE INTO archived_variants (issue_key, variant, language, subject,
                   summary, html, text, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (copy.issue_key, copy.variant, copy.language, copy.subject, copy.summary,
             _pack(copy.html), _pack(copy.text), _now()),
        ).rowcount  # fmt: skip
        return bool(stored)

    def archived_variant(self, issue_key: str, variant: str) -> ArchivedVariant | None:
        """The stored copy of one variant (label as in Variant.label), or None."""
        row = self.db.execute(
            "SELECT * FROM archived_variants WHERE issue_key = ? AND variant = ?",
            (issue_key, variant),
        ).fetchone()
        return _archived(row) if row else None

    def archived_labels(self, issue_key: str) -> set[str]:
        """Labels of the variants of an issue that have a stored copy."""
        rows = self.db.execute(
            "SELECT variant FROM archived_variants WHERE issue_key = ?", (issue_key,)
        )
        return {label for (label,) in rows}

    def archived_issue_keys(self) -> set[str]:
        """Issues with at least one stored copy (their send has started)."""
        rows = self.db.execute("SELECT DISTINCT issue_key FROM archived_variants")
        return {key for (key,) in rows}

    # -- delivery: retries, bounces, status --------------------------------------

    def deliveries(self, key: str) -> list[DeliveryRow]:
        rows = self.db.execute(
            "SELECT * FROM deliveries WHERE issue_key = ? ORDER BY subscriber_id", (key,)
        )
        return [_delivery(row) for row in rows]

    def iter_subscribers(self, status: str) -> Iterator[Subscriber]:
        """Like subscribers(), one row at a time: freezing a long list stays small."""
        for row in self.db.execute("SELECT * FROM subscribers WHERE status = ? ORDER BY id",
                                   (status,)):  # fmt: skip
            yield _subscriber(row)

    def pending_with_subscribers(
        self, key: str, after: int, limit: int
    ) -> list[tuple[DeliveryRow, Subscriber | None]]:
        """Pending rows after subscriber id `after`, each with the subscriber as they are
        now (None if deleted, or if the row's address is no longer theirs): one query
        per page instead of one lookup per row."""
        rows = self.db.execute(
            """SELECT d.issue_key, d.subscriber_id, d.email AS d_email, d.status AS d_status,
                      d.message_id, d.reply, s.*
               FROM deliveries d
               LEFT JOIN subscribers s ON s.id = d.subscriber_id AND s.email = d.email
               WHERE d.issue_key = ? AND d.status = 'pending' AND d.subscriber_id > ?
               ORDER BY d.subscriber_id LIMIT ?""",
            (key, after, limit),
        )
        page: list[tuple[DeliveryRow, Subscriber | None]] = []
        for row in rows:
            delivery = DeliveryRow(
                issue_key=row["issue_key"],
                subscriber_id=row["subscriber_id"],
                email=row["d_email"],
                status=row["d_status"],
                message_id=row["message_id"],
                reply=row["reply"],
            )
            page.append((delivery, _subscriber(row) if row["id"] is not None else None))
        return page

    def note_attempt(self, key: str, subscriber_id: int, reason: str) -> None:
        """Record a failed try that leaves the row pending (a retry or a rerun follows)."""
        self.db.execute(
            """UPDATE deliveries SET reply = ?, attempts = attempts + 1, updated_at = ?
               WHERE issue_key = ? AND subscriber_id = ? AND status = 'pending'""",
            (reason[:500], _now(), key, subscriber_id),
        )

    def attempts(self, key: str, subscriber_id: int) -> int:
        row = self.db.execute(
            "SELECT attempts FROM deliveries WHERE issue_key = ? AND subscriber_id = ?",
            (key, subscriber_id),
        ).fetchone()
        return int(row[0]) if row else 0

    def sent_since(self, since: dt.datetime) -> list[dt.datetime]:
        """When each message accepted since `since` was accepted: seeds the hourly cap,
        so a rerun within the hour still counts what the last run sent."""
        rows = self.db.execute(
            "SELECT updated_at FROM deliveries WHERE status = 'sent' AND updated_at >= ?",
            (since.astimezone(dt.UTC).isoformat(timespec="seconds"),),
        )
        return sorted(dt.datetime.fromisoformat(r[0]) for r in rows)

    def delivery_by_message_id(self, message_id: str) -> DeliveryRow | None:
        row = self.db.execute(
            "SELECT * FROM deliveries WHERE message_id = ? LIMIT 1", (message_id,)
        ).fetchone()
        return _delivery(row) if row else None

    def subscriber_by_email(self, email: str) -> Subscriber | None:
        row = self.db.execute("SELECT * FROM subscribers WHERE email = ?", (email,)).fetchone()
        return _subscriber(row) if row else None

    def record_bounce(
        self,
        *,
        email: str,
        kind: str,
        fingerprint: str,
        subscriber_id: int | None = None,
        issue_key: str = "",
        detail: str = "",
        source: str = "",
        hard_limit: int = 1,
        soft_limit: int = 0,
        on_complaint: str = "complained",
    ) -> str | None:
        """Log one bounce or complaint once (by fingerprint) and apply the rules.

        Returns the subscriber's new status when this event changed it, else None.
        Everything happens in one transaction, so a crash never counts half an event.
        """
        now = _now()
        with self.transaction() as db:
            if subscriber_id is None:
                found = db.execute("SELECT id FROM subscribers WHERE email = ?", (email,))
                hit = found.fetchone()
                subscriber_id = int(hit[0]) if hit else None
            inserted = db.execute(
                """INSERT OR IGNORE INTO bounce_events (subscriber_id, email, issue_key, kind,
                       detail, source, fingerprint, created_at) VALUES (?,?,?,?,?,?,?,?)""",
                (subscriber_id, email, issue_key, kind, detail[:500], source, fingerprint, now),
            ).rowcount
            if not inserted or subscriber_id is None:
                return None
            if kind == "complaint":
                if on_complaint != "complained":
                    return None
                new_status = "complained"
            else:
                column = "hard_bounces" if kind == "hard" else "soft_bounces"
                if kind == "soft" and self._delivered_since_last_soft_bounce(
                    subscriber_id, issue_key
                ):
                    db.execute("UPDATE subscribers SET soft_bounces = 0 WHERE id = ?",
                               (subscriber_id,))  # fmt: skip
                db.execute(
                    f"UPDATE subscribers SET {column} = {column} + 1 WHERE id = ?",
                    (subscriber_id,),
                )
                row = db.execute(
                    "SELECT hard_bounces, soft_bounces FROM subscribers WHERE id = ?",
                    (subscriber_id,),
                ).fetchone()
                over_hard = row[0] >= hard_limit
                over_soft = soft_limit > 0 and row[1] >= soft_limit
                if not (over_hard or over_soft):
                    return None
                new_status = "bounced"
            changed = db.execute(
                "UPDATE subscribers SET status = ? WHERE id = ? AND status IN ('active','pending')",
                (new_status, subscriber_id),
            ).rowcount
        return new_status if changed else None

    def _delivered_since_last_soft_bounce(self, subscriber_id: int, issue_key: str) -> bool:
        """Did an issue between the subscriber's previous soft bounce and `issue_key` reach
        them (accepted, and no bounce or complaint came back for it)?

        Soft bounces count towards [bounces] soft_limit only while they are consecutive: a
        delivery that got through in between shows the mailbox works again, so the count
        restarts. Whether a delivery got through is only known once the next bounce comes
        (a DSN arrives hours or days after the server accepted the message), so the reset
        is applied here, when the next soft bounce is recorded. Issues are ordered by when
        their send started (the issues table's rowid).
        """
        if not issue_key:
            return False
        row = self.db.execute(
            """SELECT 1 FROM deliveries d JOIN issues i ON i.key = d.issue_key
               WHERE d.subscriber_id = :sid AND d.status = 'sent'
                 AND i.rowid < (SELECT rowid FROM issues WHERE key = :key)
                 AND i.rowid > COALESCE((
                     SELECT MAX(p.rowid) FROM bounce_events b JOIN issues p
                         ON p.key = b.issue_key
                     WHERE b.subscriber_id = :sid AND b.kind = 'soft' AND b.issue_key != :key
                 ), 0)
                 AND NOT EXISTS (SELECT 1 FROM bounce_events e
                                 WHERE e.subscriber_id = :sid AND e.issue_key = d.issue_key)
               LIMIT 1""",
            {"sid": subscriber_id, "key": issue_key},
        ).fetchone()
        return row is not None

    def bounce_counts_by_issue(self, keys: Iterable[str]) -> dict[str, dict[str, int]]:
        """Issue key -> {"bounced": n, "complained": n}: distinct recipients of that issue
        with a hard or soft bounce, and with a complaint, as `bounces process` logged them.

        A refusal during the SMTP dialogue (source 'smtp') is already counted as failed in
        the outbox, so it is left out here: bounced means accepted, then returned."""
        keys = list(keys)
        counts = {key: {"bounced": 0, "complained": 0} for key in keys}
        if not keys:
            return counts
        marks = ",".join("?" * len(keys))
        rows = self.db.execute(
            f"""SELECT issue_key,
                       COUNT(DISTINCT CASE WHEN kind != 'complaint' THEN email END),
                       COUNT(DISTINCT CASE WHEN kind = 'complaint' THEN email END)
                FROM bounce_events WHERE issue_key IN ({marks}) AND source != 'smtp'
                GROUP BY issue_key""",
            keys,
        )
        for key, bounced, complained in rows:
            counts[key] = {"bounced": int(bounced), "complained": int(complained)}
        return counts

    def bounce_counts(self, subscriber_id: int) -> tuple[int, int]:
        row = self.db.execute(
            "SELECT hard_bounces, soft_bounces FROM subscribers WHERE id = ?", (subscriber_id,)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def issue_statuses(self, limit: int = 10) -> list[dict[str, object]]:
        """The most recent issues with their outbox counts, newest first."""
        issues = self.db.execute(
            "SELECT key, number, volume, created_at, completed_at FROM issues "
            "ORDER BY created_at DESC, key DESC LIMIT ?",
            (limit,),
        ).fetchall()
        result: list[dict[str, object]] = []
        returned = self.bounce_counts_by_issue(issue["key"] for issue in issues)
        for issue in issues:
            counts = self.counts(issue["key"])
            result.append(
                {
                    "issue": issue["key"],
                    "number": issue["number"],
                    "volume": issue["volume"],
                    "started_at": issue["created_at"],
                    "completed_at": issue["completed_at"],
                    **{s: counts.get(s, 0) for s in ("sent", "failed", "pending", "skipped")},
                    **returned[issue["key"]],
                }
            )
        return result

    # -- review: counts and choices without loading every subscriber --------------

    def count_subscribers(self, status: str) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM subscribers WHERE status = ?", (status,))
        return int(row.fetchone()[0])

    def theme_choices(self, status: str = "active") -> set[frozenset[str]]:
        """The distinct theme sets subscribers chose (empty: all themes)."""
        rows = self.db.execute(
            "SELECT DISTINCT themes FROM subscribers WHERE status = ?", (status,)
        )
        return {frozenset(t for t in themes.split("|") if t) for (themes,) in rows}


@dataclass(frozen=True)
class ArchivedVariant:
    """One variant of an issue as sent, with neutral values where each reader had theirs."""

    issue_key: str
    variant: str
    """Variant.label, e.g. `fr:all` or `en:hybrid|ukraine`."""
    language: str
    subject: str
    summary: str
    """The preheader: one line saying what the issue holds (the Atom entry's summary)."""
    html: str
    text: str


def _pack(text: str) -> bytes:
    return zlib.compress(text.encode("utf-8"), 9)


def _archived(row: sqlite3.Row) -> ArchivedVariant:
    return ArchivedVariant(
        issue_key=row["issue_key"],
        variant=row["variant"],
        language=row["language"],
        subject=row["subject"],
        summary=row["summary"],
        html=zlib.decompress(row["html"]).decode("utf-8"),
        text=zlib.decompress(row["text"]).decode("utf-8"),
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


def attributes_json(attributes: dict[str, Any]) -> str:
    return json.dumps(attributes, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class SubscriberRecord:
    """A subscriber with the bookkeeping an import, an export or a data request needs.

    None in status or a timestamp means "not given" (an import keeps the stored value).
    """

    subscriber: Subscriber
    status: str | None = None
    created_at: str | None = None
    confirmed_at: str | None = None
    unsubscribed_at: str | None = None
    consent_source: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    given: frozenset[str] | None = None
    """Which of name, language, themes the source had; None: all. An update keeps the
    stored value of the others, so a file without a `themes` column wipes no choices."""


_IMPORTED_COLUMNS = ("name", "language", "themes", "status", "created_at", "confirmed_at",
                     "unsubscribed_at", "consent_source", "attributes")  # fmt: skip


@dataclass
class ImportCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_out: int = 0
    """Rows left alone: the address opted out or was erased (`consent.keeps_out`)."""


@dataclass(frozen=True)
class SentIssue:
    key: str
    number: int
    volume: int
    subject: str
    completed_at: str


def _record(row: sqlite3.Row) -> SubscriberRecord:
    return SubscriberRecord(
        subscriber=_subscriber(row),
        status=row["status"],
        created_at=row["created_at"],
        confirmed_at=row["confirmed_at"],
        unsubscribed_at=row["unsubscribed_at"],
        consent_source=row["consent_source"],
        attributes=json.loads(row["attributes"] or "{}"),
    )
