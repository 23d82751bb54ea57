"""Every link that carries a subscriber's token, made in one place.

The issue's footer and List-Unsubscribe header, the subscribe form's confirmation mail,
the confirmation page and the mail-me-a-new-link page all point at the routes
`/<purpose>/<token>` (`unsubscribe`, `preferences`, `confirm`). Signing and joining them
here keeps the purpose of a token and the route that checks it from drifting apart, and
a base URL with or without a trailing slash from breaking one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from digest.models import Subscriber
from digest.tokens import Signer

Purpose = Literal["unsubscribe", "preferences", "confirm"]


@dataclass(frozen=True)
class Links:
    base_url: str
    signer: Signer

    def token(self, purpose: Purpose, subscriber: Subscriber, state: str = "") -> str:
        """`state` is the status a confirm link may lift (a comeback after an opt-out)."""
        return self.signer.sign(purpose, subscriber.id, subscriber.email, state)

    def url(self, purpose: Purpose, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/{purpose}/{token}"

    def link(self, purpose: Purpose, subscriber: Subscriber, state: str = "") -> str:
        return self.url(purpose, self.token(purpose, subscriber, state))
