"""Subscribe -> confirm -> preferences -> one-click unsubscribe over real HTTP, with the
emails read from the real transports, and the next `digest send` honouring each change."""

from __future__ import annotations

import json
import urllib.request

from click.testing import CliRunner, Result

from digest.cli import cli
from digest.store import open_store
from digest.web.app import create_app
from digest.web.server import running
from tests.conftest import Project, SmtpServer
from tests.webclient import Browser, html_of, link, mails_to, path_of, text_of


def run(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args])


def status_of(project: Project, email: str) -> str | None:
    with open_store(project.settings()) as store:
        found = store.record_by_email(email)
    return found.status if found else None


def subscribe(browser: Browser, email: str, **extra: str | list[str]) -> str:
    form = browser.get("/subscribe")
    assert form.status == 200
    data: list[tuple[str, str]] = [("csrf_token", form.csrf()), ("email", email)]
    for key, value in extra.items():
        for item in [value] if isinstance(value, str) else value:
            data.append((key, item))
    reply = browser.post("/subscribe", data)
    assert reply.status == 200, reply.body
    return reply.body


def test_subscribe_confirm_preferences_unsubscribe_and_send(project: Project) -> None:
    outbox = project.root / "outbox"
    app = create_app(project.settings())
    with running(app) as base:
        visitor = Browser(base)
        page = subscribe(
            visitor, "Reader@Example.org", name="Ana", language="en", themes=["ukraine", "hybrid"]
        )
        assert "Check your inbox" in page
        assert status_of(project, "reader@example.org") == "pending"

        # The confirmation email, as the file transport wrote it.
        [mail] = mails_to(outbox, "Reader@example.org")
        assert mail["Subject"].startswith("Confirm your subscription")
        confirm = path_of(link(text_of(mail), "confirm"))
        # Opening the link alone (a mail scanner) confirms nothing.
        shown = visitor.get(confirm)
        assert shown.status == 200 and "Confirm" in shown.body
        assert status_of(project, "reader@example.org") == "pending"
        done = visitor.post(confirm, {"csrf_token": shown.csrf()})
        assert done.status == 200 and "Subscription confirmed" in done.body
        assert status_of(project, "reader@example.org") == "active"

    # The next send: English, only the chosen themes.
    sent = run(project, "send", "--date", "2025-12-03")
    assert sent.exit_code == 0, sent.output
    [issue] = [m for m in mails_to(outbox, "Reader@example.org") if "List-Unsubscribe" in m]
    assert issue["Content-Language"] == "en"
    html = html_of(issue)
    assert "Ukraine" in html and "Hybrid threats" in html
    assert "Defence spending" not in html and "Summit outlook" not in html
    preferences = path_of(link(text_of(issue), "preferences"))
    one_click = issue["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    assert issue["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<mailto:" in issue["List-Unsubscribe"]

    with running(create_app(project.settings())) as base:
        visitor = Browser(base)
        page = visitor.get(preferences)
        assert page.status == 200 and "Reader@example.org" in page.body
        saved = visitor.post(
            preferences,
            [("csrf_token", page.csrf()), ("language", "fr"), ("themes", "balkans")],
        )
        # Saved, and the page itself now speaks the subscriber's new language.
        assert saved.status == 200 and "Enregistré" in saved.body
        assert '<html lang="fr">' in saved.body

    # The week of 24 November holds only a Black Sea entry: now in French.
    sent = run(project, "send", "--date", "2025-11-27")
    assert sent.exit_code == 0 and "1 sent" in sent.output, sent.output
    latest = mails_to(outbox, "Reader@example.org")[-1]
    assert latest["Content-Language"] == "fr"
    assert "Balkans et mer Noire" in html_of(latest)

    with running(create_app(project.settings())) as base:
        # RFC 8058: a bare POST to the header's URL, no cookie, no form token.
        request = urllib.request.Request(
            base + path_of(one_click),
            data=b"List-Unsubscribe=One-Click",
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        assert status_of(project, "reader@example.org") == "unsubscribed"
        # GET on the same URL shows a page, and changes nothing by itself.
        again = Browser(base).get(path_of(one_click))
        assert again.status == 200 and "est déjà désabonné" in again.body

    project.write_entry(
        "2025-12-09-next.md",
        "---\ntitle: Sommet à venir\ndate: 2025-12-09\nthemes: [balkans]\n---\nTexte.\n",
    )
    before = len(list(outbox.glob("*.eml")))
    sent = run(project, "send", "--date", "2025-12-09")
    assert sent.exit_code == 0 and "0 sent" in sent.output, sent.output
    assert len(list(outbox.glob("*.eml"))) == before


def test_confirmation_through_smtp_and_same_answer_for_known_addresses(
    project: Project, smtp_server: SmtpServer
) -> None:
    settings = project.settings(
        DIGEST_DELIVERY_TRANSPORT="smtp",
        DIGEST_SMTP_HOST=smtp_server.host,
        DIGEST_SMTP_PORT=str(smtp_server.port),
        DIGEST_SMTP_SECURITY="none",
    )
    assert run(project, "subscribers", "add", "known@example.org").exit_code == 0
    with running(create_app(settings)) as base:
        unknown = subscribe(Browser(base), "new@example.org")
        known = subscribe(Browser(base), "known@example.org")
        assert known == unknown
    received = {r.recipients[0]: r.message for r in smtp_server.handler.received}
    assert set(received) == {"new@example.org", "known@example.org"}
    assert "/confirm/" in text_of(received["new@example.org"])
    # The known address gets its preferences link instead, and stays active.
    assert "/preferences/" in text_of(received["known@example.org"])
    assert status_of(project, "known@example.org") == "active"
    assert status_of(project, "new@example.org") == "pending"


def test_invalid_address_is_refused_with_the_form(project: Project) -> None:
    with running(create_app(project.settings())) as base:
        visitor = Browser(base)
        form = visitor.get("/subscribe")
        reply = visitor.post("/subscribe", {"csrf_token": form.csrf(), "email": "nope"})
        assert reply.status == 400 and "does not look like an email address" in reply.body
    assert run(project, "subscribers", "list", "--json").output.strip() == "[]"


def test_data_download_and_erasure(project: Project) -> None:
    assert run(project, "subscribers", "add", "me@example.org", "--name", "Me").exit_code == 0
    assert run(project, "send", "--date", "2025-12-03").exit_code == 0
    settings = project.settings()
    app = create_app(settings)
    signer = app.config["DIGEST_SIGNER"]
    with open_store(settings) as store:
        record = store.record_by_email("me@example.org")
    assert record is not None
    token = signer.sign("preferences", record.subscriber.id, "me@example.org")
    with running(app) as base:
        visitor = Browser(base)
        data = visitor.get(f"/preferences/{token}/data")
        assert data.status == 200 and "attachment" in data.headers["Content-Disposition"]
        mine = json.loads(data.body)
        assert mine["email"] == "me@example.org" and mine["consent_source"] == "cli"
        assert [d["issue_key"] for d in mine["deliveries"]] == ["2025-W49"]
        page = visitor.get(f"/preferences/{token}")
        asked = visitor.post(f"/preferences/{token}/erase", {"csrf_token": page.csrf()})
        assert asked.status == 200 and "Effacer votre abonnement ?" in asked.body
        assert 'name="confirmed" value="yes"' in asked.body and 'class="danger"' in asked.body
        with open_store(settings) as store:  # only asked: nothing erased yet
            assert store.record_by_email("me@example.org") is not None
        erased = visitor.post(
            f"/preferences/{token}/erase", {"csrf_token": asked.csrf(), "confirmed": "yes"}
        )
        assert erased.status == 200 and "Effacé" in erased.body  # in their language
        assert status_of(project, "me@example.org") is None
        assert visitor.get(f"/preferences/{token}").status == 404
    with open_store(settings) as store:
        left = store.db.execute("SELECT email FROM deliveries").fetchall()
    assert [row["email"] for row in left] == [""]  # the outbox keeps no address


def test_old_confirm_link_cannot_undo_an_unsubscribe(project: Project) -> None:
    app = create_app(project.settings())
    with running(app) as base:
        visitor = Browser(base)
        subscribe(visitor, "late@example.org")
        [mail] = mails_to(project.root / "outbox", "late@example.org")
        confirm = path_of(link(text_of(mail), "confirm"))
        page = visitor.get(confirm)
        assert visitor.post(confirm, {"csrf_token": page.csrf()}).status == 200
        assert run(project, "subscribers", "remove", "late@example.org").exit_code == 0
        assert visitor.get(confirm).status == 400
        assert visitor.post(confirm, {"csrf_token": page.csrf()}).status == 400
    assert status_of(project, "late@example.org") == "unsubscribed"


def test_pages_speak_the_browser_language_or_the_subscriber_s(project: Project) -> None:
    assert run(project, "subscribers", "add", "en@example.org", "--language", "en").exit_code == 0
    app = create_app(project.settings())
    with open_store(project.settings()) as store:
        record = store.record_by_email("en@example.org")
    assert record is not None
    token = app.config["DIGEST_SIGNER"].sign("unsubscribe", record.subscriber.id, "en@example.org")
    with running(app) as base:
        french = Browser(base, language="fr-FR,fr;q=0.9").get("/subscribe")
        assert "S'abonner à Brief OTAN" in french.body and '<html lang="fr">' in french.body
        english = Browser(base, language="en-GB").get("/subscribe")
        assert "Subscribe to Brief OTAN" in english.body
        # A subscriber's link: their language, whatever the browser says.
        page = Browser(base, language="fr").get(f"/unsubscribe/{token}")
        assert "Stop sending" in page.body and '<html lang="en">' in page.body


def test_mail_server_refusal_is_a_503_page(project: Project, smtp_server: SmtpServer) -> None:
    smtp_server.handler.replies.append("451 4.3.0 try again later")
    settings = project.settings(
        DIGEST_DELIVERY_TRANSPORT="smtp",
        DIGEST_SMTP_HOST=smtp_server.host,
        DIGEST_SMTP_PORT=str(smtp_server.port),
        DIGEST_SMTP_SECURITY="none",
    )
    with running(create_app(settings)) as base:
        visitor = Browser(base)
        form = visitor.get("/subscribe")
        reply = visitor.post("/subscribe", {"csrf_token": form.csrf(), "email": "x@example.org"})
        assert reply.status == 503 and "Try again later" in reply.body
    assert smtp_server.handler.received == []
    assert status_of(project, "x@example.org") == "pending"
