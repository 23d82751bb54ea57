"""Subscribers: the list, sign-ups and confirmation, preferences, imports, erasure.

Addresses are unique case-insensitively on both engines (SQLite: COLLATE NOCASE;
PostgreSQL: a unique index on lower(email)); `_by_email` is the one place that knows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from digest.consent import OPTED_OUT, keeps_out, may_change_status
from digest.models import Subscriber
from digest.store.base import now_text
from digest.store.engine import Engine
from digest.store.limits import LimitQueries

STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")
PAGE = 1000


@dataclass(frozen=True)
class SubscriberRecord:
    """A row of `subscribers`: a subscriber with the bookkeeping an import, an export or a
    data request needs.

    None in status or a timestamp means "not given" (an import keeps the stored value).
    """

    subscriber: Subscriber
    status: str | None = None
    created_at: str | None = None
    confirmed_at: str | None = None
    unsubscribed_at: str | None = None
    consent_source: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    given: frozenset[str] | None = None
    """Which of name, language, themes the source had; None: all. An update keeps the
    stored value of the others, so a file without a `themes` column wipes no choices."""


@dataclass
class ImportCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_out: int = 0
    """Rows left alone: the address opted out or was erased (`consent.keeps_out`)."""


_IMPORTED_COLUMNS = ("name", "language", "themes", "status", "created_at", "confirmed_at",
                     "unsubscribed_at", "consent_source", "attributes")  # fmt: skip


def attributes_json(attributes: dict[str, Any]) -> str:
    return json.dumps(attributes, ensure_ascii=False, sort_keys=True)


def themes_text(themes: frozenset[str]) -> str:
    return "|".join(sorted(themes))


def subscriber_of(row: Any) -> Subscriber:
    return Subscriber(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        language=row["language"],
        themes=frozenset(t for t in row["themes"].split("|") if t),
        status=row["status"],
    )


def record_of(row: Any) -> SubscriberRecord:
    return SubscriberRecord(
        subscriber=subscriber_of(row),
        status=row["status"],
        created_at=row["created_at"],
        confirmed_at=row["confirmed_at"],
        unsubscribed_at=row["unsubscribed_at"],
        consent_source=row["consent_source"],
        attributes=json.loads(row["attributes"] or "{}"),
    )


class SubscriberQueries(LimitQueries):
    def _by_email(self, columns: str = "*") -> str:
        return f"SELECT {columns} FROM subscribers WHERE {self.db.EMAIL_KEY} = {self.db.EMAIL_ARG}"

    def upsert_subscribers(self, subscribers: Iterable[Subscriber], source: str) -> int:
        """Insert or update by address (case-insensitive), all in one transaction."""
        count = 0
        now = now_text()
        with self.transaction() as db:
            for sub in subscribers:
                db.execute(
                    f"""
                    INSERT INTO subscribers
                        (email, name, language, themes, status, created_at, confirmed_at,
                         consent_source)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT({db.EMAIL_KEY}) DO UPDATE SET
                        name=excluded.name, language=excluded.language, themes=excluded.themes
                    """,
                    (sub.email, sub.name, sub.language, themes_text(sub.themes),
                     sub.status, now, now if sub.status == "active" else None, source),
                )  # fmt: skip
                count += 1
        return count

    def subscribers(self, status: str | None = None) -> list[Subscriber]:
        query = "SELECT * FROM subscribers"
        args: tuple[str, ...] = ()
        if status:
            query += " WHERE status = ?"
            args = (status,)
        return [subscriber_of(row) for row in self.db.execute(query + " ORDER BY id", args)]

    def subscriber(self, subscriber_id: int) -> Subscriber | None:
        found = self.db.execute("SELECT * FROM subscribers WHERE id = ?", (subscriber_id,))
        row = found.fetchone()
        return subscriber_of(row) if row else None

    def subscriber_by_email(self, email: str) -> Subscriber | None:
        row = self.db.execute(self._by_email(), (email,)).fetchone()
        return subscriber_of(row) if row else None

    def iter_subscribers(self, status: str) -> Iterator[Subscriber]:
        """Like subscribers(), a page at a time by id: freezing a long list stays small,
        and no cursor stays open between pages (the caller may write meanwhile)."""
        after = -1
        while True:
            rows = self.db.execute(
                "SELECT * FROM subscribers WHERE status = ? AND id > ? ORDER BY id LIMIT ?",
                (status, after, PAGE),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield subscriber_of(row)
            after = rows[-1]["id"]

    def record(self, subscriber_id: int) -> SubscriberRecord | None:
        found = self.db.execute("SELECT * FROM subscribers WHERE id = ?", (subscriber_id,))
        row = found.fetchone()
        return record_of(row) if row else None

    def record_by_email(self, email: str) -> SubscriberRecord | None:
        row = self.db.execute(self._by_email(), (email,)).fetchone()
        return record_of(row) if row else None

    def records(self, status: str | None = None) -> list[SubscriberRecord]:
        query = "SELECT * FROM subscribers"
        args: tuple[str, ...] = ()
        if status:
            query, args = query + " WHERE status = ?", (status,)
        return [record_of(row) for row in self.db.execute(query + " ORDER BY id", args)]

    def import_records(
        self, records: Iterable[SubscriberRecord], new_consent: str = ""
    ) -> ImportCounts:
        """Insert or update by address, all in one transaction (all-or-nothing).

        Fields a record leaves as None keep the stored value. An import never turns an
        address that opted out, or was erased, back into a recipient
        (`consent.keeps_out`, `consent.may_change_status`). `new_consent` is the consent
        source of a new row whose record names none (e.g. "import:list.csv"); a row
        already stored keeps its own: re-importing someone from another file does not
        rewrite where their consent was given.
        """
        counts = ImportCounts()
        now = now_text()
        with self.transaction() as db:
            for rec in records:
                sub = rec.subscriber
                found = db.execute(self._by_email(), (sub.email,)).fetchone()
                themes = themes_text(sub.themes)
                attributes = attributes_json(rec.attributes)
                suppressed = self._suppressed(db, sub.email)
                if found is None and suppressed:
                    counts.kept_out += 1  # erased: no old list brings the row back
                    continue
                if found is None:
                    status = rec.status or "active"
                    db.execute(
                        """INSERT INTO subscribers (email, name, language, themes, status,
                               created_at, confirmed_at, unsubscribed_at, consent_source,
                               attributes)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        (sub.email, sub.name, sub.language, themes, status,
                         rec.created_at or now,
                         rec.confirmed_at or (now if status == "active" else None),
                         rec.unsubscribed_at, rec.consent_source or new_consent, attributes),
                    )  # fmt: skip
                    counts.added += 1
                    continue
                status = rec.status or found["status"]
                kept_out = keeps_out(found["status"], suppressed) or not may_change_status(
                    found["status"], status, by_confirmation=False
                )
                merged = {**json.loads(found["attributes"] or "{}"), **rec.attributes}
                given = rec.given
                if given is not None:
                    themes = themes if "themes" in given else found["themes"]
                name = sub.name if given is None or "name" in given else found["name"]
                language = (
                    sub.language if given is None or "language" in given else found["language"]
                )
                values = (name, language, themes, status,
                          rec.created_at or found["created_at"],
                          rec.confirmed_at or found["confirmed_at"],
                          rec.unsubscribed_at or found["unsubscribed_at"],
                          rec.consent_source or found["consent_source"],
                          attributes_json(merged))  # fmt: skip
                if values == tuple(found[c] for c in _IMPORTED_COLUMNS):
                    counts.unchanged += 1  # a re-import of the same list says so
                    continue
                if kept_out:  # status, name and choices stay as that person left them
                    counts.kept_out += 1
                    continue
                db.execute(
                    """UPDATE subscribers SET name = ?, language = ?, themes = ?, status = ?,
                           created_at = ?, confirmed_at = ?, unsubscribed_at = ?,
                           consent_source = ?, attributes = ?
                       WHERE id = ?""",
                    (*values, found["id"]),
                )
                counts.updated += 1
        return counts

    def add_pending(
        self, subscriber: Subscriber, consent_source: str, request_hours: float = 48.0
    ) -> SubscriberRecord:
        """Record a sign-up awaiting confirmation, or refresh one; returns the stored row.

        An active subscriber is left as is (the form must not let a stranger change
        someone's preferences), and so is an address that opted out (`consent.keeps_out`):
        only that person's confirmation click brings it back, and applies the choices of
        this sign-up, kept meanwhile as its sign-up request (`confirm`). A new address,
        or one still pending, becomes pending with the new choices. An erased address
        gets a new pending row, which stays suppressed until confirmed. Requests older
        than `request_hours` (the confirmation link's lifetime: nobody can confirm them any
        more) are deleted first, with the names strangers may have typed into them.
        """
        now = now_text()
        stale = dt.datetime.now(dt.UTC) - dt.timedelta(hours=request_hours)
        with self.transaction() as db:
            db.execute(
                "DELETE FROM signup_requests WHERE requested_at < ?",
                (stale.isoformat(timespec="seconds"),),
            )
            found = db.execute(self._by_email(), (subscriber.email,)).fetchone()
            themes = themes_text(subscriber.themes)
            if found is None:
                db.execute(
                    f"""INSERT INTO subscribers (email, name, language, themes, status,
                           created_at, consent_source)
                       VALUES (?, ?, ?, ?, 'pending', ?, ?)
                       ON CONFLICT ({db.EMAIL_KEY}) DO NOTHING""",
                    (subscriber.email, subscriber.name, subscriber.language, themes, now,
                     consent_source),
                )  # fmt: skip
            elif found["status"] in OPTED_OUT:
                db.execute(
                    """INSERT INTO signup_requests (subscriber_id, name, language, themes,
                           consent_source, requested_at)
                       VALUES (?, ?, ?, ?, ?, ?)
                       ON CONFLICT (subscriber_id) DO UPDATE SET name = excluded.name,
                           language = excluded.language, themes = excluded.themes,
                           consent_source = excluded.consent_source,
                           requested_at = excluded.requested_at""",
                    (found["id"], subscriber.name, subscriber.language, themes,
                     consent_source, now),
                )  # fmt: skip
            elif found["status"] != "active" and not keeps_out(
                found["status"], self._suppressed(db, subscriber.email)
            ):
                db.execute(
                    """UPDATE subscribers SET name = ?, language = ?, themes = ?,
                           status = 'pending', consent_source = ? WHERE id = ?""",
                    (subscriber.name, subscriber.language, themes, consent_source,
                     found["id"]),
                )  # fmt: skip
            row = db.execute(self._by_email(), (subscriber.email,)).fetchone()
        return record_of(row)

    def confirm(self, subscriber_id: int, from_status: str = "pending") -> bool:
        """`from_status` -> active: the person's own double opt-in click.

        `from_status` is the status the confirmation link was sent for: pending for a
        sign-up, or the opted-out status of someone coming back, so an old link cannot
        undo a later opt-out. Lifts the address off the suppression list. Someone coming
        back gets what they asked for on the form (`add_pending`): name, language, themes,
        and that form as the consent on record. True if it changed; confirming twice is
        a no-op.
        """
        if from_status != "pending" and from_status not in OPTED_OUT:
            return False
        if not may_change_status(from_status, "active", by_confirmation=True):
            return False  # pragma: no cover - a confirmation may always
        with self.transaction() as db:
            changed = db.execute(
                """UPDATE subscribers SET status = 'active', confirmed_at = ?,
                       unsubscribed_at = NULL, hard_bounces = 0, soft_bounces = 0
                   WHERE id = ? AND status = ?""",
                (now_text(), subscriber_id, from_status),
            ).rowcount
            if changed:
                row = db.execute("SELECT email FROM subscribers WHERE id = ?", (subscriber_id,))
                self._lift_suppression(db, row.fetchone()[0])
                self._apply_signup_request(db, subscriber_id)
        return bool(changed)

    def _apply_signup_request(self, db: Engine, subscriber_id: int) -> None:
        request = db.execute(
            "SELECT * FROM signup_requests WHERE subscriber_id = ?", (subscriber_id,)
        ).fetchone()
        if request is None:
            return  # a sign-up of a pending row, or a link made before requests were kept
        db.execute(
            """UPDATE subscribers SET name = ?, language = ?, themes = ?, consent_source = ?
               WHERE id = ?""",
            (request["name"], request["language"], request["themes"],
             request["consent_source"], subscriber_id),
        )  # fmt: skip
        db.execute("DELETE FROM signup_requests WHERE subscriber_id = ?", (subscriber_id,))

    def signup_request(self, subscriber_id: int) -> dict[str, str] | None:
        """What a subscriber who opted out asked for on the form, awaiting their click."""
        row = self.db.execute(
            """SELECT name, language, themes, consent_source, requested_at
               FROM signup_requests WHERE subscriber_id = ?""",
            (subscriber_id,),
        ).fetchone()
        if row is None:
            return None
        keys = ("name", "language", "themes", "consent_source", "requested_at")
        return {key: row[key] for key in keys}

    def unsubscribe(self, subscriber_id: int) -> bool:
        changed = self.db.execute(
            """UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ?
               WHERE id = ? AND status != 'unsubscribed'""",
            (now_text(), subscriber_id),
        ).rowcount
        return bool(changed)

    def set_preferences(self, subscriber_id: int, language: str, themes: frozenset[str]) -> None:
        self.db.execute(
            "UPDATE subscribers SET language = ?, themes = ? WHERE id = ?",
            (language, themes_text(themes), subscriber_id),
        )

    def erase(self, subscriber_id: int) -> bool:
        """Delete the subscriber and blank their address in the outbox (right to erasure).

        The address goes onto the suppression list as a keyed hash, so no old list
        re-adds it: only the person's own confirmed sign-up does.
        """
        with self.transaction() as db:
            found = db.execute(
                "SELECT email, status FROM subscribers WHERE id = ?", (subscriber_id,)
            ).fetchone()
            if found is None:
                return False
            email, status = found[0], found[1]
            self._suppress(db, email, status if status in OPTED_OUT else "erased")
            self._scrub_address(db, subscriber_id, email)
            db.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,))
        self.db.checkpoint()
        return True

    def _scrub_address(self, db: Engine, subscriber_id: int, email: str) -> None:
        """Remove an address from every column that can hold it, for an erasure.

        The outbox keeps each row (the send's counts stay right) without address or
        server reply (a reply often quotes the address); a frozen row still pending is
        skipped, never sent. The bounce log loses the person's events entirely; the
        subscribe form's counter for the address and any sign-up request go too.
        """
        db.execute(
            """UPDATE deliveries SET email = '', reply = '',
                   status = CASE WHEN status = 'pending' THEN 'skipped' ELSE status END
               WHERE subscriber_id = ?""",
            (subscriber_id,),
        )
        db.execute(
            f"DELETE FROM bounce_events WHERE subscriber_id = ? OR {db.nocase_eq('email')}",
            (subscriber_id, email),
        )
        self._forget_address(db, email)
        db.execute("DELETE FROM signup_requests WHERE subscriber_id = ?", (subscriber_id,))

    def count_subscribers(self, status: str) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM subscribers WHERE status = ?", (status,))
        return int(row.fetchone()[0])

    def theme_choices(self, status: str = "active") -> set[frozenset[str]]:
        """The distinct theme sets subscribers chose (empty: all themes)."""
        rows = self.db.execute(
            "SELECT DISTINCT themes FROM subscribers WHERE status = ?", (status,)
        )
        return {frozenset(t for t in row[0].split("|") if t) for row in rows}
