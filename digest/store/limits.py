"""Counters with a time window, kept in the store so every web host shares them: the
subscribe form's per-client and per-address limits.

Each check is one atomic upsert on the database's clock, so two `digest serve`
instances behind a proxy count the same hits and never race each other. A counter per
email address is keyed by a keyed hash of it (`mail_key`), never the address itself,
and erasure deletes it (`SubscriberQueries.erase`) with the legacy plain-address key.
"""

from __future__ import annotations

import hashlib
import hmac

from digest.store.engine import Engine
from digest.store.suppressions import SuppressionQueries

FORGET_AFTER = 86400.0
"""Seconds after which a counter's row is deleted (longer than any window)."""


def mail_key(key: bytes, email: str) -> str:
    """The rate-limit key of an email address: HMAC-SHA256 of the case-folded address
    under the store's own random key, with a label of its own so it never equals the
    address's suppression-list hash."""
    folded = email.strip().casefold().encode("utf-8")
    return "mail:" + hmac.new(key, b"rate-limit\0" + folded, hashlib.sha256).hexdigest()


def mail_keys(key: bytes, email: str) -> tuple[str, str]:
    """Every key a counter of `email` may have: the keyed hash, and the plain
    `mail:<address>` of versions before it (still in a store upgraded within a day)."""
    return mail_key(key, email), "mail:" + email.strip().casefold()


class LimitQueries(SuppressionQueries):
    def hit(self, key: str, window: float, limit: int) -> bool:
        """Count one hit on `key`; False when that makes more than `limit` in the current
        window (fixed windows of `window` seconds starting at a key's first hit).

        Every hit also deletes the rows nobody used for `FORGET_AFTER`, so a quiet site
        keeps no old key (a key can name a client or, hashed, an address)."""
        db = self.db
        row = db.execute(
            f"""INSERT INTO rate_limits (key, window_start, hits) VALUES (?, {db.NOW}, 1)
                ON CONFLICT(key) DO UPDATE SET
                  hits = CASE WHEN rate_limits.window_start <= {db.NOW} - ? THEN 1
                              ELSE rate_limits.hits + 1 END,
                  window_start = CASE WHEN rate_limits.window_start <= {db.NOW} - ?
                                      THEN {db.NOW} ELSE rate_limits.window_start END
                RETURNING hits""",
            (key, float(window), float(window)),
        ).fetchone()
        hits = int(row[0])
        db.execute(
            f"DELETE FROM rate_limits WHERE window_start < {db.NOW} - ? AND key != ?",
            (FORGET_AFTER, key),
        )
        return hits <= limit

    def hit_address(self, email: str, window: float, limit: int) -> bool:
        """`hit` on the counter of an email address, keyed by its keyed hash."""
        return self.hit(mail_key(self._suppression_key(self.db), email), window, limit)

    def _forget_address(self, db: Engine, email: str) -> None:
        """Delete every counter of `email` (for an erasure)."""
        keys = mail_keys(self._suppression_key(db), email)
        db.execute("DELETE FROM rate_limits WHERE key IN (?, ?)", keys)
