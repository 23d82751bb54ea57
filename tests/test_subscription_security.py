"""Forged, altered, expired and misused tokens, CSRF and the honeypot: each gets a 4xx
(or the same neutral answer) and changes nothing in the store."""

from __future__ import annotations

import time
import urllib.request
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
from tests.webclient import Browser


@dataclass
class Site:
    project: Project
    base: str
    signer: Signer
    active_id: int
    pending_id: int

    def state(self) -> list[tuple[str, str, str, str]]:
        with open_store(self.project.settings()) as store:
            return [
                (r.subscriber.email, r.status or "", r.subscriber.language,
                 "|".join(sorted(r.subscriber.themes)))
                for r in store.records()
            ]  # fmt: skip


@pytest.fixture
def site(project: Project) -> Iterator[Site]:
    settings = project.settings()
    with open_store(settings) as store:
        store.upsert_subscribers([Subscriber("on@example.org", "On", "fr", frozenset())], "t")
        pending = store.add_pending(Subscriber("wait@example.org", "", "en", frozenset()), "t")
        active = store.record_by_email("on@example.org")
    assert active is not None
    app = create_app(settings)
    with running(app) as base:
        yield Site(project, base, app.config["DIGEST_SIGNER"], active.subscriber.id,
                   pending.subscriber.id)  # fmt: skip


def _altered(token: str) -> str:
    """One character of the signed payload changed (not the signature's padding bits)."""
    swap = "x" if token[5] != "x" else "y"
    return token[:5] + swap + token[6:]


def test_forged_and_altered_tokens_get_4xx_and_change_nothing(site: Site) -> None:
    before = site.state()
    good = site.signer.sign("unsubscribe", site.active_id, "on@example.org")
    forged = Signer("another key that is long enough to be a key!!").sign(
        "unsubscribe", site.active_id, "on@example.org"
    )
    visitor = Browser(site.base)
    for token in (forged, _altered(good), "garbage"):
        reply = visitor.post(f"/unsubscribe/{token}", {"List-Unsubscribe": "One-Click"})
        assert reply.status == 400 and "not valid" in reply.body
        assert visitor.get(f"/preferences/{token}").status == 400
    assert site.state() == before


def test_token_for_another_address_or_purpose_is_refused(site: Site) -> None:
    before = site.state()
    visitor = Browser(site.base)
    # Right id, wrong address hash (the address changed or the row was reused).
    stale = site.signer.sign("unsubscribe", site.active_id, "someone-else@example.org")
    assert visitor.post(f"/unsubscribe/{stale}", {"List-Unsubscribe": "One-Click"}).status == 404
    unsubscribe = site.signer.sign("unsubscribe", site.pending_id, "wait@example.org")
    preferences = site.signer.sign("preferences", site.active_id, "on@example.org")
    page = visitor.get("/subscribe")
    assert visitor.post(f"/confirm/{unsubscribe}", {"csrf_token": page.csrf()}).status == 400
    assert visitor.get(f"/preferences/{unsubscribe}").status == 400
    assert (
        visitor.post(f"/unsubscribe/{preferences}", {"List-Unsubscribe": "One-Click"}).status == 400
    )
    assert site.state() == before


def test_expired_confirm_link_gets_410_and_changes_nothing(site: Site) -> None:
    settings = site.project.settings()

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - (settings.serve.confirm_hours + 1) * 3600

    serializer = URLSafeTimedSerializer(secret_key(settings), salt="digest.confirm", signer=Past)
    old = serializer.dumps([site.pending_id, site.signer.address_hash("wait@example.org")])
    fresh = site.signer.sign("confirm", site.pending_id, "wait@example.org")
    before = site.state()
    visitor = Browser(site.base)
    page = visitor.get(f"/confirm/{fresh}")
    assert page.status == 200
    assert visitor.get(f"/confirm/{old}").status == 410
    assert visitor.post(f"/confirm/{old}", {"csrf_token": page.csrf()}).status == 410
    assert site.state() == before
    assert visitor.post(f"/confirm/{fresh}", {"csrf_token": page.csrf()}).status == 200
    assert ("wait@example.org", "active", "en", "") in site.state()


def test_forms_without_csrf_token_are_refused(site: Site) -> None:
    before = site.state()
    visitor = Browser(site.base)
    preferences = site.signer.sign("preferences", site.active_id, "on@example.org")
    assert visitor.get(f"/preferences/{preferences}").status == 200  # has a session now
    form = [("language", "en"), ("themes", "ukraine")]
    assert visitor.post(f"/preferences/{preferences}", form).status == 400
    wrong = [("csrf_token", "x" * 43), *form]
    assert visitor.post(f"/preferences/{preferences}", wrong).status == 400
    assert visitor.post(f"/preferences/{preferences}/erase", {}).status == 400
    assert visitor.post("/subscribe", {"email": "bot@example.org"}).status == 400
    # A token from another visitor's session does not work either.
    other = Browser(site.base).get("/subscribe").csrf()
    reply = visitor.post("/subscribe", {"csrf_token": other, "email": "bot@example.org"})
    assert reply.status == 400
    confirm = site.signer.sign("confirm", site.pending_id, "wait@example.org")
    assert visitor.post(f"/confirm/{confirm}", {}).status == 400
    assert site.state() == before


def test_honeypot_gets_the_same_answer_and_creates_nobody(site: Site) -> None:
    before = site.state()
    outbox = site.project.root / "outbox"
    human, bot = Browser(site.base), Browser(site.base)
    h = human.post("/subscribe", {"csrf_token": human.get("/subscribe").csrf(),
                                  "email": "human@example.org"})  # fmt: skip
    b = bot.post("/subscribe", {"csrf_token": bot.get("/subscribe").csrf(),
                                "email": "bot@example.org", "website": "http://spam"})  # fmt: skip
    assert (h.status, h.body) == (b.status, b.body) == (200, h.body)
    after = site.state()
    assert [row for row in after if row not in before] == [
        ("human@example.org", "pending", "en", "")
    ]
    assert not any("bot@example.org" in p.read_text() for p in outbox.glob("*.eml"))


def test_one_click_needs_no_cookie_and_is_idempotent(site: Site) -> None:
    token = site.signer.sign("unsubscribe", site.active_id, "on@example.org")
    for _ in range(2):
        request = urllib.request.Request(
            f"{site.base}/unsubscribe/{token}", data=b"List-Unsubscribe=One-Click", method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Referrer-Policy"] == "no-referrer"
    assert ("on@example.org", "unsubscribed", "fr", "") in site.state()


def test_subscribe_form_is_rate_limited(project: Project) -> None:
    settings = project.settings(DIGEST_SERVE_SUBSCRIBE_PER_HOUR="3")
    outbox = project.root / "outbox"
    with running(create_app(settings)) as base:
        visitor = Browser(base)
        token = visitor.get("/subscribe").csrf()
        first = visitor.post("/subscribe", {"csrf_token": token, "email": "a@example.org"})
        again = visitor.post("/subscribe", {"csrf_token": token, "email": "a@example.org"})
        # Same answer, but only one email to the address within the gap.
        assert (first.status, first.body) == (again.status, again.body)
        assert len(list(outbox.glob("*.eml"))) == 1
        assert (
            visitor.post("/subscribe", {"csrf_token": token, "email": "b@example.org"}).status
            == 200
        )
        assert (
            visitor.post("/subscribe", {"csrf_token": token, "email": "c@example.org"}).status
            == 429
        )
    assert len(list(outbox.glob("*.eml"))) == 2
