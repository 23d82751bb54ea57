"""The one interface every transport implements; the send loop knows nothing else."""

from __future__ import annotations

from typing import Protocol

from digest.models import Message


class Transport(Protocol):
    """Hands a finished message on. Raises TransientDeliveryError (worth a retry) or
    PermanentDeliveryError (not); returns the receiver's reply for the record."""

    def send(self, message: Message) -> str: ...

    def close(self) -> None: ...
