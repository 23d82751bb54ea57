"""Issues: when a send started and completed, for the schedule, status and the archive."""

from __future__ import annotations

from dataclasses import dataclass

from digest.store.base import StoreBase, now_text
from digest.store.bounces import BounceQueries
from digest.store.outbox import OutboxQueries


@dataclass(frozen=True)
class SentIssue:
    """A row of `issues` whose send completed (the public archive lists these)."""

    key: str
    number: int
    volume: int
    subject: str
    completed_at: str


class IssueQueries(OutboxQueries, BounceQueries, StoreBase):
    def complete_issue(self, key: str) -> None:
        self.db.execute(
            "UPDATE issues SET completed_at = ? WHERE key = ? AND completed_at IS NULL",
            (now_text(), key),
        )

    def issue_times(self, key: str) -> tuple[str, str | None] | None:
        """(created_at, completed_at) of an issue; None when its send never started."""
        row = self.db.execute(
            "SELECT created_at, completed_at FROM issues WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else (row["created_at"], row["completed_at"])

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
