"""The editor's desk in `digest preview`, driven in headless Chromium.

Every action is clicked as an editor would, then both sides are checked: the entry file
on disk (front matter changed as asked, body and comments untouched) and the preview
the page shows after its reload.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from playwright.sync_api import Browser, Page

from digest.cli import cli
from digest.models import Entry, Subscriber
from digest.sources.markdown import parse_entry
from digest.store import open_store
from digest.web.app import create_app
from digest.web.preview import DAY_KEY, TOKEN_KEY, watcher
from digest.web.server import running
from tests.browser import chromium, require_chromium
from tests.conftest import REPO, Project, SmtpServer

COMMENTED = (
    "---\n"
    "# Checked by the desk: keep this comment.\n"
    "title: Rutte fixe le cap des 5 % du PIB   # as the agency wrote it\n"
    "date: 2025-12-02\n"
    "source: https://example.org/news/cap\n"
    "language: fr\n"
    "themes: [spending]   # editor's choice\n"
    "---\n"
    "Mark Rutte a rappelé l'objectif de 5 % du PIB pour la défense, dont 3,5 % des "
    "dépenses militaires. « Il n'est pas question de lever le pied », a déclaré Mark Rutte "
    "devant la presse.\n"
    "\n"
    "Un second paragraphe, **intact**.\n"
)

TOML = """+++
# TOML front matter
title = "Le sommet d'Ankara se prépare"  # working title
date = 2025-12-04
language = "fr"
+++
Les Alliés préparent le sommet d'Ankara et ses déclarations.
"""


@pytest.fixture
def desk_project(project: Project) -> Project:
    project.write_entry("2025-12-02-cap.md", COMMENTED)
    project.write_entry("2025-12-04-ankara.md", TOML)
    # A quote of the week needs a named speaker: give the English reader one of their own.
    kyiv = project.root / "briefings" / "2025-12-02-kyiv-aid.md"
    kyiv.write_text(
        kyiv.read_text("utf-8").replace("one minister said", "said Kristin Dahl"), "utf-8"
    )
    return project


@pytest.fixture
def desk_app(desk_project: Project) -> Iterator[Flask]:
    """The desk without live reload: each action's own redirect shows the result, and no
    reload can land in the middle of a test's clicks (the layout test turns it on)."""
    app = create_app(desk_project.settings(), editor=True)
    app.config[DAY_KEY] = dt.date(2025, 12, 3)
    watcher(app).stop()
    yield app


@pytest.fixture
def browser() -> Iterator[Browser]:
    require_chromium()
    with chromium() as opened:
        yield opened


def entry(project: Project, name: str) -> str:
    return (project.root / "briefings" / name).read_text("utf-8")


def read(project: Project, name: str) -> Entry:
    """The entry as `digest build` reads it."""
    settings = project.settings()
    themes = {t.id for t in settings.themes}
    languages = set(settings.newsletter.languages)
    return parse_entry(project.root / "briefings" / name, themes, languages, "fr")


def body_of(text: str) -> str:
    fence = text.splitlines()[0]
    return text.split(f"\n{fence}\n", 1)[1]


def open_desk(browser: Browser, base: str, variant: str = "fr:all") -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/preview/?variant={urllib.parse.quote(variant)}")
    page.wait_for_selector("body[data-frames-ready='1']")
    return page


def row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f"article[data-file='{name}']")


def click(page: Page, locator) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        locator.click()
    page.wait_for_selector("body[data-frames-ready='1']")


def plain_text(page: Page) -> str:
    return page.locator("#text").inner_text()


