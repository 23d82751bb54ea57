"""The editor's preview, served for real on 127.0.0.1 and driven by headless Chromium."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from flask import Flask

from digest.web.app import create_app
from digest.web.preview import DAY_KEY, watcher
from digest.web.server import running
from tests.browser import chromium, require_chromium
from tests.conftest import Project

LONG_WORD = "Ultra" + "x" * 150


@pytest.fixture
def preview_app(project: Project) -> Iterator[Flask]:
    project.write_entry(
        "2025-12-02-long-word.md",
        "---\ntitle: Un identifiant sans espace\ndate: 2025-12-02\nthemes: [hybrid]\n"
        f"source: https://example.org/{LONG_WORD}\n---\nLe code {LONG_WORD} circule. "
        "Il ne doit pas élargir la page.\n",
    )
    app = create_app(project.settings(), editor=True)
    app.config[DAY_KEY] = dt.date(2025, 12, 3)
    live = watcher(app)
    try:
        yield app
    finally:
        live.stop()


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def test_preview_is_only_in_the_editor_app(project: Project) -> None:
    with running(create_app(project.settings())) as base:
        assert fetch(f"{base}/preview/")[0] == 404


def test_preview_page_shows_subject_size_text_and_errors(preview_app: Flask) -> None:
    with running(preview_app) as base:
        status, page = fetch(f"{base}/preview/?variant=en:ukraine")
        assert status == 200
        assert 'id="subject">Brief OTAN &amp; Europe · No. 49' in page
        assert "KB of Gmail" in page and 'id="checks"' in page
        assert "New air defence package for Ukraine" in page  # the plain-text part
        assert "Drones repérés" not in page  # not in this variant
        status, page = fetch(f"{base}/preview/?variant=xx:all")
        assert status == 200 and "language &#39;xx&#39; is not one of fr, en" in page
        status, text = fetch(f"{base}/preview/raw?variant=fr:all&part=text")
        assert status == 200 and text.startswith("Brief OTAN & Europe\n")
        status, body = fetch(f"{base}/preview/version")
        assert json.loads(body) == {"version": 0}


def test_chromium_sections_variant_switch_and_no_horizontal_scroll(preview_app: Flask) -> None:
    require_chromium()
    with running(preview_app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/preview/?variant=fr:all")
        desktop = page.frame_locator("#desktop")
        for title in ["Dépenses de défense", "Ukraine", "Menaces hybrides", "En bref"]:
            assert desktop.get_by_text(title, exact=True).first.is_visible()
        assert page.locator("#text").inner_text().startswith("Brief OTAN & Europe")

        with page.expect_navigation():
            page.select_option("#language", "en")
        assert "variant=en%3Aall" in page.url
        assert page.locator("#variant-label").inner_text() == "en:all"
        desktop = page.frame_locator("#desktop")
        desktop.get_by_text("Defence spending", exact=True).first.wait_for()
        assert desktop.get_by_text("Dépenses de défense", exact=True).count() == 0

        with page.expect_navigation():
            page.select_option("#themes", "hybrid")
        assert page.locator("#variant-label").inner_text() == "en:hybrid"
        page.frame_locator("#desktop").get_by_text("Hybrid threats", exact=True).first.wait_for()
        assert (
            page.frame_locator("#desktop").get_by_text("Defence spending", exact=True).count() == 0
        )

        mobile = page.frame_locator("#mobile").locator("html")
        mobile.get_by_text("Un identifiant sans espace").wait_for()
        width, scroll = mobile.evaluate("el => [el.clientWidth, el.scrollWidth]")
        assert width <= 375
        assert scroll <= width, f"horizontal scroll at 375 px: {scroll} > {width}"


def test_saving_an_entry_reloads_the_preview(preview_app: Flask, project: Project) -> None:
    require_chromium()
    with running(preview_app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{base}/preview/?variant=fr:all")
        page.evaluate("window.__notReloaded = true")
        project.write_entry(
            "2025-12-03-drones.md",
            "---\ntitle: Titre corrigé par la rédaction\ndate: 2025-12-03\nlanguage: fr\n"
            "themes: [hybrid]\n---\nUn texte revu.\n",
        )
        # Bounded wait for the reload; how fast it comes is the benchmark's business.
        page.wait_for_function("() => window.__notReloaded !== true", timeout=15_000)
        page.wait_for_load_state()
        assert "Titre corrigé par la rédaction" in page.locator("#text").inner_text()
