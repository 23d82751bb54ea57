"""Feed items: the HTTP cache of each feed, and the items published once, ever."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from digest.store.base import StoreBase, now_text


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
