"""A real browser (headless Chromium) fills in the subscribe form on the served app."""

from __future__ import annotations

from digest.store import open_store
from digest.web.app import create_app
from digest.web.server import running
from tests.browser import chromium, require_chromium
from tests.conftest import Project
from tests.webclient import link, mails_to, path_of, text_of


def test_browser_fills_in_the_subscribe_form(project: Project) -> None:
    require_chromium()
    outbox = project.root / "outbox"
    with running(create_app(project.settings())) as base, chromium() as browser:
        page = browser.new_page()
        page.goto(f"{base}/subscribe")
        # The honeypot is out of sight for people: placed left of the page.
        box = page.locator("input[name=website]").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 0
        page.fill("input[name=email]", "browser@example.org")
        page.fill("input[name=name]", "Brow Ser")
        page.select_option("select[name=language]", "en")
        page.check("input[name=themes][value=summit]")
        page.click("button[type=submit]")
        page.wait_for_selector("h1:has-text('Check your inbox')")

        [mail] = mails_to(outbox, "browser@example.org")
        page.goto(base + path_of(link(text_of(mail), "confirm")))
        page.click("button[type=submit]")
        page.wait_for_selector("h1:has-text('Subscription confirmed')")
    with open_store(project.settings()) as store:
        record = store.record_by_email("browser@example.org")
    assert record is not None
    assert record.status == "active" and record.subscriber.name == "Brow Ser"
    assert record.subscriber.language == "en" and record.subscriber.themes == {"summit"}
    assert record.consent_source == "web form (double opt-in)"
