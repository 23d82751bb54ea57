"""The editor's preview, served for real on 127.0.0.1 and driven by headless Chromium."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from digest.models import Subscriber
from digest.store import open_store
from digest.web.app import create_app
from digest.web.preview import DAY_KEY, theme_sets, watcher
from digest.web.server import running
from tests import browser as browser_module
from tests.browser import chromium, require_chromium
from tests.conftest import Project
from tests.test_design import _filler_count_for

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
        status, page = fetch(f"{base}/preview/?variant=en:ukraine|hybrid")
        assert status == 200
        assert (
            '<option value="hybrid|ukraine" selected>Hybrid threats + Ukraine · 0 readers' in page
        )
        assert 'id="subject">Brief OTAN &amp; Europe · No. 49' in page
        assert "KB of Gmail" in page and 'id="checks"' in page
        text = page.split('<pre id="text"', 1)[1].split("</pre>", 1)[0]
        assert "New air defence package for Ukraine" in text  # the plain-text part
        assert "KFOR extends" not in text  # not in this variant
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

        narrow = browser.new_page(viewport={"width": 320, "height": 700})
        narrow.goto(f"{base}/preview/raw?variant=fr:all")
        width, scroll = narrow.evaluate(
            "() => [document.documentElement.clientWidth, document.documentElement.scrollWidth]"
        )
        assert width == 320 and scroll <= width, f"horizontal scroll at 320 px: {scroll}"

        narrow.emulate_media(color_scheme="dark")
        background, colour = narrow.evaluate(
            "() => [getComputedStyle(document.querySelector('.card td')).backgroundColor,"
            " getComputedStyle(document.querySelector('.card div')).color]"
        )
        assert (background, colour) == ("rgb(27, 32, 39)", "rgb(230, 230, 230)")


def test_saving_an_entry_or_a_template_reloads_the_preview(
    preview_app: Flask, project: Project
) -> None:
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

        template = project.root / "templates" / "email" / "digest.txt.j2"
        page.evaluate("window.__notReloaded = true")
        template.write_text("Édition spéciale\n" + template.read_text("utf-8"), "utf-8")
        page.wait_for_function("() => window.__notReloaded !== true", timeout=15_000)
        page.wait_for_load_state()
        assert page.locator("#text").inner_text().startswith("Édition spéciale")


def test_preview_command_serves_on_loopback(project: Project) -> None:
    """`digest preview` for real: a child process on 127.0.0.1, stopped by its pid."""
    digest = Path(sys.executable).parent / "digest"
    command = [str(digest), "preview", "--config", str(project.config), "--port", "0",
               "--date", "2025-12-03"]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+/preview/", line)
            assert match, f"no preview URL in {line!r}"
            status, page = fetch(match.group(0) + "?variant=en:all")
            assert status == 200 and "Defence spending" in page
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_preview_shows_the_size_warning(project: Project) -> None:
    target = _filler_count_for(project, 93 * 1024)
    body = ("Une phrase assez longue pour remplir le résumé de cette entrée. " * 5) + "\n"
    for n in range(int(target)):
        project.write_entry(
            f"filler-{n}.md",
            f"---\ntitle: Entrée de remplissage numéro {n} sur les drones\ndate: 2025-12-02\n"
            f"---\n{body}",
        )
    app = create_app(project.settings(), editor=True)
    app.config[DAY_KEY] = dt.date(2025, 12, 3)
    try:
        with running(app) as base:
            status, page = fetch(f"{base}/preview/?variant=fr:all")
    finally:
        watcher(app).stop()
    assert status == 200
    assert re.search(r"warning: variant fr:all: HTML is 9\d KB, close to Gmail&#39;s clip", page)


def test_missing_chromium_skips_or_fails_under_require_browser(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser_module, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("DIGEST_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_chromium()
    monkeypatch.setenv("DIGEST_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="no-chromium not found"):
        require_chromium()


def test_preview_lists_check_results_as_digest_check_prints_them(
    project: Project, preview_app: Flask
) -> None:
    project.write_entry(
        "wd.md",
        "---\ntitle: Conférence\ndate: 2025-12-02\nsource: https://example.org/w\n---\n"
        "Il a parlé lundi 2 décembre 2025.\n",
    )
    with running(preview_app) as base:
        status, page = fetch(f"{base}/preview/")
    assert status == 200
    assert re.search(
        r'<h3>1 error</h3>\s*<ul><li><span class="where">briefings/wd\.md:6</span> '
        r"\[weekday-date\] &#39;lundi 2 décembre 2025&#39; says Monday",
        page,
    ), page


def test_theme_sets_offer_each_active_choice_once(project: Project) -> None:
    settings = project.settings()
    every = frozenset(t.id for t in settings.themes)

    def reader(n: int, themes: frozenset[str]) -> Subscriber:
        return Subscriber(email=f"r{n}@example.org", name="", language="fr", themes=themes)

    with open_store(settings) as store:
        pair = frozenset({"ukraine", "hybrid"})
        store.upsert_subscribers(
            [reader(1, pair), reader(2, pair), reader(3, every),
             reader(4, frozenset({"balkans", "summit"}))],
            source="test",
        )  # fmt: skip
        store.unsubscribe(store.subscriber_by_email("r4@example.org").id)  # type: ignore[union-attr]
        assert store.count_subscribers("active") == 3
    sets = theme_sets(settings)
    assert sets[: 1 + len(every)] == [frozenset()] + [frozenset({t.id}) for t in settings.themes]
    assert sets[1 + len(every) :] == [frozenset({"hybrid", "ukraine"})]
