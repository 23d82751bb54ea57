"""What every subscriber page needs from the app: settings, a store per request, the
signer, a transport, and the rule for turning a link token into a subscriber.

The store is opened per request and closed at teardown: connections are not shared
between the threads of the server. Nothing about subscribers lives in process memory
(the subscribe limits are in the store), so several instances behave as one.
"""

from __future__ import annotations

from typing import NoReturn

from flask import Flask, Response, abort, current_app, g, render_template, url_for

from digest.config import Settings
from digest.delivery.transport import Transport
from digest.errors import DeliveryError, TokenError
from digest.links import Links
from digest.models import Message
from digest.pipeline import make_transport
from digest.store import Store, SubscriberRecord, open_store
from digest.tokens import Claim, Signer
from digest.web.i18n import set_language, t
from digest.web.ratelimit import SubscribeLimiter


def settings() -> Settings:
    value: Settings = current_app.config["DIGEST_SETTINGS"]
    return value


def signer() -> Signer:
    value: Signer = current_app.config["DIGEST_SIGNER"]
    return value


def links() -> Links:
    return Links(settings().newsletter.base_url, signer())


def limiter() -> SubscribeLimiter:
    value: SubscribeLimiter = current_app.config["DIGEST_LIMITER"]
    return value


def store() -> Store:
    if "digest_store" not in g:
        g.digest_store = open_store(settings())
    opened: Store = g.digest_store
    return opened


def transport() -> Transport:
    return make_transport(settings())


def mail(message: Message) -> None:
    """Send one subscription email now; a transport failure is a 503 page, since the
    visitor's request cannot be completed without it."""
    sender = transport()
    try:
        sender.send(message)
    except DeliveryError:
        fail(503, "Try again later", "We could not send the email just now.")
    finally:
        sender.close()


def close_store(_exc: BaseException | None = None) -> None:
    opened = g.pop("digest_store", None)
    if opened is not None:
        opened.close()


def install(app: Flask) -> None:
    app.config["DIGEST_LIMITER"] = SubscribeLimiter(
        settings_of(app).serve.subscribe_per_hour, store
    )
    app.teardown_appcontext(close_store)


def settings_of(app: Flask) -> Settings:
    value: Settings = app.config["DIGEST_SETTINGS"]
    return value


def fail(status: int, title: str, text: str, link: str = "", link_text: str = "") -> NoReturn:
    """Stop the request with a small page; nothing has been changed."""
    page = render_template(
        "message.html",
        title=t(title),
        text=t(text),
        link=link,
        link_text=t(link_text) if link_text else "",
    )
    abort(current_app.make_response((page, status)))


def subscriber_for(purpose: str, token: str, max_age: int | None = None) -> SubscriberRecord:
    """The subscriber a link token names, or a 4xx page (see `claim_for`)."""
    return claim_for(purpose, token, max_age)[0]


def _speak_to(purpose: str, claim: object | None) -> None:
    """An expired link's page in the language of the subscriber it was made for."""
    if not isinstance(claim, Claim):
        return
    record = store().record(claim.subscriber_id)
    if record is not None and signer().binds(purpose, claim, record.subscriber.email):
        set_language(record.subscriber.language)


def claim_for(
    purpose: str, token: str, max_age: int | None = None
) -> tuple[SubscriberRecord, Claim]:
    """The subscriber a link token names and the token's claim, or a 4xx page.

    Forged, altered, expired and other-purpose tokens fail the signature; a token whose
    subscriber was erased, or whose address no longer matches, finds nobody.
    """
    try:
        claim = signer().verify(purpose, token, max_age=max_age)
    except TokenError as exc:
        expired = "expired" in str(exc)
        _speak_to(purpose, exc.claim)
        if expired and purpose == "preferences":
            fail(
                410,
                "Link expired",
                "This link has expired. We can mail a new one to your address.",
                link=url_for("account.new_link_form"),
                link_text="Get a new link",
            )
        fail(
            410 if expired else 400,
            "Link expired" if expired else "Link not valid",
            "This link has expired: subscribe again to get a new one."
            if expired
            else "This link is not valid. Use the link from your latest email.",
        )
    record = store().record(claim.subscriber_id)
    if record is None or not signer().binds(purpose, claim, record.subscriber.email):
        if purpose == "preferences":  # e.g. a link made before tokens were keyed
            fail(
                404,
                "Link not valid",
                "This link no longer matches a subscription.",
                link=url_for("account.new_link_form"),
                link_text="Get a new link",
            )
        fail(404, "Link not valid", "This link no longer matches a subscription.")
    set_language(record.subscriber.language)
    return record, claim


def private_headers(response: Response) -> Response:
    """For the subscriber pages: link tokens sit in their URLs, so never leak them in a
    Referer, never let a cache keep them, and never frame the forms (clickjacking)."""
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")
    return response
