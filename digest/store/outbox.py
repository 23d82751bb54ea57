"""The outbox: one `deliveries` row per (issue, subscriber), the send's memory.

A row is committed the moment the server accepts its message, so a crash re-sends at
most the messages that were in flight. Several senders share one issue's rows by
claiming them in small batches: a claim names the sender and a lease on the database's
clock; the sender renews the lease while it lives, and a row whose lease ran out (its
sender was killed) is claimed by the next sender that asks. On PostgreSQL the claim uses
`FOR UPDATE SKIP LOCKED`, so two senders never wait on, or take, the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from digest.models import Subscriber
from digest.store.base import StoreBase, now_text
from digest.store.subscribers import subscriber_of

FREEZE_CHUNK = 1000


@dataclass(frozen=True)
class DeliveryRow:
    """A row of `deliveries`."""

    issue_key: str
    subscriber_id: int
    email: str
    status: str
    message_id: str
    reply: str


def delivery_of(row: Any, renamed: str = "") -> DeliveryRow:
    """`renamed`: the prefix a join gave the columns the subscriber has too (`d_`)."""
    return DeliveryRow(
        issue_key=row["issue_key"],
        subscriber_id=row["subscriber_id"],
        email=row[f"{renamed}email"],
        status=row[f"{renamed}status"],
        message_id=row["message_id"],
        reply=row["reply"],
    )


class OutboxQueries(StoreBase):
    def freeze_issue(
        self,
        key: str,
        number: int,
        volume: int,
        recipients: Iterable[tuple[Subscriber, str]],
    ) -> bool:
        """Record the issue and one pending row per (subscriber, variant) once.

        Returns True when this call created the issue. A second call for the same
        issue adds nobody: the recipient list is frozen when the send first starts. Two
        senders starting together: the second waits on the first's insert, then adds
        nobody.
        """
        now = now_text()
        insert = """INSERT INTO deliveries (issue_key, subscriber_id, email, variant, updated_at)
                    VALUES (?, ?, ?, ?, ?)"""
        with self.transaction() as db:
            created = db.execute(
                """INSERT INTO issues (key, number, volume, created_at) VALUES (?,?,?,?)
                   ON CONFLICT DO NOTHING""",
                (key, number, volume, now),
            ).rowcount
            if created:
                chunk: list[tuple[str, int, str, str, str]] = []
                for subscriber, variant in recipients:
                    chunk.append((key, subscriber.id, subscriber.email, variant, now))
                    if len(chunk) >= FREEZE_CHUNK:
                        db.executemany(insert, chunk)
                        chunk = []
                if chunk:
                    db.executemany(insert, chunk)
        return bool(created)

    def pending(self, key: str) -> list[DeliveryRow]:
        rows = self.db.execute(
            "SELECT * FROM deliveries WHERE issue_key = ? AND status = 'pending' "
            "ORDER BY subscriber_id",
            (key,),
        )
        return [delivery_of(row) for row in rows]

    def has_pending(self, key: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM deliveries WHERE issue_key = ? AND status = 'pending' LIMIT 1", (key,)
        ).fetchone()
        return row is not None

    def mark(self, key: str, subscriber_id: int, status: str, message_id: str, reply: str) -> None:
        """Commit one recipient's outcome at once (autocommit), before the next send."""
        self.db.execute(
            """UPDATE deliveries SET status = ?, message_id = ?, reply = ?,
                   attempts = attempts + 1, updated_at = ?
               WHERE issue_key = ? AND subscriber_id = ?""",
            (status, message_id, reply[:500], now_text(), key, subscriber_id),
        )

    def counts(self, key: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT status, COUNT(*) FROM deliveries WHERE issue_key = ? GROUP BY status", (key,)
        )
        return {row[0]: int(row[1]) for row in rows}

    def deliveries(self, key: str) -> list[DeliveryRow]:
        rows = self.db.execute(
            "SELECT * FROM deliveries WHERE issue_key = ? ORDER BY subscriber_id", (key,)
        )
        return [delivery_of(row) for row in rows]

    def deliveries_of(self, subscriber_id: int) -> list[dict[str, str]]:
        """What was sent to one subscriber, for their data download."""
        rows = self.db.execute(
            "SELECT issue_key, status, updated_at FROM deliveries WHERE subscriber_id = ? "
            "ORDER BY issue_key",
            (subscriber_id,),
        )
        return [
            {"issue_key": r["issue_key"], "status": r["status"], "updated_at": r["updated_at"]}
            for r in rows
        ]

    # -- claims: several senders, one outbox -------------------------------------

    def claim(
        self, key: str, claimer: str, limit: int, lease_seconds: float, after: int = -1
    ) -> list[tuple[DeliveryRow, Subscriber | None]]:
        """Claim up to `limit` pending rows nobody holds (or whose lease ran out), lowest
        subscriber id above `after` first, each with the subscriber as they are now (None
        if erased, or if the row's address is no longer theirs).

        `after` is the sender's last claimed id: the index walk then starts there instead
        of crossing every row sent so far (on PostgreSQL their old versions stay in the
        index until vacuum, which made each claim slower than the last). A sender asks
        again from the start once nothing is left after it (released or expired rows)."""
        db = self.db
        lock = " FOR UPDATE SKIP LOCKED" if db.name == "postgresql" else ""
        with self.transaction():
            taken = db.execute(
                f"""UPDATE deliveries SET claimed_by = ?, lease_until = {db.NOW} + ?
                    WHERE issue_key = ? AND subscriber_id IN (
                        SELECT subscriber_id FROM deliveries
                        WHERE issue_key = ? AND status = 'pending' AND subscriber_id > ?
                          AND (claimed_by = '' OR lease_until <= {db.NOW})
                        ORDER BY subscriber_id LIMIT ?{lock})
                    RETURNING subscriber_id""",
                (claimer, float(lease_seconds), key, key, after, limit),
            ).fetchall()
            if not taken:
                return []
            ids = [row[0] for row in taken]
            rows = db.execute(
                f"""SELECT d.issue_key, d.subscriber_id, d.email AS d_email,
                          d.status AS d_status, d.message_id, d.reply, s.*
                   FROM deliveries d
                   LEFT JOIN subscribers s ON s.id = d.subscriber_id AND s.email = d.email
                   WHERE d.issue_key = ? AND d.subscriber_id IN ({",".join("?" * len(ids))})
                   ORDER BY d.subscriber_id""",
                (key, *ids),
            ).fetchall()
        return [_with_subscriber(row) for row in rows]

    def renew_claims(self, key: str, claimer: str, lease_seconds: float) -> int:
        """Push back the lease of every pending row `claimer` holds: a live sender keeps
        its rows however long its retries take."""
        return int(
            self.db.execute(
                f"""UPDATE deliveries SET lease_until = {self.db.NOW} + ?
                    WHERE issue_key = ? AND claimed_by = ? AND status = 'pending'""",
                (float(lease_seconds), key, claimer),
            ).rowcount
        )

    def release_claims(self, key: str, claimer: str | None = None) -> int:
        """Give back the pending rows `claimer` holds (all claims when None: a sender
        that holds the only lock on the issue knows every other claim is stale)."""
        query = "UPDATE deliveries SET claimed_by = '', lease_until = 0 WHERE issue_key = ? "
        args: tuple[str, ...] = (key,)
        if claimer is not None:
            query, args = query + "AND claimed_by = ? ", (key, claimer)
        return int(self.db.execute(query + "AND status = 'pending'", args).rowcount)

    def lease_wait(self, key: str, claimer: str) -> float | None:
        """Seconds until the first lease another sender holds on a pending row runs out
        (0: one already has); None when no other sender holds a pending row."""
        row = self.db.execute(
            f"""SELECT MIN(lease_until) - {self.db.NOW} FROM deliveries
                WHERE issue_key = ? AND status = 'pending' AND claimed_by NOT IN ('', ?)""",
            (key, claimer),
        ).fetchone()
        return None if row is None or row[0] is None else max(0.0, float(row[0]))

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
        return [_with_subscriber(row) for row in rows]

    def note_attempt(self, key: str, subscriber_id: int, reason: str) -> None:
        """Record a failed try that leaves the row pending (a retry or a rerun follows)."""
        self.db.execute(
            """UPDATE deliveries SET reply = ?, attempts = attempts + 1, updated_at = ?
               WHERE issue_key = ? AND subscriber_id = ? AND status = 'pending'""",
            (reason[:500], now_text(), key, subscriber_id),
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
            "SELECT * FROM deliveries WHERE message_id = ? AND message_id <> '' LIMIT 1",
            (message_id,),
        ).fetchone()
        return delivery_of(row) if row else None


def _with_subscriber(row: Any) -> tuple[DeliveryRow, Subscriber | None]:
    """A delivery row joined (`d_` columns, then `s.*`) with its subscriber as they are
    now: None if deleted, or if the row's address is no longer theirs."""
    delivery = delivery_of(row, "d_")
    return delivery, subscriber_of(row) if row["id"] is not None else None