def test_exclude_then_include_round_trips_the_file(
    desk_app: Flask, desk_project: Project, browser: Browser
) -> None:
    with running(desk_app) as base:
        page = open_desk(browser, base)
        assert "Rutte fixe le cap" in plain_text(page)
        click(page, row(page, "2025-12-02-cap.md").locator("button[data-action=exclude]"))
        text = entry(desk_project, "2025-12-02-cap.md")
        assert text == COMMENTED.replace(
            "themes: [spending]   # editor's choice\n",
            "themes: [spending]   # editor's choice\nexclude: true\n",
        )
        assert "Rutte fixe le cap" not in plain_text(page)
        excluded = page.locator("[data-section=excluded] article[data-file='2025-12-02-cap.md']")
        assert excluded.count() == 1
        assert "exclude: 2025-12-02-cap.md saved" in page.locator("#notice").inner_text()

        click(page, excluded.locator("button[data-action=include]"))
        assert entry(desk_project, "2025-12-02-cap.md") == COMMENTED  # byte for byte
        assert "Rutte fixe le cap" in plain_text(page)


def test_change_theme_moves_the_entry_to_its_new_section(
    desk_app: Flask, desk_project: Project, browser: Browser
) -> None:
    with running(desk_app) as base:
        page = open_desk(browser, base)
        card = row(page, "2025-12-02-cap.md")
        card.locator("select[data-field=theme]").select_option("hybrid")
        click(page, card.locator("button[data-action=theme]"))
        text = entry(desk_project, "2025-12-02-cap.md")
        assert "themes: [hybrid]     # editor's choice\n" in text  # comment column kept
        assert "# Checked by the desk: keep this comment.\n" in text
        assert body_of(text) == body_of(COMMENTED)
        hybrid = page.locator("[data-section=hybrid]")
        assert hybrid.locator("article[data-file='2025-12-02-cap.md']").count() == 1
        preview = plain_text(page)
        assert preview.index("Rutte fixe le cap") > preview.index("MENACES HYBRIDES")
        # Back to the classifier's choice: the key goes.
        card = row(page, "2025-12-02-cap.md")
        card.locator("select[data-field=theme]").select_option("")
        click(page, card.locator("button[data-action=theme]"))
        assert "themes" not in entry(desk_project, "2025-12-02-cap.md")
        assert "(keywords: spending" in row(page, "2025-12-02-cap.md").inner_text()


def test_reorder_within_a_section(desk_app: Flask, desk_project: Project, browser: Browser) -> None:
    with running(desk_app) as base:
        page = open_desk(browser, base)
        section = page.locator("[data-section=spending] article")
        first, second = (section.nth(i).get_attribute("data-file") for i in range(2))
        assert (first, second) == ("2025-12-02-cap.md", "2025-12-01-budgets.md")  # newest first
        before = plain_text(page)
        assert before.index("Rutte fixe le cap") < before.index("Les Alliés relèvent")
        click(page, row(page, "2025-12-02-cap.md").locator("button[data-action=down]"))
        assert "order: 2\n" in entry(desk_project, "2025-12-02-cap.md")
        assert "order: 1\n" in entry(desk_project, "2025-12-01-budgets.md")
        assert body_of(entry(desk_project, "2025-12-02-cap.md")) == body_of(COMMENTED)
        section = page.locator("[data-section=spending] article")
        assert section.nth(0).get_attribute("data-file") == "2025-12-01-budgets.md"
        after = plain_text(page)
        assert after.index("Les Alliés relèvent") < after.index("Rutte fixe le cap")


def test_edit_title_and_summary(desk_app: Flask, desk_project: Project, browser: Browser) -> None:
    with running(desk_app) as base:
        page = open_desk(browser, base)
        card = row(page, "2025-12-02-cap.md")
        card.locator("summary").click()
        card.locator("input[data-field=title]").fill("Rutte : « pas question de lever le pied »")
        click(page, card.locator("button[data-action=title]"))
        text = entry(desk_project, "2025-12-02-cap.md")
        assert "title: 'Rutte : « pas question de lever le pied »' # as the agency" in text
        assert body_of(text) == body_of(COMMENTED)
        assert "Rutte : « pas question de lever le pied »" in plain_text(page)

        card = row(page, "2025-12-02-cap.md")
        card.locator("summary").click()
        card.locator("textarea[data-field=summary]").fill("Un résumé écrit à la main.")
        click(page, card.locator("button[data-action=summary]"))
        assert "summary: Un résumé écrit à la main.\n" in entry(desk_project, "2025-12-02-cap.md")
        preview = plain_text(page)
        assert "Un résumé écrit à la main." in preview
        assert "Un second paragraphe" not in preview
        desktop = page.frame_locator("#desktop")
        assert desktop.get_by_text("Un résumé écrit à la main.").count() == 1


