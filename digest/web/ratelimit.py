"""A small limit on the subscribe form, so it cannot be turned into a way to mail-bomb
someone: per client address a few posts an hour, per email address one confirmation per
`ADDRESS_GAP`. The counts live in the store (`rate_limits`), so two `digest serve`
instances behind a proxy share them and a restart forgets nothing. An address's counter
is keyed by a keyed hash of it, and erasure deletes it."""

from __future__ import annotations

from collections.abc import Callable

from digest.store import Store

ADDRESS_GAP = 600.0
"""Seconds between two confirmation emails to the same address."""
WINDOW = 3600.0


class SubscribeLimiter:
    def __init__(self, per_hour: int, store: Callable[[], Store]) -> None:
        self.per_hour = per_hour
        self.store = store

    def allow_client(self, client: str) -> bool:
        return self.store().hit(f"client:{client}", WINDOW, self.per_hour)

    def allow_mail(self, address: str) -> bool:
        return self.store().hit_address(address, ADDRESS_GAP, 1)
