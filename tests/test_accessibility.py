"""axe-core in headless Chromium: no serious or critical violation on the email (light
and dark, as `prefers-color-scheme` emulation shows it) or on any subscriber page.

axe-core comes from npm into the git-ignored `.axe/` (shared with the desk's test;
installed here on first use, or beforehand by .ci/run); Chromium is Debian's.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, Page

from digest import pipeline
from digest.cli import cli
from digest.models import Subscriber, Variant
from digest.store import open_store
from digest.web.app import create_app
from digest.web.server import running
from tests.browser import chromium, require_chromium
from tests.conftest import REPO, Project
from tests.webclient import link, mails_to, path_of, text_of

AXE_DIR = REPO / ".axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
DAY = dt.date(2025, 12, 3)
NOW = dt.datetime(2025, 12, 8, 6, 0, tzinfo=dt.UTC)
SCHEMES = ("light", "dark")
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + (n.failureSummary || ''))}));
}"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    require_chromium()
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            message = "npm not found: cannot install axe-core (apt-get install npm)"
            if os.environ.get("DIGEST_REQUIRE_BROWSER") == "1":
                pytest.fail(message)
            pytest.skip(message)
        subprocess.run(
            [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR),
             "axe-core@4"],
            check=True, timeout=300,
        )  # fmt: skip
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with chromium() as opened:
        yield opened


def serious_violations(page: Page, axe: str) -> list[dict[str, Any]]:
    page.add_script_tag(content=axe)
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("variant", ["fr:all", "en:all", "en:hybrid|ukraine"])
def test_the_email_has_no_serious_axe_violation(
    project: Project, browser: Browser, axe_source: str, scheme: str, variant: str
) -> None:
    settings = project.settings()
    issue = pipeline.assemble(settings, pipeline.read_entries(settings, DAY), DAY)
    edition = pipeline.Edition(settings, issue, pipeline.make_signer(settings), NOW)
    language, _, themes = variant.partition(":")
    chosen = frozenset() if themes == "all" else frozenset(themes.split("|"))
    compiled = edition.compiled(Variant(language, chosen))
    html = compiled.html.fill(
        {
            "name": "Ana",
            "unsubscribe_url": "https://x.example/u",
            "preferences_url": "https://x.example/p",
        }
    )
    page = browser.new_page(color_scheme=scheme)  # type: ignore[arg-type]
    page.set_content(html, wait_until="load")
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    headings = page.evaluate("[...document.querySelectorAll('h1,h2,h3')].map(h => h.tagName)")
    assert headings.count("H1") == 1 and "H2" in headings and "H3" in headings
    assert serious_violations(page, axe_source) == []
    if scheme == "dark":  # the theme colours are adjusted, not all turned one link blue
        colours = page.evaluate(
            "[...document.querySelectorAll('h2[id]')].map(h => getComputedStyle(h).color)"
        )
        assert len(set(colours)) == len(colours) > 1
    page.close()


def _sent_issue_and_reader(project: Project) -> tuple[str, str]:
    """Send the sample week, add one more reader; return their preferences and
    unsubscribe paths."""
    runner = CliRunner()
    config = ["--config", str(project.config)]
    sample = str(project.root / "subscribers" / "sample.csv")
    assert runner.invoke(cli, [*config, "subscribers", "import", sample]).exit_code == 0
    assert runner.invoke(cli, [*config, "send", "--date", "2025-12-03"]).exit_code == 0
    settings = project.settings()
    with open_store(settings) as store:
        store.upsert_subscribers([Subscriber("lea@example.org", "Léa", "fr", frozenset())], "t")
        record = store.record_by_email("lea@example.org")
    assert record is not None
    signer = create_app(settings).config["DIGEST_SIGNER"]
    token = signer.sign("preferences", record.subscriber.id, "lea@example.org")
    return (
        f"/preferences/{token}",
        f"/unsubscribe/{signer.sign('unsubscribe', record.subscriber.id, 'lea@example.org')}",
    )


def test_every_subscriber_page_has_no_serious_axe_violation(
    project: Project, browser: Browser, axe_source: str
) -> None:
    preferences, unsubscribe = _sent_issue_and_reader(project)
    outbox = project.settings().delivery.outbox_dir
    with running(create_app(project.settings())) as base:
        for scheme in SCHEMES:
            page = browser.new_page(color_scheme=scheme)  # type: ignore[arg-type]
            checked: dict[str, list[dict[str, Any]]] = {}

            def check(name: str, page: Page = page, checked: dict[str, Any] = checked) -> None:
                checked[name] = serious_violations(page, axe_source)

            for path in ("/subscribe", preferences, unsubscribe, "/account/link", "/archive",
                         "/archive/2025-W49", "/archive/2025-W49?lang=en",
                         "/no-such-page"):  # fmt: skip
                page.goto(base + path)
                check(path)

            # A refused address: the form comes back with the field marked and focused.
            page.goto(base + "/subscribe")
            page.fill("#email", "not-an-address")
            page.fill("#name", "Ana")
            page.check("input[name=themes][value=summit]")
            with page.expect_navigation():
                page.evaluate("document.getElementById('subscribe').submit()")
            assert page.evaluate("document.activeElement.id") == "email"
            assert page.get_attribute("#email", "aria-invalid") == "true"
            assert page.input_value("#email") == "not-an-address"
            assert page.is_checked("input[name=themes][value=summit]")
            check("/subscribe (refused)")

            # Signing up: the "check your inbox" page, then the confirm page.
            address = f"{scheme}@example.org"
            page.fill("#email", address)
            with page.expect_navigation():
                page.click("button[type=submit]")
            check("/subscribe (sent)")
            [mail] = mails_to(outbox, address)
            page.goto(base + path_of(link(text_of(mail), "confirm")))
            check("/confirm")

            # Preferences: save looks unlike the irreversible buttons; no theme is explained.
            page.goto(base + preferences)
            save = page.locator("button.primary").first
            erase = page.locator("button.danger").last
            style = "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]"
            assert save.evaluate(style) != erase.evaluate(style)
            for box in page.locator("input[name=themes]").all():
                box.uncheck()
            with page.expect_navigation():
                save.click()
            assert page.locator("#themes-error").is_visible()
            check("/preferences (no theme)")
            with page.expect_navigation():
                page.locator("button.danger").last.click()
            assert page.locator("input[name=confirmed]").count() == 1
            check("/preferences/erase (asked)")
            page.close()
            assert {name: v for name, v in checked.items() if v} == {}, scheme
