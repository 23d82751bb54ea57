"""Account links (issue 12, items 13 and 14): preferences links expire and can be
mailed afresh, unsubscribe links work forever, and a link carries a keyed hash of the
address, not one anyone can check a guessed address against."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from digest.models import Subscriber
from digest.store import open_store
from digest.tokens import Signer, secret_key
from digest.web.app import create_app
from digest.web.server import running
from tests.conftest import Project
from tests.webclient import Browser, link, mails_to, path_of, text_of

ADDRESS = "ana@example.org"
TEN_YEARS = 10 * 365 * 86400


@dataclass
class Site:
    project: Project
    base: str
    signer: Signer
    key: str
    subscriber_id: int

    def status(self) -> str | None:
        with open_store(self.project.settings()) as store:
            found = store.record_by_email(ADDRESS)
        return found.status if found else None

    def old_token(self, purpose: str, age: int, address_hash: str | None = None) -> str:
        """A token signed `age` seconds ago."""

        class Past(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - age

        serializer = URLSafeTimedSerializer(self.key, salt=f"digest.{purpose}", signer=Past)
        hashed = address_hash or self.signer.address_hash(ADDRESS)
        return str(serializer.dumps([self.subscriber_id, hashed]))


@pytest.fixture
def site(project: Project) -> Iterator[Site]:
    settings = project.settings()
    with open_store(settings) as store:
        store.upsert_subscribers([Subscriber(ADDRESS, "Ana", "en", frozenset())], "t")
        found = store.record_by_email(ADDRESS)
    assert found is not None
    app = create_app(settings)
    with running(app) as base:
        yield Site(project, base, app.config["DIGEST_SIGNER"], secret_key(settings),
                   found.subscriber.id)  # fmt: skip


def test_old_preferences_links_expire_and_offer_a_new_one(site: Site) -> None:
    days = site.project.settings().serve.account_link_days
    old = site.old_token("preferences", days * 86400 + 60)
    recent = site.old_token("preferences", days * 86400 - 3600)
    visitor = Browser(site.base)
    assert visitor.get(f"/preferences/{recent}").status == 200
    page = visitor.get(f"/preferences/{old}")
    assert page.status == 410 and 'href="/account/link"' in page.body
    # in Ana's language (en), even to a browser that asks for French: the link was
    # hers, only old; a forged one is nobody's, and gets the browser's language
    french = Browser(site.base, language="fr")
    expired = french.get(f"/preferences/{old}")
    assert expired.status == 410 and "Link expired" in expired.body, expired.body
    forged = french.get(f"/preferences/{old[:-2]}xx")
    assert forged.status == 400 and "Lien non valide" in forged.body
    assert visitor.get(f"/preferences/{old}/data").status == 410
    csrf = visitor.get(f"/preferences/{recent}").csrf()
    assert visitor.post(f"/preferences/{old}/erase", {"csrf_token": csrf}).status == 410
    assert visitor.post(f"/preferences/{old}/unsubscribe", {"csrf_token": csrf}).status == 410
    assert site.status() == "active"


def test_unsubscribe_links_never_expire(site: Site) -> None:
    ancient = site.old_token("unsubscribe", TEN_YEARS)
    reply = Browser(site.base).post(f"/unsubscribe/{ancient}", {"List-Unsubscribe": "One-Click"})
    assert reply.status == 200 and site.status() == "unsubscribed"


def test_a_new_link_is_mailed_to_a_known_address_only(site: Site) -> None:
    outbox = site.project.root / "outbox"
    visitor = Browser(site.base)
    for address in (ADDRESS, "stranger@example.org"):
        form = visitor.get("/account/link")
        assert form.status == 200
        reply = visitor.post("/account/link", {"csrf_token": form.csrf(), "email": address})
        assert reply.status == 200 and "Check your inbox" in reply.body
    assert mails_to(outbox, "stranger@example.org") == []
    [mail] = mails_to(outbox, ADDRESS)
    assert mail["Subject"] == "Your link to Brief OTAN & Europe"
    assert "60 days" in text_of(mail)
    fresh = path_of(link(text_of(mail), "preferences"))
    assert visitor.get(fresh).status == 200
    assert visitor.post("/account/link", {"email": ADDRESS}).status == 400  # no CSRF token


def test_tokens_carry_a_keyed_hash_of_the_address(site: Site) -> None:
    token = site.signer.sign("preferences", site.subscriber_id, ADDRESS)
    _, payload = URLSafeTimedSerializer(site.key, salt="digest.preferences").loads_unsafe(token)
    unkeyed = hashlib.sha256(ADDRESS.encode()).hexdigest()
    assert isinstance(payload, list) and payload[0] == site.subscriber_id
    assert payload[1] not in unkeyed  # no prefix of the bare SHA-256 of the address
    other = Signer("another key, also long enough to sign links!!")
    assert other.address_hash(ADDRESS) != site.signer.address_hash(ADDRESS)


def test_links_made_before_the_keyed_hash_still_unsubscribe_only(site: Site) -> None:
    legacy = hashlib.sha256(ADDRESS.encode()).hexdigest()[:16]
    visitor = Browser(site.base)
    preferences = site.old_token("preferences", 60, legacy)
    page = visitor.get(f"/preferences/{preferences}")
    assert page.status == 404 and 'href="/account/link"' in page.body
    unsubscribe = site.old_token("unsubscribe", TEN_YEARS, legacy)
    reply = visitor.post(f"/unsubscribe/{unsubscribe}", {"List-Unsubscribe": "One-Click"})
    assert reply.status == 200 and site.status() == "unsubscribed"
