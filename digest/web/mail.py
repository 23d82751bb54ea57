"""The one-off emails of the subscriber pages: confirm a sign-up, or (for an address
already subscribed) a link to its preferences. Both go through the configured
transport, like the digest itself. Their strings are in the `web` catalog, so a new
language needs no code."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr

from digest.config import Settings
from digest.models import Message, Subscriber
from digest.render.i18n import translations

WEB_DOMAIN = "web"

CONFIRM_SUBJECT = "Confirm your subscription to %(name)s"
CONFIRM_BODY = (
    "Hello,\n\nSomeone, probably you, asked to receive %(name)s at this address.\n"
    "To confirm, open this link within %(hours)s hours:\n\n%(url)s\n\n"
    "If it was not you, ignore this email: nothing will be sent.\n"
)
KNOWN_SUBJECT = "Your subscription to %(name)s"
KNOWN_BODY = (
    "Hello,\n\nThis address already receives %(name)s.\n"
    "To change your themes or language, or to unsubscribe:\n\n%(url)s\n"
)
LINK_SUBJECT = "Your link to %(name)s"
LINK_BODY = (
    "Hello,\n\nHere is a new link to your subscription to %(name)s, to change your "
    "themes or language, download your data, unsubscribe or erase your address.\n"
    "It works for %(days)s days:\n\n%(url)s\n\n"
    "If you did not ask for it, ignore this email.\n"
)
MAIL_MESSAGES = (CONFIRM_SUBJECT, CONFIRM_BODY, KNOWN_SUBJECT, KNOWN_BODY, LINK_SUBJECT,
                 LINK_BODY)  # fmt: skip
"""Source strings (English) of these emails; each language's `web.po` translates them."""
_TEXTS = {
    "confirm": (CONFIRM_SUBJECT, CONFIRM_BODY),
    "known": (KNOWN_SUBJECT, KNOWN_BODY),
    "link": (LINK_SUBJECT, LINK_BODY),
}


def subscription_mail(
    settings: Settings, subscriber: Subscriber, kind: str, url: str, now: dt.datetime
) -> Message:
    """`kind` is "confirm" (double opt-in link), "known" (preferences link, to an
    address already subscribed) or "link" (a fresh preferences link someone asked for)."""
    news = settings.newsletter
    locale_dir = settings.build.templates_dir / "locale"
    catalog = translations(locale_dir, subscriber.language, WEB_DOMAIN)
    values = {"name": news.name, "url": url, "hours": settings.serve.confirm_hours,
              "days": settings.serve.account_link_days}  # fmt: skip
    subject, body = (catalog.gettext(text) % values for text in _TEXTS[kind])
    _, sender = parseaddr(news.sender)
    domain = sender.rsplit("@", 1)[-1]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = news.sender
    msg["To"] = subscriber.email
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("subscribe", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    # After set_content(), which drops every Content-* header set before it.
    msg["Content-Language"] = subscriber.language
    return Message(
        sender=sender, recipient=subscriber.email, message_id=msg["Message-ID"], data=bytes(msg)
    )