def key_figures(page: Page) -> str:
    return plain_text(page).split("CHIFFRES CLÉS")[1].split("CITATION")[0]


def test_pin_and_drop_figures_and_quotes(
    desk_app: Flask, desk_project: Project, browser: Browser
) -> None:
    with running(desk_app) as base:
        page = open_desk(browser, base)
        card = row(page, "2025-12-02-cap.md")
        card.locator("summary").click()
        figure = card.locator("li[data-highlight^='3,5 %']")
        figure_text = str(figure.get_attribute("data-highlight"))
        assert "5 % du PIB" in key_figures(page) and figure_text in key_figures(page)
        click(page, figure.locator("button[data-action=drop]"))
        text = entry(desk_project, "2025-12-02-cap.md")
        assert "highlights:\n  drop: [" in text and body_of(text) == body_of(COMMENTED)
        assert read(desk_project, "2025-12-02-cap.md").drops == (figure_text,)
        assert figure_text not in key_figures(page) and "5 % du PIB" in key_figures(page)

        english = open_desk(browser, base, "en:all")
        quote = plain_text(english).split("QUOTE OF THE WEEK")[1].split("\n\n")[0]
        assert "We will not let up" in quote  # before the pin: the English reader's own
        english.close()
        card = row(page, "2025-12-02-cap.md")
        card.locator("summary").click()
        quote = card.locator("li[data-highlight^='Il n']")
        click(page, quote.locator("button[data-action=pin]"))
        text = entry(desk_project, "2025-12-02-cap.md")
        pinned = read(desk_project, "2025-12-02-cap.md")
        assert pinned.drops == (figure_text,)
        assert pinned.pins == ("“Il n'est pas question de lever le pied”",)
        assert body_of(text) == body_of(COMMENTED)
        card = row(page, "2025-12-02-cap.md")
        assert card.locator("li[data-highlight^='Il n'] .state").text_content() == "pinned"

        card.locator("summary").click()
        click(page, card.locator("li[data-highlight^='3,5 %'] button[data-action=undrop]"))
        text = entry(desk_project, "2025-12-02-cap.md")
        assert "drop" not in text and "pin:" in text
        assert figure_text in key_figures(page)
        # Even an English reader, who would get the English quote, gets the pinned one.
        english = open_desk(browser, base, "en:all")
        quote = plain_text(english).split("QUOTE OF THE WEEK")[1].split("\n\n")[0]
        assert "Il n'est pas question de lever le pied" in quote


def test_toml_front_matter_is_edited_in_place(
    desk_app: Flask, desk_project: Project, browser: Browser
) -> None:
    with running(desk_app) as base:
        page = open_desk(browser, base)
        card = row(page, "2025-12-04-ankara.md")
        card.locator("select[data-field=theme]").select_option("summit")
        click(page, card.locator("button[data-action=theme]"))
        assert entry(desk_project, "2025-12-04-ankara.md") == TOML.replace(
            'language = "fr"\n', 'language = "fr"\nthemes = ["summit"]\n'
        )
        assert page.locator("[data-section=summit] article[data-file='2025-12-04-ankara.md']")


