"""Feed items: the HTTP cache of each feed, the items published once, ever, and each
item's body as sanitized."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from digest.store.base import StoreBase, now_text

SANITIZED_KEEP = 5000
"""Rows of `sanitized_html` kept: a hundred feeds of fifty items, a few MB compressed."""
SANITIZED_DAYS = 60
"""A sanitized body unused this long belongs to an item no feed carries any more."""
SANITIZED_CHUNK = 500
"""Keys per lookup statement (SQLite's older builds allow 999 parameters)."""
SANITIZED_TOUCH = 86400.0
"""A row is marked used at most once a day, so reading the same feeds writes nothing."""
_SKIP_LOCKED = {"sqlite": "", "postgresql": "FOR UPDATE SKIP LOCKED"}
"""SQLite has one writer at a time and no row locks to skip."""


@dataclass(frozen=True)
class FeedCacheRow:
    """A row of `feed_cache`: validators and the last body of one feed URL."""

    etag: str
    last_modified: str
    body: bytes


class FeedQueries(StoreBase):
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
            (url, etag, last_modified, body, now_text()),
        )

    def published_feed_items(self) -> dict[str, str]:
        """Feed item key -> the issue it went out in."""
        rows = self.db.execute("SELECT key, issue_key FROM feed_items")
        return {row[0]: row[1] for row in rows}

    def record_feed_items(self, issue_key: str, items: Iterable[tuple[str, str, str]]) -> int:
        """Record (key, feed, title) as published in `issue_key`; the first issue wins."""
        now = now_text()
        with self.transaction() as db:
            return sum(
                db.execute(
                    """INSERT INTO feed_items (key, issue_key, feed, title, recorded_at)
                       VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
                    (key, issue_key, feed, title, now),
                ).rowcount
                for key, feed, title in items
            )

    def sanitized_html(self, version: str, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        """The stored (html, note) of those of `keys` sanitized under `version`.

        Rows last marked used over a day ago are marked used now, so pruning keeps what
        the feeds still carry while a read of a fresh feed writes nothing. The marking
        skips rows another connection holds (PostgreSQL: SKIP LOCKED): a cache is never
        worth a wait, let alone a deadlock between two hosts reading the same feed.
        """
        db = self.db
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(keys), SANITIZED_CHUNK):
            chunk = list(keys[start : start + SANITIZED_CHUNK])
            marks = ", ".join("?" * len(chunk))
            rows = db.execute(
                f"""SELECT key, html, note, last_used < {db.NOW} - ? FROM sanitized_html
                    WHERE version = ? AND key IN ({marks})""",
                (SANITIZED_TOUCH, version, *chunk),
            ).fetchall()
            stale = [row[0] for row in rows if row[3]]
            for row in rows:
                found[row[0]] = (zlib.decompress(bytes(row[1])).decode("utf-8"), row[2])
            if stale:
                db.execute(
                    f"""UPDATE sanitized_html SET last_used = {db.NOW}
                        WHERE (key, version) IN (SELECT key, version FROM sanitized_html
                            WHERE version = ? AND key IN ({", ".join("?" * len(stale))})
                            {_SKIP_LOCKED[db.name]})""",
                    (version, *stale),
                )
        return found

    def save_sanitized_html(self, version: str, results: Mapping[str, tuple[str, str]]) -> None:
        """Keep `results` (hex SHA-256 of a raw body -> html, note) as made by `version`,
        then prune the table to its bound. Rows are written in key order, so two hosts
        saving the same items wait for each other rather than deadlock."""
        db = self.db
        rows = [(key, version, zlib.compress(html.encode("utf-8"), 6), note)
                for key, (html, note) in sorted(results.items())]  # fmt: skip
        with self.transaction():
            db.executemany(
                f"""INSERT INTO sanitized_html (key, version, html, note, last_used)
                    VALUES (?, ?, ?, ?, {db.NOW})
                    ON CONFLICT (key, version) DO UPDATE SET html = excluded.html,
                        note = excluded.note, last_used = excluded.last_used""",
                rows,
            )
            self.prune_sanitized_html(SANITIZED_KEEP, SANITIZED_DAYS)

    def prune_sanitized_html(self, keep: int = SANITIZED_KEEP, days: float = SANITIZED_DAYS) -> int:
        """Drop sanitized bodies unused for `days`, and all but the `keep` used last; the
        count dropped. Rows of an older sanitizer version are never used again, so they
        are the first to go. Rows another connection holds are left for a later prune."""
        db = self.db
        return int(
            db.execute(
                f"""DELETE FROM sanitized_html WHERE (key, version) IN (
                        SELECT key, version FROM sanitized_html
                        WHERE last_used < {db.NOW} - ? OR (last_used, key, version) < (
                            SELECT last_used, key, version FROM sanitized_html
                            ORDER BY last_used DESC, key DESC, version DESC
                            LIMIT 1 OFFSET ?)
                        {_SKIP_LOCKED[db.name]})""",
                (days * 86400.0, max(keep, 1) - 1),
            ).rowcount
        )

    def sanitized_html_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM sanitized_html").fetchone()[0])
