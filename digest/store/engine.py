"""The dialect layer: one connection to SQLite (embedded default) or PostgreSQL (shared,
several hosts), behind the few calls the store modules make.

Queries are written once, with `?` placeholders and SQL both engines accept
(`INSERT ... ON CONFLICT`, `UPDATE ... RETURNING`); this module translates the
placeholders and supplies the handful of snippets that differ (`EMAIL_KEY`, `NOW`).
It is the only importer of sqlite3 and psycopg. SQLAlchemy Core was measured against it
(docs/design.md, "One store, two engines"): it would add ~20 µs a statement, 300 ms of
import to every command and 29 MB installed, and still need dialect code for the
differences that matter here.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from digest.errors import DigestError

Params = Sequence[Any]


class StoreError(DigestError):
    """The store cannot be opened or used: URL, server, password, schema."""


@dataclass(frozen=True)
class Target:
    """Where the store lives: a SQLite file, or a PostgreSQL database (no password in it)."""

    url: str
    path: Path | None = None
    password: str | None = None

    @property
    def engine(self) -> str:
        return "sqlite" if self.path is not None else "postgresql"

    @property
    def where(self) -> str:
        """For messages: the file, or user@host:port/db (never a password)."""
        if self.path is not None:
            return str(self.path)
        parts = urlsplit(self.url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        user = f"{unquote(parts.username)}@" if parts.username else ""
        return f"postgresql://{user}{host}{port}{parts.path}"


def sqlite_target(path: Path) -> Target:
    return Target(f"sqlite:///{path}", path=path)


class Row(tuple[Any, ...]):
    """A result row read by position or by column name, like sqlite3.Row."""

    _names: dict[str, int]

    def __new__(cls, values: Iterable[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


class Engine:
    """One open connection. `execute` takes `?` placeholders on both engines."""

    name = "sqlite"
    EMAIL_KEY = "email"
    """The expression the unique address index is on (case-insensitive on both)."""
    EMAIL_ARG = "?"
    NOW = "((julianday('now') - 2440587.5) * 86400.0)"
    ISSUE_ORDER = "rowid"
    """The column that orders issues by when their send started."""
    """The database's clock in epoch seconds: leases and limits agree across hosts."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def execute(self, sql: str, params: Params = ()) -> Any:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[Engine]:
        raise NotImplementedError
        yield self  # pragma: no cover

    @property
    def total_changes(self) -> int:
        raise NotImplementedError

    def script(self, sql: str) -> None:
        """Run `;`-separated DDL statements (inside the caller's transaction)."""
        for statement in sql.split(";"):
            if statement.strip():
                self.execute(statement)

    def tables(self) -> list[str]:
        raise NotImplementedError

    def columns(self, table: str) -> list[str]:
        raise NotImplementedError

    def reset_identity(self, table: str, floor: int = 0) -> None:
        """After rows were inserted with their ids: the next generated id follows them."""

    def nocase_eq(self, column: str) -> str:
        """`column = ?`, ignoring ASCII case, on a column without a case-blind index."""
        return f"{column} = ? COLLATE NOCASE"

    def checkpoint(self) -> None:
        """After an erasure: leave no copy of deleted rows in a log beside the store."""

    def relax_durability(self) -> None:
        """Fewer flushes for the per-message marks of a send (see each engine)."""

    @property
    def closed(self) -> bool:
        """Closed on purpose after an interrupt left it mid-command (outbox._give_back)."""
        return False

    def close(self) -> None:
        raise NotImplementedError


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


def _wal(db: sqlite3.Connection) -> None:
    """Switch a new file to WAL. Two processes creating the store at once: the switch
    needs the file to itself and SQLite answers "locked" without waiting, so retry."""
    for _ in range(100):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.05)
    db.execute("PRAGMA journal_mode=WAL")


class SqliteEngine(Engine):
    def __init__(self, target: Target, read_only: bool = False) -> None:
        super().__init__(target)
        assert target.path is not None
        path = target.path
        try:
            if read_only:  # `store copy` reads the file and must leave it as it is
                if not path.is_file():
                    raise StoreError(f"{path}: no such store file")
                uri = f"file:{path.resolve()}?mode=ro"
                self.db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
                self.db.row_factory = sqlite3.Row
                return
            if not path.parent.is_dir():
                # A typo in [store] url must not quietly start an empty list elsewhere
                raise StoreError(
                    f"{path}: cannot open the store: no directory {path.parent} "
                    "(create it, or correct [store] url)"
                )
            create_private(path)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            _wal(self.db)
            # Deleted rows are overwritten with zeros, not left in free pages: an erased
            # address must not survive in the file's bytes.
            self.db.execute("PRAGMA secure_delete=ON")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA busy_timeout=30000")
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(f"{path}: cannot open the store: {exc}") from None

    def execute(self, sql: str, params: Params = ()) -> Any:
        return self.db.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        self.db.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[Engine]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @property
    def total_changes(self) -> int:
        return self.db.total_changes

    def tables(self) -> list[str]:
        rows = self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [r[0] for r in rows if not r[0].startswith("sqlite_")]

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.db.execute("SELECT * FROM pragma_table_info(?)", (table,))]

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the file and empty it: the WAL still holds the
        pages as they were before an erasure. A reader holding a snapshot may keep this
        from finishing; the next checkpoint then overwrites those frames."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def relax_durability(self) -> None:
        # WAL with synchronous=NORMAL: a commit survives a crash of this process (kill -9)
        # without an fsync per message; only a power cut can undo the last commits, which
        # re-sends those messages and never skips anyone.
        self.db.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        self.db.close()


