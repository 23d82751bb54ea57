"""Bounces and complaints: a log idempotent by fingerprint, counters per subscriber, and
the limits (`rules.bounce_status`) that take an address off the list."""

from __future__ import annotations

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

    def bounce_counts(self, subscriber_id: int) -> tuple[int, int]:
        row = self.db.execute(
            "SELECT hard_bounces, soft_bounces FROM subscribers WHERE id = ?", (subscriber_id,)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)
