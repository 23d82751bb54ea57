"""`digest store copy`: move a desk from one store to another (SQLite -> PostgreSQL).

Every table the source holds is copied, in an order that satisfies the foreign keys,
into an EMPTY target brought to the latest schema, all in one transaction: the row
counts are compared table by table before the commit, so a copy either arrives whole
and verified or not at all. The source is opened read-only (a SQLite file is left
byte for byte as it was). Columns the source lacks (an older schema) take their
defaults; ids are kept, and PostgreSQL's id generators are moved past them.
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.store.engine import Engine, StoreError, Target, open_engine
from digest.store.migrations import IDS_USED, migrate

ORDER = ("subscribers", "issues", "deliveries", "feed_cache", "feed_items", "bounce_events",
         "rate_limits")  # fmt: skip
"""Parents before children; a table not listed here is copied after these."""
SKIP = {"digest_schema"}
REPLACED = {"store_keys"}
"""Rows the schema itself makes (the suppression key): the source's replace them, so the
suppression list's hashes still match."""
BATCH = 1000


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def copy_store(source: Target, target: Target) -> list[Copied]:
    """Copy every table of `source` into the empty store at `target`; the counts."""
    if source.url == target.url:
        raise StoreError(f"{target.where}: the target is the store itself")
    reader = open_engine(source, read_only=True)
    try:
        writer = open_engine(target)
        try:
            migrate(writer)
            return _copy(reader, writer)
        finally:
            writer.close()
    finally:
        reader.close()


def _copy(reader: Engine, writer: Engine) -> list[Copied]:
    present = [t for t in reader.tables() if t not in SKIP]
    tables = [t for t in ORDER if t in present] + sorted(set(present) - set(ORDER))
    known = set(writer.tables())
    unknown = [t for t in tables if t not in known]
    if unknown:
        raise StoreError(
            f"{reader.target.where}: table {unknown[0]} is unknown to this digest: "
            "upgrade digest before copying"
        )
    for table in tables:
        if table in REPLACED:
            continue
        if writer.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            raise StoreError(
                f"{writer.target.where}: table {table} already holds rows: copy into an "
                "empty store (a new database) only"
            )
    copied: list[Copied] = []
    with writer.transaction():
        for table in tables:
            if table in REPLACED:
                writer.execute(f"DELETE FROM {table}")
            target_columns = set(writer.columns(table))
            columns = [c for c in reader.columns(table) if c in target_columns]
            names = ", ".join(columns)
            insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})"
            cursor = reader.execute(f"SELECT {names} FROM {table}")
            while True:
                rows = cursor.fetchmany(BATCH)
                if not rows:
                    break
                writer.executemany(insert, [tuple(row) for row in rows])
            writer.reset_identity(table)
            want = int(reader.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            got = int(writer.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            if want != got:
                raise StoreError(
                    f"{writer.target.where}: table {table}: copied {got} rows of {want}; "
                    "nothing was kept"
                )
            copied.append(Copied(table, got))
        # ids are never reused, not even those only the outbox or the bounce log remember
        floor = int(writer.execute(f"SELECT {IDS_USED}").fetchone()[0])
        if "sqlite_sequence" in _sqlite_tables(reader):
            row = reader.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'subscribers'"
            ).fetchone()
            floor = max(floor, int(row[0]) if row else 0)
        writer.reset_identity("subscribers", floor)
    return copied


def _sqlite_tables(db: Engine) -> set[str]:
    if db.name != "sqlite":
        return set()
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
