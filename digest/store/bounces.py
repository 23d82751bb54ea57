"""Bounces and complaints: a log idempotent by fingerprint, counters per subscriber, and
the limits (`rules.bounce_status`) that take an address off the list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from digest.store import rules
from digest.store.base import StoreBase, now_text


@dataclass(frozen=True)
class BounceEvent:
    """A row of `bounce_events`."""

    subscriber_id: int | None
    email: str
    issue_key: str
    kind: str
    detail: str
    source: str
    fingerprint: str
    created_at: str


class BounceQueries(StoreBase):
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
        now = now_text()
        with self.transaction() as db:
            if subscriber_id is None:
                found = db.execute(
                    f"SELECT id FROM subscribers WHERE {db.EMAIL_KEY} = {db.EMAIL_ARG}", (email,)
                ).fetchone()
                subscriber_id = int(found[0]) if found else None
            inserted = db.execute(
                """INSERT INTO bounce_events (subscriber_id, email, issue_key, kind,
                       detail, source, fingerprint, created_at) VALUES (?,?,?,?,?,?,?,?)
                   ON CONFLICT DO NOTHING""",
                (subscriber_id, email, issue_key, kind, detail[:500], source, fingerprint, now),
            ).rowcount
            if not inserted or subscriber_id is None:
                return None
            if kind in ("hard", "soft"):
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
                "SELECT hard_bounces, soft_bounces, status FROM subscribers WHERE id = ?",
                (subscriber_id,),
            ).fetchone()
            if row is None:
                return None
            new_status = rules.bounce_status(
                kind, int(row[0]), int(row[1]), hard_limit=hard_limit,
                soft_limit=soft_limit, on_complaint=on_complaint,
            )  # fmt: skip
            if new_status is None or not rules.may_become(row[2]):
                return None
            db.execute(
                "UPDATE subscribers SET status = ? WHERE id = ?", (new_status, subscriber_id)
            )
        return new_status

    def _delivered_since_last_soft_bounce(self, subscriber_id: int, issue_key: str) -> bool:
        """Did an issue between the subscriber's previous soft bounce and `issue_key` reach
        them (accepted, and no bounce or complaint came back for it)?

        Soft bounces count towards [bounces] soft_limit only while they are consecutive: a
        delivery that got through in between shows the mailbox works again, so the count
        restarts. Whether a delivery got through is only known once the next bounce comes
        (a DSN arrives hours or days after the server accepted the message), so the reset
        is applied here, when the next soft bounce is recorded. Issues are ordered by when
        their send started (`Engine.ISSUE_ORDER`).
        """
        if not issue_key:
            return False
        order = self.db.ISSUE_ORDER
        row = self.db.execute(
            f"""SELECT 1 FROM deliveries d JOIN issues i ON i.key = d.issue_key
               WHERE d.subscriber_id = ? AND d.status = 'sent'
                 AND i.{order} < (SELECT {order} FROM issues WHERE key = ?)
                 AND i.{order} > COALESCE((
                     SELECT MAX(p.{order}) FROM bounce_events b JOIN issues p
                         ON p.key = b.issue_key
                     WHERE b.subscriber_id = ? AND b.kind = 'soft' AND b.issue_key != ?
                 ), 0)
                 AND NOT EXISTS (SELECT 1 FROM bounce_events e
                                 WHERE e.subscriber_id = ? AND e.issue_key = d.issue_key)
               LIMIT 1""",
            (subscriber_id, issue_key, subscriber_id, issue_key, subscriber_id),
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
