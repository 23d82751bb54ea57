"""The archive: each variant of an issue as it was sent, stored once (zlib-compressed
UTF-8), with neutral values in the per-reader places."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from digest.store.base import StoreBase, now_text


@dataclass(frozen=True)
class ArchivedVariant:
    """A row of `archived_variants`: one variant of an issue as sent, with neutral values
    where each reader had theirs."""

    issue_key: str
    variant: str
    """Variant.label, e.g. `fr:all` or `en:hybrid|ukraine`."""
    language: str
    subject: str
    summary: str
    """The preheader: one line saying what the issue holds (the Atom entry's summary)."""
    html: str
    text: str


def _pack(text: str) -> bytes:
    return zlib.compress(text.encode("utf-8"), 9)


def archived_of(row: Any) -> ArchivedVariant:
    return ArchivedVariant(
        issue_key=row["issue_key"],
        variant=row["variant"],
        language=row["language"],
        subject=row["subject"],
        summary=row["summary"],
        html=zlib.decompress(bytes(row["html"])).decode("utf-8"),
        text=zlib.decompress(bytes(row["text"])).decode("utf-8"),
    )


class ArchiveQueries(StoreBase):
    def archive_variant(self, copy: ArchivedVariant) -> bool:
        """Keep `copy` as the archived form of its variant; the first copy wins.

        Returns True when this call stored it. A resumed send, or a send after the
        entries were edited, never replaces what went out first.
        """
        stored = self.db.execute(
            """INSERT INTO archived_variants (issue_key, variant, language, subject,
                   summary, html, text, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT DO NOTHING""",
            (copy.issue_key, copy.variant, copy.language, copy.subject, copy.summary,
             _pack(copy.html), _pack(copy.text), now_text()),
        ).rowcount  # fmt: skip
        return bool(stored)

    def archived_variant(self, issue_key: str, variant: str) -> ArchivedVariant | None:
        """The stored copy of one variant (label as in Variant.label), or None."""
        row = self.db.execute(
            "SELECT * FROM archived_variants WHERE issue_key = ? AND variant = ?",
            (issue_key, variant),
        ).fetchone()
        return archived_of(row) if row else None

    def archived_labels(self, issue_key: str) -> set[str]:
        """Labels of the variants of an issue that have a stored copy."""
        rows = self.db.execute(
            "SELECT variant FROM archived_variants WHERE issue_key = ?", (issue_key,)
        )
        return {row[0] for row in rows}

    def archived_issue_keys(self) -> set[str]:
        """Issues with at least one stored copy (their send has started)."""
        rows = self.db.execute("SELECT DISTINCT issue_key FROM archived_variants")
        return {row[0] for row in rows}
