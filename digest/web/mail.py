"""The one-off emails of the subscriber pages: confirm a sign-up, or (for an address
already subscribed) a link to its preferences. Both go through the configured
transport, like the digest itself."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr

from digest.config import Settings
from digest.models import Message, Subscriber

_TEXT = {
    "en": {
        "confirm_subject": "Confirm your subscription to {name}",
        "confirm_body": (
            "Hello,\n\nSomeone, probably you, asked to receive {name} at this address.\n"
            "To confirm, open this link within {hours} hours:\n\n{url}\n\n"
            "If it was not you, ignore this email: nothing will be sent.\n"
        ),
        "known_subject": "Your subscription to {name}",
        "known_body": (
            "Hello,\n\nThis address already receives {name}.\n"
            "To change your themes or language, or to unsubscribe:\n\n{url}\n"
        ),
    },
    "fr": {
        "confirm_subject": "Confirmez votre abonnement à {name}",
        "confirm_body": (
            "Bonjour,\n\nQuelqu'un, sans doute vous, a demandé à recevoir {name} "
            "à cette adresse.\nPour confirmer, ouvrez ce lien dans les {hours} heures :\n\n"
            "{url}\n\nSi ce n'était pas vous, ignorez ce message : rien ne sera envoyé.\n"
        ),
        "known_subject": "Votre abonnement à {name}",
        "known_body": (
            "Bonjour,\n\nCette adresse reçoit déjà {name}.\n"
            "Pour changer vos thèmes ou votre langue, ou vous désabonner :\n\n{url}\n"
        ),
    },
}


def subscription_mail(
    settings: Settings, subscriber: Subscriber, kind: str, url: str, now: dt.datetime
) -> Message:
    """`kind` is "confirm" (double opt-in link) or "known" (preferences link)."""
    news = settings.newsletter
    text = _TEXT.get(subscriber.language, _TEXT["en"])
    values = {"name": news.name, "url": url, "hours": settings.serve.confirm_hours}
    _, sender = parseaddr(news.sender)
    domain = sender.rsplit("@", 1)[-1]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = news.sender
    msg["To"] = subscriber.email
    msg["Subject"] = text[f"{kind}_subject"].format(**values)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("subscribe", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg["Content-Language"] = subscriber.language
    msg.set_content(text[f"{kind}_body"].format(**values))
    return Message(
        sender=sender, recipient=subscriber.email, message_id=msg["Message-ID"], data=bytes(msg)
    )
