"""Subscriber pages as people meet them: a refused form keeps what was typed and says
which field is wrong, an empty theme choice is explained in place, irreversible actions
ask first, languages go by their own names, and an unknown URL gets a real page."""

from __future__ import annotations

from digest.models import Subscriber
from digest.store import open_store
from digest.web.app import create_app
from digest.web.server import running
from tests.conftest import Project
from tests.webclient import Browser


def _active_reader(project: Project) -> tuple[str, int]:
    """A preferences token of an active French reader of two themes."""
    settings = project.settings()
    with open_store(settings) as store:
        store.upsert_subscribers(
            [Subscriber("lea@example.org", "Léa", "fr", frozenset({"ukraine", "summit"}))], "test"
        )
        record = store.record_by_email("lea@example.org")
    assert record is not None
    app = create_app(settings)
    token = app.config["DIGEST_SIGNER"].sign("preferences", record.subscriber.id, "lea@example.org")
    return token, record.subscriber.id


def test_a_refused_address_keeps_the_form_and_marks_the_field(project: Project) -> None:
    with running(create_app(project.settings())) as base:
        visitor = Browser(base)
        form = visitor.get("/subscribe")
        reply = visitor.post(
            "/subscribe",
            [("csrf_token", form.csrf()), ("email", "ana-at-example.org"), ("name", "Ana B"),
             ("language", "en"), ("themes", "ukraine"), ("themes", "summit")],
        )  # fmt: skip
    assert reply.status == 400
    body = reply.body
    assert 'value="ana-at-example.org"' in body and 'value="Ana B"' in body
    assert '<option value="en" lang="en" selected>' in body
    assert 'value="ukraine" checked' in body and 'value="summit" checked' in body
    assert 'value="hybrid" checked' not in body
    assert 'aria-invalid="true" aria-describedby="email-error" autofocus' in body
    assert 'id="email-error" role="alert">This does not look like an email address.' in body


def test_languages_are_offered_by_their_own_names(project: Project) -> None:
    with running(create_app(project.settings())) as base:
        body = Browser(base, language="en").get("/subscribe").body
    assert ">Français</option>" in body and ">English</option>" in body
    assert ">fr</option>" not in body and ">en</option>" not in body


def test_an_empty_theme_choice_is_explained_on_the_preferences_page(project: Project) -> None:
    token, subscriber_id = _active_reader(project)
    with running(create_app(project.settings())) as base:
        visitor = Browser(base)
        page = visitor.get(f"/preferences/{token}")
        reply = visitor.post(
            f"/preferences/{token}", [("csrf_token", page.csrf()), ("language", "en")]
        )
    assert reply.status == 400
    assert 'id="preferences"' in reply.body  # the same form, not a bare error page
    assert "Choisissez au moins un thème, ou désabonnez-vous plus bas." in reply.body
    assert 'aria-invalid="true" aria-describedby="themes-error"' in reply.body
    assert '<option value="en" lang="en" selected>' in reply.body
    assert " checked" not in reply.body  # as the reader left it
    with open_store(project.settings()) as store:
        kept = store.subscriber(subscriber_id)
    assert kept is not None and kept.themes == {"ukraine", "summit"} and kept.language == "fr"


def test_unsubscribe_and_erase_ask_first(project: Project) -> None:
    token, subscriber_id = _active_reader(project)
    with running(create_app(project.settings())) as base:
        visitor = Browser(base)
        page = visitor.get(f"/preferences/{token}")
        assert page.body.count('class="danger"') == 2 and 'class="primary"' in page.body
        asked = visitor.post(f"/preferences/{token}/unsubscribe", {"csrf_token": page.csrf()})
        assert asked.status == 200 and "Se désabonner ?" in asked.body
        assert f'href="/preferences/{token}"' in asked.body  # a way back
        with open_store(project.settings()) as store:
            still = store.subscriber(subscriber_id)
        assert still is not None and still.status == "active"
        done = visitor.post(
            f"/preferences/{token}/unsubscribe", {"csrf_token": asked.csrf(), "confirmed": "yes"}
        )
        assert done.status == 200
    with open_store(project.settings()) as store:
        gone = store.subscriber(subscriber_id)
    assert gone is not None and gone.status == "unsubscribed"


def test_an_unknown_address_gets_a_styled_localized_404(project: Project) -> None:
    with running(create_app(project.settings())) as base:
        french = Browser(base, language="fr").get("/nulle-part")
        english = Browser(base, language="en").get("/archive/2025-W49/fr/all/extra")
    assert french.status == 404 and english.status == 404
    assert "<h1>Page introuvable</h1>" in french.body and '<html lang="fr">' in french.body
    assert "<h1>Page not found</h1>" in english.body
    for reply in (french, english):
        assert "<style>" in reply.body and "Brief OTAN &amp; Europe" in reply.body
        assert "Not Found" not in reply.body
