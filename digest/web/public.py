"""Pages anyone may reach: health check, the subscribe form and the confirm link.

The subscribe form answers the same page whether the address is new, pending, already
subscribed, or the honeypot caught a bot: the response never tells a stranger who is on
the list. The difference goes into the mailbox, which only its owner reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from digest.models import Subscriber
from digest.store import SubscriberRecord
from digest.subscribers import normalize_address
from digest.tokens import Claim
from digest.web import context, i18n
from digest.web.csrf import check_csrf
from digest.web.i18n import set_language, t
from digest.web.mail import subscription_mail

blueprint = Blueprint("public", __name__)
blueprint.after_request(context.private_headers)
HONEYPOT = "website"
"""A field hidden from people by CSS; naive bots fill every field they find."""


@blueprint.get("/healthz")
def healthz() -> tuple[str, int, dict[str, str]]:
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


def _form(error: str = "", status: int = 200, field: str = "", **values: object) -> tuple[str, int]:
    """The form; after a refusal, with what was typed and `field` marked as faulty."""
    settings = context.settings()
    page = render_template(
        "subscribe.html",
        error=error,
        field=field,
        themes=settings.themes,
        languages=settings.newsletter.languages,
        default_language=i18n.language(),
        values=values,
    )
    return page, status


@blueprint.get("/")
def home() -> ResponseReturnValue:
    """`[newsletter] base_url` itself: a visitor who types it lands on the form, not on
    a bare 404."""
    return redirect(url_for("public.subscribe_form"))


@blueprint.get("/subscribe")
def subscribe_form() -> tuple[str, int]:
    return _form()


@blueprint.post("/subscribe")
def subscribe() -> tuple[str, int]:
    check_csrf()
    settings = context.settings()
    news = settings.newsletter
    limiter = context.limiter()
    if not limiter.allow_client(request.remote_addr or ""):
        context.fail(429, "Too many attempts", "Please wait a while before trying again.")
    language = request.form.get("language", "")
    if language not in news.languages:
        language = i18n.language()
    set_language(language)
    done = render_template(
        "message.html",
        title=t("Check your inbox"),
        text=t(
            "If the address can receive email, a message is on its way with a link "
            "to confirm. Nothing is sent until you confirm."
        ),
    )
    if request.form.get(HONEYPOT, ""):
        return done, 200
    name = " ".join(request.form.get("name", "").split())[:200]
    known = {theme.id for theme in settings.themes}
    themes = frozenset(i for i in request.form.getlist("themes") if i in known)
    if themes == known:
        themes = frozenset()
    typed = request.form.get("email", "")[:320]
    try:
        email = normalize_address(typed, settings.delivery.special_use_domains)
    except ValueError:
        ticked = [i for i in request.form.getlist("themes") if i in known]
        return _form(
            t("This does not look like an email address."), 400, "email",
            email=typed, name=name, language=language, themes=ticked,
        )  # fmt: skip
    if not limiter.allow_mail(email):
        return done, 200  # a mail went to this address minutes ago: same answer, no mail
    record = context.store().add_pending(
        Subscriber(email, name, language, themes),
        consent_source="web form (double opt-in)",
        request_hours=context.settings().serve.confirm_hours,
    )
    sub = record.subscriber
    if record.status == "active":
        kind, url = "known", context.links().link("preferences", sub)
    else:
        # Pending, or coming back after an opt-out: the row is unchanged until the
        # mailbox's owner clicks (their choices wait as a sign-up request); the link
        # names the status it may lift. The mail speaks the language just chosen.
        state = "" if record.status == "pending" else record.status or ""
        kind, url = "confirm", context.links().link("confirm", sub, state)
        sub = dataclasses.replace(sub, language=language)
    message = subscription_mail(settings, sub, kind, url, dt.datetime.now(dt.UTC))
    context.mail(message)
    return done, 200


def _confirmable(record: SubscriberRecord, claim: Claim) -> str:
    """The status this confirm link may turn active, or a 400 page.

    A sign-up link lifts "pending"; a link sent to someone coming back lifts the
    opted-out status it was sent for. So an old sign-up link cannot undo a later
    unsubscribe, complaint or bounce: only a link asked for after it can.
    """
    wanted = claim.state or "pending"
    if record.status not in (wanted, "active"):
        context.fail(400, "Link not valid", "This link no longer matches a subscription.")
    return wanted


def _confirm_max_age() -> int:
    return context.settings().serve.confirm_hours * 3600


@blueprint.get("/confirm/<token>")
def confirm_page(token: str) -> str:
    """A button rather than an instant change: mail scanners open links, people click."""
    record, claim = context.claim_for("confirm", token, _confirm_max_age())
    _confirmable(record, claim)
    if record.status == "active":
        return render_template(
            "message.html",
            title=t("Already confirmed"),
            text=t("This subscription is active."),
        )
    return render_template("confirm.html", email=record.subscriber.email)


@blueprint.post("/confirm/<token>")
def confirm(token: str) -> str:
    check_csrf()
    record, claim = context.claim_for("confirm", token, _confirm_max_age())
    context.store().confirm(record.subscriber.id, _confirmable(record, claim))
    return render_template(
        "message.html",
        title=t("Subscription confirmed"),
        text=t("Thank you: the next issue will reach you."),
        link=context.links().link("preferences", record.subscriber),
        link_text=t("Choose your themes and language"),
    )
