"""Counters with a time window, kept in the store so every web host shares them: the
subscribe form's per-client and per-address limits.

Each check is one atomic upsert on the database's clock, so two `digest serve`
instances behind a proxy count the same hits and never race each other.
"""

from __future__ import annotations

from digest.store.base import StoreBase


class LimitQueries(StoreBase):
    def hit(self, key: str, window: float, limit: int) -> bool:
        """Count one hit on `key`; False when that makes more than `limit` in the current
        window (fixed windows of `window` seconds starting at a key's first hit)."""
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
        if hits == 1:  # a new window: forget keys nobody used for a day
            db.execute(
                f"DELETE FROM rate_limits WHERE window_start < {db.NOW} - 86400 AND key != ?",
                (key,),
            )
        return hits <= limit