class PostgresEngine(Engine):
    def nocase_eq(self, column: str) -> str:
        return f"lower({column}) = lower(?)"

    name = "postgresql"
    EMAIL_KEY = "lower(email)"
    EMAIL_ARG = "lower(?)"
    NOW = "extract(epoch from clock_timestamp())::double precision"
    ISSUE_ORDER = "started"

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        import psycopg

        self._psycopg = psycopg
        self._changes = 0
        self._sql: dict[str, str] = {}
        try:
            self.db = psycopg.connect(
                target.url,
                password=target.password,
                autocommit=True,
                connect_timeout=10,
                application_name=f"digest pid {os.getpid()} on {socket.gethostname()}"[:63],
            )
        except psycopg.OperationalError as exc:
            raise StoreError(connect_error(target, str(exc))) from None
        except psycopg.ProgrammingError as exc:  # a malformed conninfo
            raise StoreError(f"[store] url: {target.where}: {exc}") from None
        self.db.row_factory = _row_factory

    def _translate(self, sql: str) -> str:
        found = self._sql.get(sql)
        if found is None:
            found = self._sql[sql] = sql.replace("%", "%%").replace("?", "%s")
        return found

    def execute(self, sql: str, params: Params = ()) -> Any:
        try:
            cursor = self.db.execute(self._translate(sql).encode(), tuple(params))
        except self._psycopg.OperationalError as exc:
            if not self.db.closed and not self.db.broken:
                raise  # a query that failed (a lock timeout...), not the connection
            raise StoreError(
                f"[store] url: lost the connection to PostgreSQL at {self.target.where}: "
                f"{' '.join(str(exc).split())[:200]}; run the command again"
            ) from None
        if _returns_changes(sql):
            self._changes += max(cursor.rowcount, 0)
        return cursor

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with self.db.cursor() as cursor:
            cursor.executemany(self._translate(sql).encode(), rows)
            self._changes += max(cursor.rowcount, 0)

    @contextmanager
    def transaction(self) -> Iterator[Engine]:
        with self.db.transaction():
            yield self

    @property
    def total_changes(self) -> int:
        return self._changes

    def tables(self) -> list[str]:
        rows = self.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
        return [r[0] for r in rows]

    def columns(self, table: str) -> list[str]:
        rows = self.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema() ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        return [r[0] for r in rows]

    def reset_identity(self, table: str, floor: int = 0) -> None:
        columns = self.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema() AND is_identity = 'YES'",
            (table,),
        ).fetchall()
        for (column,) in columns:
            sequence = self.execute("SELECT pg_get_serial_sequence(?, ?)", (table, column))
            self.execute(
                f"SELECT setval(?, GREATEST(COALESCE((SELECT MAX({column}) FROM {table}), 0),"
                " ?) + 1, false)",
                (sequence.fetchone()[0], floor),
            )

    def relax_durability(self) -> None:
        # The same promise as SQLite's synchronous=NORMAL: a sender killed with SIGKILL
        # loses nothing it committed; only a crash of the database server itself can undo
        # the last marks, which re-sends those messages and never skips anyone.
        self.execute("SET synchronous_commit = off")

    @property
    def closed(self) -> bool:
        return bool(self.db.closed)

    def close(self) -> None:
        self.db.close()

    def __del__(self) -> None:
        # Like sqlite3, a store dropped without close() closes its connection (the server
        # would otherwise keep the session until the socket times out).
        db = getattr(self, "db", None)
        if db is not None and not db.closed:
            db.close()


def _returns_changes(sql: str) -> bool:
    head = sql.lstrip()[:7].upper()
    return head.startswith(("INSERT", "UPDATE", "DELETE"))


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    names: dict[str, int] = {}
    for index, column in reversed(list(enumerate(description))):
        names[column.name] = index  # the first of two equal names wins, as in sqlite3
    return lambda values: Row(values, names)


def connect_error(target: Target, detail: str) -> str:
    """One line for a failed connection: which host, what went wrong, what to do."""
    where = target.where
    text = " ".join(detail.split())
    if "password authentication failed" in text or "no password supplied" in text:
        return (
            f"[store] url: PostgreSQL at {where} refused the login: set the password in the "
            "environment variable named by [store] password_env (default DIGEST_STORE_PASSWORD)"
        )
    if "does not exist" in text and "database" in text:
        return f"[store] url: {where}: the database does not exist: create it (createdb)"
    return (
        f"[store] url: cannot reach PostgreSQL at {where}: {text[:200]}; start the server "
        "or correct the host and port"
    )


def open_engine(target: Target, read_only: bool = False) -> Engine:
    if target.path is not None:
        return SqliteEngine(target, read_only)
    return PostgresEngine(target)