def test_a_file_edited_behind_the_desks_back_is_not_overwritten(
    desk_app: Flask, desk_project: Project, browser: Browser
) -> None:
    with running(desk_app) as base:
        page = open_desk(browser, base)
        edited = COMMENTED.replace("Un second paragraphe", "Paragraphe réécrit dans vim")
        desk_project.write_entry("2025-12-02-cap.md", edited)
        with page.expect_navigation():
            row(page, "2025-12-02-cap.md").locator("button[data-action=exclude]").click()
        assert entry(desk_project, "2025-12-02-cap.md") == edited
        problem = page.locator("#problem").inner_text()
        assert "2025-12-02-cap.md changed on disk since the page was loaded" in problem
        assert "nothing was written" in problem
        # A move touches two files: one changed file refuses the whole move.
        page = open_desk(browser, base)
        budgets = entry(desk_project, "2025-12-01-budgets.md")
        desk_project.write_entry("2025-12-01-budgets.md", budgets + "\nAjout.\n")
        with page.expect_navigation():
            row(page, "2025-12-02-cap.md").locator("button[data-action=down]").click()
        assert "changed on disk" in page.locator("#problem").inner_text()
        assert entry(desk_project, "2025-12-02-cap.md") == edited
        assert entry(desk_project, "2025-12-01-budgets.md") == budgets + "\nAjout.\n"


def post(base: str, path: str, fields: dict[str, str], host: str = "") -> tuple[int, str]:
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(f"{base}{path}", data=data)
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_writes_need_the_token_a_local_host_and_a_file_inside_the_folder(
    desk_app: Flask, desk_project: Project
) -> None:
    config = (desk_project.config).read_text("utf-8")
    original = entry(desk_project, "2025-12-02-cap.md")
    token = desk_app.config[TOKEN_KEY]
    with running(desk_app) as base:
        fields = {"file": "2025-12-02-cap.md", "action": "exclude", "stamps": "{}"}
        status, page = post(base, "/preview/desk/entry", fields)
        assert status == 403 and "token is missing or stale" in page
        status, page = post(base, "/preview/desk/entry", {**fields, "token": "guess"})
        assert status == 403
        status, page = post(base, "/preview/desk/entry", {**fields, "token": token}, "evil.test")
        assert status == 403 and "answers only to localhost" in page
        status, _ = post(base, "/preview/", {}, "evil.test:8026")
        assert status == 403
        for host in ("localhost", "127.0.0.1:9", "[::1]:8026", "LOCALHOST."):
            request = urllib.request.Request(f"{base}/preview/version", headers={"Host": host})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200, host
        for name in ("../config.toml", "../briefings/../config.toml", "/etc/passwd"):
            stamps = json.dumps({name: "x"})
            status, page = post(
                base, "/preview/desk/entry",
                {"file": name, "action": "exclude", "stamps": stamps, "token": token},
            )  # fmt: skip
            assert status == 400, name
        # A change that would make the file unreadable is refused before writing.
        status, page = _good_post(base, desk_app, desk_project, "theme", "nonexistent")
        assert status == 400 and "not one of the configured themes" in page
        status, page = _good_post(base, desk_app, desk_project, "title", "   ")
        assert status == 400 and "title: empty" in page
    assert desk_project.config.read_text("utf-8") == config
    assert entry(desk_project, "2025-12-02-cap.md") == original


def _good_post(base: str, app: Flask, project: Project, action: str, value: str) -> tuple[int, str]:
    from digest.frontmatter import file_stamp

    name = "2025-12-02-cap.md"
    stamps = json.dumps({name: file_stamp(project.root / "briefings" / name)})
    fields = {"file": name, "action": action, "value": value, "stamps": stamps}
    return post(base, "/preview/desk/entry", {**fields, "token": app.config[TOKEN_KEY]})


def test_the_editor_app_mounts_only_the_preview(desk_app: Flask) -> None:
    rules = {rule.rule for rule in desk_app.url_map.iter_rules()}
    assert rules and all(r.startswith("/preview/") for r in rules), rules
    with running(desk_app) as base:
        for path in ("/subscribe", "/unsubscribe/x", "/preferences/x", "/archive/"):
            try:
                urllib.request.urlopen(f"{base}{path}", timeout=10)
            except urllib.error.HTTPError as exc:
                assert exc.code == 404, path
            else:
                raise AssertionError(f"{path} answered in the editor's app")


