"""The suppression list: erased addresses, remembered only as keyed hashes
(`digest.consent.suppression_hash`) under a random key made once per store, so no old
list brings them back while no one can list who was erased."""

from __future__ import annotations

from digest.consent import suppression_hash
from digest.store.base import StoreBase, now_text
from digest.store.engine import Engine


class SuppressionQueries(StoreBase):
    def _suppression_key(self, db: Engine) -> bytes:
        row = db.execute("SELECT value FROM store_keys WHERE name = 'suppression'").fetchone()
        return bytes(row[0])

    def _suppressed(self, db: Engine, email: str) -> bool:
        digest = suppression_hash(self._suppression_key(db), email)
        found = db.execute("SELECT 1 FROM suppressions WHERE address_hash = ?", (digest,))
        return found.fetchone() is not None

    def _suppress(self, db: Engine, email: str, reason: str) -> None:
        db.execute(
            "INSERT INTO suppressions (address_hash, reason, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (suppression_hash(self._suppression_key(db), email), reason, now_text()),
        )

    def _lift_suppression(self, db: Engine, email: str) -> None:
        digest = suppression_hash(self._suppression_key(db), email)
        db.execute("DELETE FROM suppressions WHERE address_hash = ?", (digest,))

    def is_suppressed(self, email: str) -> bool:
        """Whether an erased address is on the suppression list (no confirmation since)."""
        return self._suppressed(self.db, email)
