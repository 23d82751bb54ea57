"""Links with a subscriber's token come from one place (digest/links.py)."""

from __future__ import annotations

import pytest

from digest.errors import TokenError
from digest.links import Links
from digest.models import Subscriber
from digest.tokens import Signer

SIGNER = Signer("a key for the link tests, long enough to sign!")
READER = Subscriber("ana@example.org", "Ana", "en", frozenset(), id=42)


@pytest.mark.parametrize("base", ["https://news.example.org", "https://news.example.org/"])
def test_each_purpose_gets_its_own_route_and_token(base: str) -> None:
    links = Links(base, SIGNER)
    for purpose in ("unsubscribe", "preferences", "confirm"):
        url = links.link(purpose, READER)
        prefix = f"https://news.example.org/{purpose}/"
        assert url.startswith(prefix) and "//" not in url.removeprefix("https://")
        claim = SIGNER.verify(purpose, url.removeprefix(prefix))
        assert claim.subscriber_id == 42
        assert SIGNER.binds(purpose, claim, READER.email)
    with pytest.raises(TokenError):  # an unsubscribe token opens no preferences page
        SIGNER.verify("preferences", links.token("unsubscribe", READER))


def test_a_confirm_link_carries_the_status_it_may_lift() -> None:
    token = Links("https://news.example.org", SIGNER).token("confirm", READER, "unsubscribed")
    assert SIGNER.verify("confirm", token).state == "unsubscribed"