PASTED = (
    "Les Alliés renforcent la défense aérienne de l'Ukraine\n\n"
    "Réunis à Bruxelles le mardi 2 décembre 2025, les ministres ont promis de nouveaux "
    "systèmes de défense aérienne à l'Ukraine. Les livraisons commenceront avant l'hiver.\n\n"
    "Drones au-dessus des ports de la Baltique\n\n"
    "Plusieurs ports de la Baltique ont signalé des survols de drones. Les autorités parlent "
    "d'une menace hybride et renforcent la surveillance.\n"
)


def test_import_shows_the_entries_before_writing_them(
    desk_app: Flask, desk_project: Project, browser: Browser
) -> None:
    folder = desk_project.root / "briefings"
    before = sorted(p.name for p in folder.iterdir())
    with running(desk_app) as base:
        page = open_desk(browser, base)
        page.locator("#paste").fill(PASTED)
        with page.expect_navigation():
            page.locator("#import-preview").click()
        result = page.locator("#import-result")
        assert "Les Alliés renforcent la défense aérienne de l'Ukraine" in result.inner_text()
        assert "Drones au-dessus des ports de la Baltique" in result.inner_text()
        rows = result.locator("tbody tr").all_inner_texts()
        assert any("Les Alliés renforcent" in r and "\tUkraine\t" in r for r in rows), rows
        assert "Nothing has been written yet." in result.inner_text()
        assert sorted(p.name for p in folder.iterdir()) == before
        with page.expect_navigation():
            page.locator("#import-accept").click()
        page.wait_for_selector("body[data-frames-ready='1']")
        added = sorted(set(p.name for p in folder.iterdir()) - set(before))
        assert added == [
            "2025-12-02-drones-au-dessus-des-ports-de-la-baltique.md",
            "2025-12-02-les-allies-renforcent-la-defense-aerienne-de-l-ukraine.md",
        ]
        assert "imported:" in page.locator("#notice").inner_text()
        assert row(page, added[0]).count() == 1
        assert "Drones au-dessus des ports de la Baltique" in plain_text(page)


@pytest.fixture
def feed_url() -> Iterator[str]:
    """The fixture feed served over real HTTP on 127.0.0.1."""
    folder = REPO / "tests" / "fixtures" / "feeds"
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/defence-news.rss"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_import_of_a_feed_url_previews_then_writes(
    desk_app: Flask, desk_project: Project, browser: Browser, feed_url: str
) -> None:
    folder = desk_project.root / "briefings"
    before = {p.name for p in folder.iterdir()}
    with running(desk_app) as base:
        page = open_desk(browser, base)
        page.locator("#paste").fill(feed_url)
        with page.expect_navigation():
            page.locator("#import-preview").click()
        result = page.locator("#import-result").inner_text()
        assert "Nordic allies pool orders for air defence interceptors" in result
        assert "Second Black Sea convoy escorted to Odesa" in result
        assert {p.name for p in folder.iterdir()} == before
        with page.expect_navigation():
            page.locator("#import-accept").click()
        added = {p.name for p in folder.iterdir()} - before
        assert "2025-12-02-nordic-allies-pool-orders-for-air-defence-interceptors.md" in added
        assert "Nordic allies pool orders" in plain_text(page)
        # The same URL again: everything is already imported, nothing new to add.
        page.locator("#paste").fill(feed_url)
        with page.expect_navigation():
            page.locator("#import-preview").click()
        assert "Nothing new to add." in page.locator("#import-result").inner_text()


def test_import_of_an_empty_box_says_so(desk_app: Flask, browser: Browser) -> None:
    with running(desk_app) as base:
        page = open_desk(browser, base)
        with page.expect_navigation():
            page.locator("#import-preview").click()
        assert "paste a text or a feed URL first" in page.locator("#problem").inner_text()


