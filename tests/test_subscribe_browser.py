"""A real browser (headless Chromium) fills in the subscribe form on the served app."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from digest.store import Store
from digest.web.app import create_app
from digest.web.server import running
from tests.conftest import Project
from tests.webclient import link, mails_to, path_of, text_of

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("DIGEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{CHROMIUM} is missing and DIGEST_REQUIRE_BROWSER=1")
    pytest.skip(f"{CHROMIUM} is not installed")


def test_browser_fills_in_the_subscribe_form(project: Project) -> None:
    _require_browser()
    from playwright.sync_api import sync_playwright

    outbox = project.root / "outbox"
    with running(create_app(project.settings())) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
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
        finally:
            browser.close()
    with Store(project.settings().store.path) as store:
        record = store.record_by_email("browser@example.org")
    assert record is not None
    assert record.status == "active" and record.subscriber.name == "Brow Ser"
    assert record.subscriber.language == "en" and record.subscriber.themes == {"summit"}
    assert record.consent_source == "web form (double opt-in)"
