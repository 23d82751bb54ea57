"""The subscriber pages' emails speak the subscriber's language from the `web` catalog,
like the pages themselves, so a new language needs a catalog and no code."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from email.message import EmailMessage

from babel.messages.pofile import read_po

from digest.models import Subscriber
from digest.web.mail import MAIL_MESSAGES, subscription_mail
from tests.conftest import REPO, Project

NOW = dt.datetime(2025, 12, 1, 9, tzinfo=dt.UTC)


def parsed(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_every_mail_string_is_in_every_web_catalog() -> None:
    for po in sorted((REPO / "templates" / "locale").glob("*/LC_MESSAGES/web.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle)
        for message in MAIL_MESSAGES:
            entry = catalog.get(message)
            assert entry is not None and entry.string, f"{po}: {message[:40]!r} untranslated"


def test_confirmation_mail_comes_from_the_catalog(project: Project) -> None:
    po = project.root / "templates" / "locale" / "fr" / "LC_MESSAGES" / "web.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace("Confirmez votre abonnement", "Confirmez donc"), encoding="utf-8")
    reader = Subscriber(email="ana@example.org", name="", language="fr", themes=frozenset(), id=1)
    url = "http://127.0.0.1:8025/confirm/TOKEN"
    mail = parsed(subscription_mail(project.settings(), reader, "confirm", url, NOW).data)
    assert mail["Subject"] == "Confirmez donc à Brief OTAN & Europe"
    assert mail["Content-Language"] == "fr"  # kept: set after set_content()
    body = mail.get_content()
    assert url in body and "dans les 48 heures" in body
    english = Subscriber(email="jo@example.org", name="", language="en", themes=frozenset(), id=2)
    known = parsed(subscription_mail(project.settings(), english, "known", url, NOW).data)
    assert known["Subject"] == "Your subscription to Brief OTAN & Europe"
    assert known["Content-Language"] == "en"
    assert "This address already receives Brief OTAN & Europe." in known.get_content()