def test_proof_status_and_reader_counts(
    desk_project: Project, smtp_server: SmtpServer, browser: Browser
) -> None:
    settings = desk_project.settings(
        DIGEST_DELIVERY_TRANSPORT="smtp",
        DIGEST_SMTP_HOST=smtp_server.host,
        DIGEST_SMTP_PORT=str(smtp_server.port),
        DIGEST_SMTP_SECURITY="none",
    )
    with open_store(settings) as store:
        store.upsert_subscribers(
            [
                Subscriber("a@example.org", "", "en", frozenset({"ukraine"})),
                Subscriber("b@example.org", "", "en", frozenset({"ukraine"})),
                Subscriber("c@example.org", "", "fr", frozenset()),
            ],
            source="test",
        )
    app = create_app(settings, editor=True)
    app.config[DAY_KEY] = dt.date(2025, 12, 3)
    try:
        with running(app) as base:
            page = open_desk(browser, base, "en:ukraine")
            options = page.locator("#themes option").all_inner_texts()
            assert "Ukraine · 2 readers" in options and "All themes · 0 readers" in options
            assert "en · 2 readers" in page.locator("#language option").all_inner_texts()
            readers = page.locator("#readers").inner_text()
            assert "en:ukraine\tUkraine\t2" in readers and "fr:all\tAll themes\t1" in readers
            assert page.locator("#next-send").inner_text().startswith("Next automatic send: Monday")
            assert "No issue sent yet." in page.locator("#issues").inner_text()
            page.locator("#proof-address").fill("editor@example.org")
            with page.expect_navigation():
                page.locator("#proof-send").click()
            notice = page.locator("#notice").inner_text()
            assert notice == "proof of 2025-W49 (en:ukraine) sent to editor@example.org"
            [received] = smtp_server.handler.received
            assert received.recipients == ["editor@example.org"]
            html = received.message.get_body(("html",))
            assert html is not None and "Defence spending" not in html.get_content()
            with open_store(settings) as store:
                assert store.counts("2025-W49") == {}  # a proof is not a delivery
    finally:
        watcher(app).stop()


def test_status_shows_the_last_issues_counts(desk_project: Project, browser: Browser) -> None:
    runner = CliRunner()
    config = ["--config", str(desk_project.config)]
    sample = str(desk_project.root / "subscribers" / "sample.csv")
    assert runner.invoke(cli, [*config, "subscribers", "import", sample]).exit_code == 0
    sent = runner.invoke(cli, [*config, "send", "--date", "2025-12-03", "--force"])
    assert sent.exit_code == 0, sent.output
    app = create_app(desk_project.settings(), editor=True)
    app.config[DAY_KEY] = dt.date(2025, 12, 3)
    try:
        with running(app) as base:
            page = open_desk(browser, base)
            issues = page.locator("#issues tbody tr").nth(0).inner_text()
            assert issues.split("\t") == ["2025-W49", "7", "0", "0", "complete"]
    finally:
        watcher(app).stop()


def test_a_broken_entry_shows_its_error_and_the_rest_renders(
    desk_app: Flask, desk_project: Project, browser: Browser
) -> None:
    desk_project.write_entry(
        "2025-12-03-broken.md", "---\ntitle: [oops\ndate: 2025-12-03\n---\nx\n"
    )
    desk_project.write_entry(
        "2025-12-02-wd.md",
        "---\ntitle: Conférence\ndate: 2025-12-02\nsource: https://example.org/w\n---\n"
        "Il a parlé lundi 2 décembre 2025.\n",
    )
    with running(desk_app) as base:
        page = open_desk(browser, base)
        broken = row(page, "2025-12-03-broken.md")
        assert "error: briefings/2025-12-03-broken.md:" in broken.inner_text()
        assert "Rutte fixe le cap" in plain_text(page)
        assert page.locator("#error").count() == 0
        left_out = page.locator("#broken-note").inner_text()
        assert left_out.startswith("Not in this preview: 2025-12-03-broken.md cannot be read")
        errors = page.locator(".check-group[data-severity=error]")
        assert errors.locator("h3").inner_text() == "2 errors"
        card = row(page, "2025-12-02-wd.md").locator(".problems").inner_text()
        assert card.startswith("error: [weekday-date] line 6: 'lundi 2 décembre 2025' says")
        assert "briefings/2025-12-03-broken.md:" in errors.inner_text()
        assert str(desk_project.root) not in page.locator("#checks").inner_text()


