"""A small in-process limit on the subscribe form, so it cannot be turned into a way to
mail-bomb someone: per client address a few posts an hour, per email address one
confirmation per `ADDRESS_GAP`. In memory, per process: enough for one server, and
forgetting on restart costs nothing worse than one extra email."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

ADDRESS_GAP = 600.0
"""Seconds between two confirmation emails to the same address."""
WINDOW = 3600.0


class SubscribeLimiter:
    def __init__(self, per_hour: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour = per_hour
        self.clock = clock
        self._clients: dict[str, deque[float]] = {}
        self._addresses: dict[str, float] = {}
        self._lock = threading.Lock()

    def allow_client(self, client: str) -> bool:
        now = self.clock()
        with self._lock:
            hits = self._clients.setdefault(client, deque())
            while hits and now - hits[0] > WINDOW:
                hits.popleft()
            if len(hits) >= self.per_hour:
                return False
            hits.append(now)
            if len(self._clients) > 10_000:
                self._clients = {k: v for k, v in self._clients.items() if v}
            return True

    def allow_mail(self, address: str) -> bool:
        now = self.clock()
        key = address.casefold()
        with self._lock:
            last = self._addresses.get(key)
            if last is not None and now - last < ADDRESS_GAP:
                return False
            self._addresses[key] = now
            if len(self._addresses) > 10_000:
                cutoff = now - ADDRESS_GAP
                self._addresses = {k: t for k, t in self._addresses.items() if t > cutoff}
            return True
