"""A subscriber's own pages, reached by the signed links in every email: preferences,
RFC 8058 one-click unsubscribe, data download and self-erasure.

Paths match the links `pipeline.Edition.links` puts in emails and headers:
`/unsubscribe/<token>` and `/preferences/<token>`. Preferences links (which also open
the data download and the erasure) expire after `[serve] account_link_days`, and
`/account/link` mails a fresh one to the address; unsubscribe links never expire, as
RFC 8058 expects of the links in old emails.
"""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, render_template, request, url_for

from digest.store import SubscriberRecord
from digest.subscribers import normalize_address, record_data
from digest.web import context
from digest.web.csrf import check_csrf
from digest.web.i18n import t
from digest.web.mail import subscription_mail

blueprint = Blueprint("account", __name__)
blueprint.after_request(context.private_headers)


def _account_max_age() -> int:
    return context.settings().serve.account_link_days * 86400


def _own(token: str) -> SubscriberRecord:
    """The reader a preferences link names, if the link is younger than its lifetime."""
    return context.subscriber_for("preferences", token, _account_max_age())


def _preferences_page(
    token: str, saved: bool = False, error: str = "", language: str = ""
) -> str | tuple[str, int]:
    """The preferences form; with `error`, the refused choice stays as the reader left
    it (no theme ticked, their language) and the page says why, with status 400."""
    record = _own(token)
    settings = context.settings()
    sub = record.subscriber
    page = render_template(
        "preferences.html",
        record=record,
        token=token,
        saved=saved,
        error=error,
        themes=settings.themes,
        languages=settings.newsletter.languages,
        chosen=frozenset() if error else sub.themes or frozenset(t.id for t in settings.themes),
        language=language or sub.language or settings.newsletter.language,
    )
    return (page, 400) if error else page


@blueprint.get("/preferences/<token>")
def preferences(token: str) -> str | tuple[str, int]:
    return _preferences_page(token)


@blueprint.post("/preferences/<token>")
def save_preferences(token: str) -> str | tuple[str, int]:
    check_csrf()
    record = _own(token)
    settings = context.settings()
    known = {theme.id for theme in settings.themes}
    themes = frozenset(i for i in request.form.getlist("themes") if i in known)
    language = request.form.get("language", "")
    if language not in settings.newsletter.languages:
        context.fail(400, "Unknown language", "Choose one of the languages offered.")
    if not themes:
        message = t("Choose at least one theme, or unsubscribe below.")
        return _preferences_page(token, error=message, language=language)
    context.store().set_preferences(
        record.subscriber.id, language, frozenset() if themes == known else themes
    )
    return _preferences_page(token, saved=True)


@blueprint.get("/preferences/<token>/data")
def download_data(token: str) -> Response:
    record = _own(token)
    data = record_data(record)
    data["deliveries"] = context.store().deliveries_of(record.subscriber.id)
    request = context.store().signup_request(record.subscriber.id)
    if request is not None:
        data["signup_request"] = request
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-subscription.json"'},
    )


def _ask_first(token: str, title: str, text: str, button: str) -> str | None:
    """A page asking to confirm a change that cannot be undone, or None once the reader
    confirmed it (`confirmed=yes`, posted by that page's own button)."""
    if request.form.get("confirmed") == "yes":
        return None
    return render_template(
        "confirm_action.html",
        title=t(title),
        text=t(text),
        button=t(button),
        back=url_for("account.preferences", token=token),
    )


@blueprint.post("/preferences/<token>/erase")
def erase(token: str) -> str:
    check_csrf()
    record = _own(token)
    question = _ask_first(
        token,
        "Erase your subscription?",
        "Your address, name and choices are deleted for good, and no issue will reach "
        "you. This cannot be undone.",
        "Erase me for good",
    )
    if question is not None:
        return question
    context.store().erase(record.subscriber.id)
    return render_template(
        "message.html",
        title=t("Erased"),
        text=t("Your address and preferences are deleted. You will get no more email from us."),
    )


@blueprint.post("/preferences/<token>/unsubscribe")
def unsubscribe_from_preferences(token: str) -> str:
    check_csrf()
    record = _own(token)
    question = _ask_first(
        token,
        "Unsubscribe?",
        "You will receive no more issues. You can subscribe again any time.",
        "Yes, unsubscribe",
    )
    if question is not None:
        return question
    context.store().unsubscribe(record.subscriber.id)
    return _unsubscribed()


def _unsubscribed() -> str:
    return render_template(
        "message.html",
        title=t("Unsubscribed"),
        text=t("You will receive no more issues. Changed your mind? Subscribe again any time."),
    )


@blueprint.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> str:
    record = context.subscriber_for("unsubscribe", token)
    return render_template("unsubscribe.html", token=token, record=record)


@blueprint.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> str:
    """RFC 8058: a bare POST (body `List-Unsubscribe=One-Click`) unsubscribes at once.

    No cookie and no CSRF token can be expected from a mail provider's POST; the signed,
    purpose-bound token is the credential. Repeating it changes nothing.
    """
    record = context.subscriber_for("unsubscribe", token)
    context.store().unsubscribe(record.subscriber.id)
    return _unsubscribed()


@blueprint.get("/account/link")
def new_link_form() -> str:
    return render_template("new_link.html", error="")


@blueprint.post("/account/link")
def new_link() -> tuple[str, int]:
    """Mail a fresh preferences link to an address we know; the same answer for any
    address, so the page never tells a stranger who is on the list."""
    check_csrf()
    limiter = context.limiter()
    if not limiter.allow_client(request.remote_addr or ""):
        context.fail(429, "Too many attempts", "Please wait a while before trying again.")
    try:
        email = normalize_address(
            request.form.get("email", "")[:320], context.settings().delivery.special_use_domains
        )
    except ValueError:
        page = render_template(
            "new_link.html", error=t("This does not look like an email address.")
        )
        return page, 400
    done = render_template(
        "message.html",
        title=t("Check your inbox"),
        text=t("If this address is on our list, a message with a new link is on its way."),
    )
    record = context.store().record_by_email(email)
    if record is None or not limiter.allow_mail(email):
        return done, 200
    settings = context.settings()
    sub = record.subscriber
    url = context.links().link("preferences", sub)
    message = subscription_mail(settings, sub, "link", url, dt.datetime.now(dt.UTC))
    context.mail(message)
    return done, 200