def test_checks_say_zero_problems_when_clean(project: Project, browser: Browser) -> None:
    app = create_app(project.settings(), editor=True)
    app.config[DAY_KEY] = dt.date(2025, 12, 3)
    try:
        with running(app) as base:
            page = open_desk(browser, base)
            assert page.locator("#checks").inner_text().strip() == "0 problems"
    finally:
        watcher(app).stop()


@pytest.fixture
def live_app(desk_project: Project) -> Iterator[Flask]:
    app = create_app(desk_project.settings(), editor=True)
    app.config[DAY_KEY] = dt.date(2025, 12, 3)
    try:
        yield app
    finally:
        watcher(app).stop()


def test_layout_frames_scheme_and_keyboard(
    live_app: Flask, desk_project: Project, browser: Browser
) -> None:
    with running(live_app) as base:
        for width in (1280, 1440, 1920):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(f"{base}/preview/?variant=fr:all")
            page.wait_for_selector("body[data-frames-ready='1']")
            client, scroll = page.evaluate(
                "() => [document.documentElement.clientWidth, document.documentElement.scrollWidth]"
            )
            assert scroll <= client, f"horizontal scroll at {width} px: {scroll} > {client}"
            for frame in ("#desktop", "#mobile"):
                outer, inner = page.evaluate(
                    f"() => {{ const f = document.querySelector('{frame}');"
                    " return [f.clientHeight, f.contentDocument.documentElement.scrollHeight]; }"
                )
                assert outer >= inner, f"{frame} cuts its content at {width} px"
            page.close()

        page = open_desk(browser, base)
        page.evaluate("window.scrollTo(0, 2500)")
        page.evaluate("window.__notReloaded = true")
        text = entry(desk_project, "2025-12-04-ankara.md")
        desk_project.write_entry("2025-12-04-ankara.md", text.replace("working", "working!"))
        page.wait_for_function("() => window.__notReloaded !== true", timeout=15_000)
        page.wait_for_selector("body[data-frames-ready='1']")
        assert abs(page.evaluate("window.scrollY") - 2500) < 5

        def background() -> str:
            return str(
                page.frame_locator("#desktop")
                .locator(".card td")
                .first.evaluate("el => getComputedStyle(el).backgroundColor")
            )

        light = background()
        page.locator("#scheme").click()
        page.wait_for_selector("body[data-frames-ready='1']")
        page.wait_for_function(
            "() => document.querySelector('#desktop').src.includes('scheme=dark')"
        )
        page.frame_locator("#desktop").locator(".card td").first.wait_for()
        page.wait_for_function(
            "() => { const d = document.querySelector('#desktop').contentDocument;"
            " const el = d && d.querySelector('.card td');"
            " return !!el && d.defaultView.getComputedStyle(el).backgroundColor"
            " === 'rgb(27, 32, 39)'; }"
        )
        assert light != background() == "rgb(27, 32, 39)"
        assert page.locator("#scheme").get_attribute("aria-pressed") == "true"

        # Every pane by keyboard: tabbing reaches the plain text and the import box.
        reached = set()
        page.locator("body").focus()
        for _ in range(400):
            page.keyboard.press("Tab")
            reached.add(
                page.evaluate("document.activeElement.id || document.activeElement.tagName")
            )
            if {"text", "paste", "proof-address", "scheme"} <= reached:
                break
        assert {"text", "paste", "proof-address", "scheme"} <= reached


AXE = REPO / ".axe" / "node_modules" / "axe-core" / "axe.min.js"


