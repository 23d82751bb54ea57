"""The store: subscribers, issues, the per-recipient outbox, feed items, bounces and the
web limits, on SQLite (one file, the embedded default) or PostgreSQL (shared by senders
and web pages on several hosts).

One module per concern (subscribers and suppressions, outbox, issues, feeds, bounces,
archive, limits), each a
small class of queries; `Store` is all of them over one connection. The rules are pure
functions in `rules`, the schema is in `migrations`, and `engine` is the only place that
knows which database it talks to.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from digest.store.archive import ArchivedVariant, ArchiveQueries
from digest.store.bounces import BounceEvent, BounceQueries
from digest.store.engine import StoreError, Target, sqlite_target
from digest.store.feeds import FeedCacheRow, FeedQueries
from digest.store.issues import IssueQueries, SentIssue
from digest.store.limits import LimitQueries
from digest.store.migrations import MIGRATIONS
from digest.store.outbox import DeliveryRow, OutboxQueries
from digest.store.subscribers import (
    STATUSES,
    ImportCounts,
    SubscriberQueries,
    SubscriberRecord,
    attributes_json,
)

if TYPE_CHECKING:
    from digest.config import Settings

__all__ = [
    "MIGRATIONS",
    "STATUSES",
    "ArchivedVariant",
    "BounceEvent",
    "DeliveryRow",
    "FeedCacheRow",
    "ImportCounts",
    "SentIssue",
    "Store",
    "StoreError",
    "SubscriberRecord",
    "Target",
    "attributes_json",
    "open_store",
    "store_exists",
    "target_of",
]


class Store(
    SubscriberQueries,
    IssueQueries,
    OutboxQueries,
    FeedQueries,
    BounceQueries,
    ArchiveQueries,
    LimitQueries,
):
    """An open store; create one per process or thread. `Store(path)` opens a SQLite file."""

    def __init__(self, where: Path | Target) -> None:
        super().__init__(where if isinstance(where, Target) else sqlite_target(where))

    def __enter__(self) -> Store:
        return self

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None on PostgreSQL."""
        return self.target.path

    def reopen(self) -> Store:
        """Another connection to the same store (for a worker thread)."""
        return Store(self.target)


def target_of(settings: Settings) -> Target:
    """Where `[store] url` points, with the password from `[store] password_env`."""
    store = settings.store
    if store.url.startswith("sqlite:"):
        return sqlite_target(store.path)
    return Target(store.url, password=settings.secret(store.password_env))


def open_store(settings: Settings) -> Store:
    return Store(target_of(settings))


def store_exists(settings: Settings) -> bool:
    """Whether there is a store to read yet (a page that only reads must not create a
    SQLite file); a PostgreSQL database is always there."""
    return settings.store.engine != "sqlite" or settings.store.path.exists()
