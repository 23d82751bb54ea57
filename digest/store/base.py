"""What every concern module of the store shares: the open engine and the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from digest.store.engine import Engine, Target, open_engine
from digest.store.migrations import migrate


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class StoreBase:
    """An open connection to the store; create one per process or thread."""

    db: Engine
    target: Target

    def __init__(self, target: Target) -> None:
        self.target = target
        self.db = open_engine(target)
        try:
            migrate(self.db)
        except BaseException:
            self.db.close()
            raise

    @property
    def engine(self) -> str:
        return self.db.name

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Engine]:
        """All-or-nothing: committed at the end of the block, rolled back on any error."""
        with self.db.transaction() as db:
            yield db