def axe_script() -> Path:
    """axe-core from npm, installed once into the git-ignored .axe/ folder."""
    if not AXE.exists():
        try:
            subprocess.run(
                ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                 str(AXE.parents[2]), "axe-core@4"],
                check=True, timeout=300, capture_output=True,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.fail(f"cannot install axe-core with npm: {exc}")
    return AXE


def test_axe_finds_no_serious_or_critical_violation(desk_app: Flask, browser: Browser) -> None:
    script = axe_script()
    with running(desk_app) as base:
        page = open_desk(browser, base)
        page.locator("details.edit").first.evaluate("el => el.open = true")
        page.add_script_tag(path=str(script))
        result = page.evaluate("async () => await axe.run(document, {iframes: false})")
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"]
            if v["impact"] in {"serious", "critical"}
        ]
        assert bad == [], bad


def test_build_and_send_honour_the_desks_keys(desk_project: Project) -> None:
    """The keys the desk writes, read by `digest build` (and so by `send`, same path)."""
    folder = desk_project.root / "briefings"
    kyiv = folder / "2025-12-02-kyiv-aid.md"
    kyiv.write_text(
        kyiv.read_text("utf-8").replace("language: en\n", "language: en\nexclude: true\n")
    )
    budgets = folder / "2025-12-01-budgets.md"
    budgets.write_text(
        budgets.read_text("utf-8").replace(
            "language: fr\n", "language: fr\norder: 1\nsummary: Résumé de la rédaction.\n"
        )
    )
    out = desk_project.root / "build"
    config = ["--config", str(desk_project.config)]
    result = CliRunner().invoke(cli, [*config, "build", "--date", "2025-12-03", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "issue.txt").read_text("utf-8")
    assert "New air defence package for Ukraine" not in text
    assert "Résumé de la rédaction." in text and "Plusieurs Alliés ont annoncé" not in text
    spending = text.split("DÉPENSES DE DÉFENSE")[1]
    assert spending.index("Les Alliés relèvent") < spending.index("Rutte fixe le cap")

    budgets.write_text(budgets.read_text("utf-8").replace("order: 1", "order: first"))
    result = CliRunner().invoke(cli, [*config, "build", "--date", "2025-12-03", "--out", str(out)])
    assert result.exit_code != 0
    assert "2025-12-01-budgets.md:7: order: must be a whole number" in result.output


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("exclude: yes please", r"bad\.md:4: exclude: must be true or false"),
        ("order: 1.5", r"bad\.md:4: order: must be a whole number"),
        ("order: true", r"bad\.md:4: order: must be a whole number"),
        ("summary: [a, b]", r"bad\.md:4: summary: must be a text"),
    ],
)
def test_desk_keys_are_validated_with_file_and_line(
    project: Project, line: str, message: str
) -> None:
    from digest.errors import SourceError
    from digest.pipeline import read_entries

    project.write_entry("bad.md", f"---\ntitle: T\ndate: 2025-12-02\n{line}\n---\nx\n")
    with pytest.raises(SourceError, match=message):
        read_entries(project.settings())


def test_reorder_moves_one_place_and_writes_only_what_changes() -> None:
    from digest.web.desk import Candidate, reorder

    def made(name: str, order: int | None, editable: bool = True) -> Candidate:
        day = dt.date(2025, 12, 2)
        entry = Entry(name, name, day, "fr", "", "", "", "", order=order)
        return Candidate(name, entry, "s", editable)

    members = [made("a.md", None), made("b.md", None), made("feed", None, False)]
    assert reorder(members, "b.md", -1) == {"b.md": 1, "a.md": 2}
    assert reorder(members, "a.md", -1) == {}  # already first
    # A feed item has no file to hold an order: the files get theirs, it keeps none (and
    # so sorts after them, as every unordered entry does).
    assert reorder(members, "b.md", 1) == {"a.md": 1, "b.md": 3}
    placed = [made("a.md", 1), made("b.md", 2), made("c.md", 3)]
    assert reorder(placed, "c.md", -1) == {"c.md": 2, "b.md": 3}
