"""Every real shape imports: texts, articles, Markdown, numbered lists, HTML pages (saved
or by URL from a real local HTTP server) and feeds; furniture is dropped and reported;
bad input is one `error:` line and nothing written. Fixtures are written in our own words
on the structure of real pages and feeds."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest.cli import cli
from digest.errors import SourceError
from digest.imports import preview_import, write_import
from digest.models import Entry
from digest.pipeline import read_entries
from tests.conftest import FIXTURES, Project

FEEDS, PAGES, PASTED = FIXTURES / "feeds", FIXTURES / "pages", FIXTURES / "pasted"


@dataclass
class Site:
    base: str
    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def site() -> Iterator[Site]:
    """A real HTTP server on 127.0.0.1 (port 0): fixture pages and feeds by path; /slow
    answers after the test's timeout; /huge announces a body over the size cap."""
    state = Site(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path == "/slow":
                time.sleep(3)
            if self.path == "/huge":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(50 * 1024 * 1024))
                self.end_headers()
                return
            found = state.pages.get(self.path)
            if found is None:
                self.send_error(404, "Not Found")
                return
            kind, body = found
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that gave up (/slow, /huge) is expected; stderr is the CLI's

    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    state.pages["/2025/12/drone-shield.html"] = (
        "text/html; charset=utf-8",
        (PAGES / "article.html").read_bytes(),
    )
    state.pages["/empty.html"] = ("text/html", (PAGES / "no-text.html").read_bytes())
    for name in ("media-captions.rss", "science.rdf", "html-content.atom", "no-language.rss"):
        state.pages[f"/feeds/{name}"] = ("application/xml", (FEEDS / name).read_bytes())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def run(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args], env=env)


def empty_folder(project: Project) -> Path:
    folder = project.root / "briefings"
    for path in folder.glob("*.md"):
        path.unlink()
    return folder


def files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md"))}


def test_single_article_with_long_quoted_headline_and_nato_date_lines(project: Project) -> None:
    folder = empty_folder(project)
    result = run(project, "entries", "import", str(PASTED / "single-article.txt"))
    assert result.exit_code == 0, result.output
    assert "read as article in en" in result.output and "1 entry written" in result.output
    for line, what in (
        (2, "update line 'Last updated: 05 Jun. 2025 21:06'"),
        (3, "lone date '05 Jun. 2025 -'"),
        (4, "opening '(As delivered)'"),
        (4, "opening 'Good afternoon.'"),
        (8, "share line 'Share this page'"),
        (9, "image credit 'Photo: Alliance press office'"),
    ):
        assert f"single-article.txt:{line}: removed {what}" in result.output
    (entry,) = read_entries(project.settings())
    assert entry.title == (
        "Secretary General welcomes the agreement on a common air and missile defence plan: "
        '"We are stronger when we build together"'
    )  # longer than 90 characters, ending in a closing quotation mark
    assert str(entry.date) == "2025-06-05"  # the NATO-style date line
    assert entry.language == "en"  # detected: no --language, and the config says fr
    assert entry.text.startswith("Defence ministers agreed today")
    (text,) = files(folder).values()
    for furniture in ("Last updated", "05 Jun. 2025", "As delivered", "Good afternoon",
                      "Share this", "Photo:"):  # fmt: skip
        assert furniture not in text
    assert run(project, "check", "--date", "2025-06-05").exit_code == 0


def test_markdown_headings_and_lists_become_sections_without_markup(project: Project) -> None:
    folder = empty_folder(project)
    result = run(project, "entries", "import", str(PASTED / "markdown-briefing.md"))
    assert result.exit_code == 0, result.output
    assert "read as markdown" in result.output and "3 entries written" in result.output
    entries = {e.title: e for e in read_entries(project.settings())}
    assert set(entries) == {
        "Ukraine: aid for the winter",
        "Drones over the Baltic ports",
        "Spending: a new path to 3.5 %",
    }  # no `#`, `**` or link markup in titles; the `#` document title is not an entry
    drones = entries["Drones over the Baltic ports"]
    assert "<ol>" in drones.body_html and "<li>Navies and coast guards" in drones.body_html
    ukraine = entries["Ukraine: aid for the winter"]
    assert "<ul>" in ukraine.body_html and ukraine.text.endswith("from the ministers' meeting.")
    assert "<em>3.5 % of GDP</em>" in entries["Spending: a new path to 3.5 %"].body_html
    assert all(str(e.date) == "2025-12-03" and e.language == "en" for e in entries.values())
    assert not any("##" in text for text in files(folder).values())


def test_numbered_topics_become_one_entry_each(project: Project) -> None:
    empty_folder(project)
    result = run(project, "entries", "import", str(PASTED / "numbered-topics.txt"))
    assert result.exit_code == 0, result.output
    assert "read as numbered list" in result.output and "4 entries written" in result.output
    entries = sorted(read_entries(project.settings()), key=lambda e: e.id)
    assert [e.title for e in entries] == [
        "Air defence for Ukraine",
        "Budgets for 2026",
        "Drone incursions in Romania",
        "The summit in Ankara",
    ]
    first = next(e for e in entries if e.title == "Air defence for Ukraine")
    assert first.text.startswith("Allies announced two more")  # its own subject first
    assert "took questions on four topics" in first.text  # the lead closes the first entry


def test_saved_article_page_keeps_the_article_and_drops_furniture(project: Project) -> None:
    folder = empty_folder(project)
    result = run(project, "entries", "import", str(PAGES / "article.html"))
    assert result.exit_code == 0, result.output
    assert "read as html page" in result.output and "1 entry written" in result.output
    assert "article.html [main text]:4: removed share line 'Share this article'" in result.output
    (entry,) = read_entries(project.settings())
    assert entry.title.startswith("Allies agree a drone shield for the eastern flank after")
    assert str(entry.date) == "2025-12-02" and entry.language == "en"
    assert entry.source_name == "Northern Defence Review"
    (text,) = files(folder).values()
    for furniture in ("cookie", "Log in", "By Jane Writer", "Share", "Subscribe", "Most read",
                      "Photo:", "tracker"):  # fmt: skip
        assert furniture not in text, furniture
    assert entry.text.count("Officials said the first sensors") == 1


def test_article_page_by_url(project: Project, site: Site) -> None:
    empty_folder(project)
    url = f"{site.base}/2025/12/drone-shield.html"
    result = run(project, "entries", "import", url)
    assert result.exit_code == 0, result.output
    assert "read as html page" in result.output
    (entry,) = read_entries(project.settings())
    assert entry.source_url == url and entry.source_name == "Northern Defence Review"
    assert site.requests == ["/2025/12/drone-shield.html"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing.html", r"/missing\.html: HTTP 404 Not Found"),
        ("/slow", r"/slow: cannot fetch: .*timed out"),
        ("/huge", r"/huge: larger than 5 MB; refused before reading"),
        ("/empty.html", r"/empty\.html: no main text found in this HTML page"),
    ],
)
def test_bad_urls_are_one_error_line_and_nothing_written(
    project: Project, site: Site, path: str, message: str
) -> None:
    folder = empty_folder(project)
    env = {"DIGEST_FEEDS_TIMEOUT": "1" if path == "/slow" else "10"}
    result = run(project, "entries", "import", site.base + path, env=env)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(message, errors[0]), result.output
    assert "Traceback" not in result.output and not list(folder.glob("*.md"))


def test_bad_files_are_one_error_line(project: Project, tmp_path: Path) -> None:
    folder = empty_folder(project)
    cases = {
        "empty.txt": (b"", "empty file, nothing to import"),
        "image.png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        "nav.html": ((PAGES / "no-text.html").read_bytes(), "no main text found"),
        "big.html": (b"<html>" + b"a" * (5 * 1024 * 1024), "file is larger than 5 MB"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = run(project, "entries", "import", str(path))
        assert result.exit_code == 1, result.output
        assert re.search(rf"^error: .*{re.escape(name)}: {message}", result.output, re.M)
        assert "Traceback" not in result.output
    assert not list(folder.glob("*.md"))


def test_media_rss_bodies_are_descriptions_never_captions(project: Project, site: Site) -> None:
    folder = empty_folder(project)
    result = run(project, "entries", "import", f"{site.base}/feeds/media-captions.rss")
    assert result.exit_code == 0, result.output
    assert "read as feed" in result.output and "5 entries written" in result.output
    texts = files(folder)
    everything = "".join(texts.values())
    assert "Narva" not in everything and "Agence Photo" not in everything  # caption, credit
    shield = next(t for n, t in texts.items() if "bouclier" in n)
    assert "Réunis à Bruxelles, les ministres ont adopté un plan commun" in shield
    # The channel title is a section and a slogan: the part that names the host is kept.
    assert "source_name: Le Quotidien\n" in shield
    # Two items with the same title on the same day: both kept, under distinct names.
    same = sorted(n for n in texts if "le-point-sur-la-situation" in n)
    assert len(same) == 2 and "already exists" not in result.output
    assert {("matin" in texts[n]) for n in same} == {True, False}
    # The malformed link is a warning for its item, which is kept without a link.
    assert re.search(r"warning: .*item 5 .*'http://\[::1' is not a usable", result.output)


def test_feeds_source_names_can_be_configured(project: Project) -> None:
    empty_folder(project)
    env = {"DIGEST_FEEDS_NAMES": "lequotidien.test = Le Quotidien (Paris)"}
    result = run(project, "entries", "import", str(FEEDS / "media-captions.rss"), env=env)
    assert result.exit_code == 0, result.output
    entries = read_entries(project.settings())
    assert {e.source_name for e in entries} == {"Le Quotidien (Paris)"}


def test_rdf_atom_and_undeclared_language_feeds(project: Project, site: Site) -> None:
    empty_folder(project)
    for name in ("science.rdf", "html-content.atom", "no-language.rss"):
        result = run(project, "entries", "import", f"{site.base}/feeds/{name}")
        assert result.exit_code == 0 and "read as feed" in result.output, result.output
    entries = {e.title: e for e in read_entries(project.settings())}
    radar = entries["Detecting small drones with passive radar over coastal waters"]
    assert str(radar.date) == "2025-12-03" and radar.language == "en"
    assert radar.text.startswith("We show that passive radar")
    cable = entries["Why the Baltic cable repairs took eleven days"]
    assert "bottleneck: only two were free" in cable.text  # the full content, not the summary
    assert "standing repair fleet" in cable.text and "track()" not in cable.text
    assert cable.source_name == "Northern Security Blog"  # the part of the title naming it
    german = entries["Bundeswehr bestellt weitere Systeme zur Drohnenabwehr"]
    english = entries["Undersea cable operators share outage data with navies"]
    assert (german.language, english.language) == ("de", "en")  # never the config's fr


def test_latin1_feed_without_declaration_and_portuguese_dates(project: Project) -> None:
    empty_folder(project)
    result = run(project, "entries", "import", str(FEEDS / "latin1-undeclared.rss"))
    assert result.exit_code == 0, result.output
    assert "not UTF-8 as declared or implied; read as windows-1252" in result.output
    result = run(project, "entries", "import", str(FEEDS / "portuguese-dates.rss"))
    assert result.exit_code == 0 and "2 entries written" in result.output, result.output
    entries = {e.title: e for e in read_entries(project.settings())}
    assert "Défense aérienne : les ministres s’accordent à Bruxelles" in entries
    navy = entries["Marinha recebe o primeiro navio-patrulha da nova classe"]
    army = entries["Exército testa defesa antidrone na fronteira"]
    assert (str(navy.date), str(army.date)) == ("2025-12-03", "2025-12-05")
    assert navy.language == "pt"  # a third language keeps its own label


def test_latin1_text_file_is_read_with_a_warning(project: Project, tmp_path: Path) -> None:
    empty_folder(project)
    pasted = tmp_path / "note.txt"
    pasted.write_bytes(
        "Défense aérienne renforcée au nord\nLe 2 décembre 2025, les ministres ont décidé "
        "d'acheter ensemble des intercepteurs pour la défense aérienne.\n".encode("latin-1")
    )
    result = run(project, "entries", "import", str(pasted))
    assert result.exit_code == 0, result.output
    assert re.search(r"warning: .*note\.txt: not UTF-8; read as", result.output)
    (entry,) = read_entries(project.settings())
    assert entry.title == "Défense aérienne renforcée au nord" and entry.language == "fr"


def test_french_in_windows_1252_is_not_read_as_central_european(
    project: Project, tmp_path: Path
) -> None:
    # cp1250 decodes these bytes without an error too (à → ŕ, è → č), and charset-normalizer
    # ranked it first: the entry said `ŕ l’est`, `systčmes` and its slug `-r-l-est`.
    empty_folder(project)
    pasted = tmp_path / "otan.txt"
    pasted.write_bytes(
        "L’OTAN renforce sa défense aérienne à l’est\nLes Alliés déploient des systèmes "
        "sol-air près de la frontière.\n".encode("cp1252")
    )
    entry = imported_as_cp1252(project, pasted)
    assert entry.title == "L’OTAN renforce sa défense aérienne à l’est"
    assert "systèmes sol-air près de la frontière" in entry.text
    assert entry.path.name == "2026-01-08-l-otan-renforce-sa-defense-aerienne-a-l-est.md"


def imported_as_cp1252(project: Project, path: Path) -> Entry:
    """The one entry `entries import` writes from `path`, after its warning that the file
    was not UTF-8 and was read as cp1252."""
    result = run(project, "entries", "import", str(path), "--date", "2026-01-08")
    assert result.exit_code == 0, result.output
    warning = rf"warning: .*{re.escape(path.name)}: not UTF-8; read as cp1252\n"
    assert re.search(warning, result.output), result.output
    (entry,) = read_entries(project.settings())
    return entry


def test_a_saved_page_without_a_charset_is_read_in_its_languages_code_page(
    project: Project, tmp_path: Path
) -> None:
    """trafilatura guessed alone and read this page as cp1250, without a warning."""
    empty_folder(project)
    paragraphs = [
        "Les Alliés déploient des systèmes sol-air près de la frontière orientale, à la "
        "demande des pays baltes, pour protéger les ports et les dépôts de carburant.",
        "Les premières batteries arrivent dès la semaine prochaine ; d’autres suivront "
        "après l’hiver, selon le calendrier arrêté par les ministres à Bruxelles.",
    ]
    page = tmp_path / "defense.html"
    page.write_bytes(
        (
            "<!DOCTYPE html><html lang=\"fr\"><head><title>L’OTAN renforce sa défense "
            "aérienne à l’est</title></head><body><article><h1>L’OTAN renforce sa défense "
            "aérienne à l’est</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs)
            + "</article></body></html>"
        ).encode("cp1252")
    )  # fmt: skip
    entry = imported_as_cp1252(project, page)
    assert entry.title == "L’OTAN renforce sa défense aérienne à l’est"
    assert "systèmes sol-air près de la frontière" in entry.text
    assert "d’autres suivront après l’hiver" in entry.text
    # a page that declares its charset is left to the declaration, without a warning
    declared = tmp_path / "declared.html"
    declared.write_bytes(
        page.read_bytes().replace(b"<head>", b'<head><meta charset="windows-1252">')
    )
    empty_folder(project)
    again = run(project, "entries", "import", str(declared), "--date", "2026-01-08")
    assert again.exit_code == 0 and "not UTF-8" not in again.output, again.output
    (entry,) = read_entries(project.settings())
    assert entry.title == "L’OTAN renforce sa défense aérienne à l’est"


def test_a_text_too_short_to_tell_its_language_is_read_as_western(
    project: Project, tmp_path: Path
) -> None:
    empty_folder(project)  # too few letters for a language; cp1250 decodes it as cleanly
    pasted = tmp_path / "frappe.txt"
    pasted.write_bytes("Frappe à l’aube\nDégâts près de la gare.\n".encode("cp1252"))
    result = run(project, "entries", "import", str(pasted), "--date", "2026-01-08")
    assert result.exit_code == 0, result.output
    assert "frappe.txt: not UTF-8; read as cp1252\n" in result.output
    (entry,) = read_entries(project.settings())
    assert (entry.title, entry.markdown.strip()) == ("Frappe à l’aube", "Dégâts près de la gare.")


# Briefings in our own words, each as an editor's Windows machine would save it. Every
# one also decodes without an error in the other code pages.
LEGACY_TEXTS = [
    (  # `iconv -t latin1`: was read as cp1250 (`ŕ l'est`, `systčmes`, `oů`)
        "latin-1",
        "cp1252",
        "fr",
        "La défense aérienne alliée se renforce à l'est\n"
        "Le 7 janvier 2026, les Alliés ont décidé à Bruxelles de déployer des systèmes sol-air "
        "supplémentaires près de la frontière orientale. Selon l'état-major, la menace des "
        "drones à longue portée oblige à protéger les dépôts et les gares où transitent les "
        "renforts. Les premières batteries arriveront en Pologne et en Lituanie d'ici à la fin "
        "du mois ; d'autres suivront au printemps.\n",
    ),
    (  # was read as cp852: `Finlandĺs`, `ô shadow fleetö`, `ľ the third`
        "cp1252",
        "cp1252",
        "en",
        "Finland’s coast guard boards a tanker after cable damage\n"
        "Finland’s coast guard boarded a tanker suspected of dragging its anchor across an "
        "undersea cable – the third such incident this winter. The EU’s foreign ministers will "
        "discuss new sanctions on the “shadow fleet” on Monday.\n",
    ),
    (  # was read as cp1252: `przys³ali myœliwce, ¿eby`; cp1252 is as clean and as coherent
        "cp1250",
        "cp1250",
        "pl",
        "Sojusznicy wzmacniają obronę powietrzną nad Polską\n"
        "Po nocnym naruszeniu przestrzeni powietrznej przez rosyjskie drony sojusznicy "
        "przysłali myśliwce, żeby wesprzeć polską obronę powietrzną. Gdańsk i Gdynia "
        "przygotowują porty na przyjęcie większej liczby okrętów sojuszniczych, a ćwiczenia na "
        "Bałtyku potrwają dwa tygodnie. Wezmą w nich udział załogi z dziewięciu państw.\n",
    ),
    (  # read right before too: kept so that preferring Western code pages cannot break it
        "cp1251",
        "cp1251",
        "uk",
        "Європейські партнери посилюють протиповітряну оборону України\n"
        "Міністри оборони країн ЄС домовилися в Брюсселі про спільну закупівлю зенітних ракет "
        "для України. Перші партії мають надійти до кінця зими, щоб захистити енергетичні "
        "об’єкти від нічних ударів дронів. Командування Повітряних сил повідомило, що за "
        "минулий тиждень було збито понад триста безпілотників.\n",
    ),
]


@pytest.mark.parametrize(("saved_as", "read_as", "language", "text"), LEGACY_TEXTS)
def test_a_text_not_in_utf8_is_read_in_its_language_s_code_page(
    project: Project, tmp_path: Path, saved_as: str, read_as: str, language: str, text: str
) -> None:
    empty_folder(project)
    pasted = tmp_path / "note.txt"
    pasted.write_bytes(text.encode(saved_as))
    result = run(project, "entries", "import", str(pasted), "--date", "2026-01-08")
    assert result.exit_code == 0, result.output
    assert f"note.txt: not UTF-8; read as {read_as}\n" in result.output
    (entry,) = read_entries(project.settings())
    title, body = text.split("\n", 1)
    assert (entry.title, entry.language) == (title, language)
    assert " ".join(entry.markdown.split()) == " ".join(body.split())


def test_preview_writes_nothing_then_write_writes_the_same(project: Project) -> None:
    folder = empty_folder(project)
    settings = project.settings()
    plan = preview_import(settings, str(PASTED / "numbered-topics.txt"))
    assert plan.shape == "numbered list" and len(plan.entries) == 4
    assert not list(folder.glob("*.md"))
    result = write_import(plan)
    assert sorted(w.path for w in result.written) == sorted(folder.glob("*.md"))
    dry = run(project, "entries", "import", str(PASTED / "markdown-briefing.md"), "--dry-run")
    assert dry.exit_code == 0 and "3 entries would be written" in dry.output
    assert len(list(folder.glob("*.md"))) == 4


def test_imported_entries_are_chosen_by_the_classifier_until_the_editor_sets_themes(
    project: Project,
) -> None:
    folder = empty_folder(project)
    assert run(project, "entries", "import", str(PASTED / "numbered-topics.txt")).exit_code == 0
    listed = run(project, "entries", "list", "--json")
    rows = {row["title"]: row for row in json.loads(listed.output)}
    assert {row["chosen_by"] for row in rows.values()} == {"classifier"}
    assert rows["Budgets for 2026"]["theme"] == "spending"
    path = next(folder.glob("*budgets*"))
    text = path.read_text(encoding="utf-8")
    assert "suggested_theme: spending" in text and "\nthemes:" not in text
    path.write_text(text.replace("suggested_theme: spending", "themes: [summit]"), "utf-8")
    rows = {r["title"]: r for r in json.loads(run(project, "entries", "list", "--json").output)}
    assert rows["Budgets for 2026"]["chosen_by"] == "editor"
    assert rows["Budgets for 2026"]["theme"] == "summit"


def test_pasted_content_is_previewed_without_a_file(project: Project) -> None:
    """The editor's import box gives the text itself; nothing is written by a preview."""
    folder = empty_folder(project)
    text = (PASTED / "single-article.txt").read_bytes()
    plan = preview_import(project.settings(), "import box", data=text, source="OTAN")
    assert plan.shape == "article" and [d.meta["source_name"] for d in plan.drafts] == ["OTAN"]
    assert any(str(p).startswith("import box:2: removed update line") for p in plan.problems)
    assert not list(folder.glob("*.md"))
    with pytest.raises(SourceError, match=r"^import box: empty file"):
        preview_import(project.settings(), "import box", data=b"  \n")


def test_page_by_url_with_a_source_name_keeps_its_url(project: Project, site: Site) -> None:
    empty_folder(project)
    url = f"{site.base}/2025/12/drone-shield.html"
    assert run(project, "entries", "import", url, "--source", "NDR").exit_code == 0
    (entry,) = read_entries(project.settings())
    assert (entry.source_url, entry.source_name) == (url, "NDR")


@pytest.mark.parametrize(
    "sentence",
    [
        "Updated guidance was sent to every Ally on Tuesday.",
        "Share prices of defence firms rose after the announcement.",
        "Photos published on Monday show the damaged pipeline.",
        "The regulator fined the company over cookie consent banners that misled users.",
        "Par ailleurs, les ministres ont évoqué la Moldavie.",
        "By the end of the year, two more batteries will be delivered.",
        "Subscribers to the satellite service lost their connection for a day.",
        "Le 5 juin 2025, les Alliés ont adopté un plan.",
    ],
)
def test_news_sentences_are_not_taken_for_furniture(sentence: str) -> None:
    from digest.sources.pasted import furniture_kind

    assert furniture_kind(sentence) is None


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Share this article", "share line"),
        ("Facebook Twitter LinkedIn Email", "share line"),
        ("Partager sur Facebook", "share line"),
        ("Mis à jour le 3 décembre 2025 à 18h04", "update line"),
        ("By Jane Writer and Tom Reporter", "byline"),
        ("Par Jean Dupont", "byline"),
        ("We use cookies to measure our audience. Accept all cookies", "cookie notice"),
        ("Photo: Alliance press office", "image credit"),
        ("© Agence Photo", "image credit"),
        ("Lire aussi : Les Alliés relèvent leurs budgets", "subscribe line"),
        ("05 Jun. 2025 -", "lone date"),
    ],
)
def test_furniture_lines_are_recognised(line: str, kind: str) -> None:
    from digest.sources.pasted import furniture_kind

    assert furniture_kind(line) == kind


def test_hard_wrapped_markdown_paragraphs_stay_whole(project: Project, tmp_path: Path) -> None:
    empty_folder(project)
    notes = tmp_path / "notes.md"
    notes.write_text(
        "## Budgets\n\nMinisters agreed on Wednesday 3 December 2025 to raise\n"
        "defence spending, a step long asked for.\n\n- first item\n- second item\n\n"
        "## Drones\n\nSensors at the ports.\n",
        encoding="utf-8",
    )
    assert run(project, "entries", "import", str(notes)).exit_code == 0
    entries = {e.title: e for e in read_entries(project.settings())}
    budgets = entries["Budgets"]
    assert "<p>Ministers agreed on Wednesday 3 December 2025 to raise\ndefence spending" in (
        budgets.body_html
    )  # one paragraph, not two
    assert budgets.body_html.count("<li>") == 2 and budgets.body_html.count("<ul>") == 1


def test_a_lead_and_one_section_is_still_a_briefing(project: Project, tmp_path: Path) -> None:
    empty_folder(project)
    pasted = tmp_path / "one.txt"
    pasted.write_text(
        "Le porte-parole a tenu un point de presse le jeudi 4 décembre 2025 à Bruxelles.\n"
        "Des drones au-dessus des ports\nTrois survols ont été signalés en une semaine.\n",
        encoding="utf-8",
    )
    result = run(project, "entries", "import", str(pasted))
    assert result.exit_code == 0 and "read as briefing" in result.output, result.output
    (entry,) = read_entries(project.settings())
    assert entry.title == "Des drones au-dessus des ports"
    assert entry.text.endswith("à Bruxelles.")  # the lead closes the entry


def test_a_text_without_headline_takes_its_first_sentence(project: Project, tmp_path: Path) -> None:
    empty_folder(project)
    pasted = tmp_path / "prose.txt"
    pasted.write_text(
        "The ministers met in Brussels on Thursday, 4 December 2025, to agree on air "
        "defence. They pooled orders for interceptors and asked industry to deliver within "
        "two years, a pace that several capitals said was ambitious but necessary.\n"
        "A second meeting is planned for the spring.\n",
        encoding="utf-8",
    )
    result = run(project, "entries", "import", str(pasted))
    assert result.exit_code == 0 and "read as article" in result.output, result.output
    (entry,) = read_entries(project.settings())
    assert entry.title == (
        "The ministers met in Brussels on Thursday, 4 December 2025, to agree on air defence."
    )
    assert entry.text.startswith("They pooled orders for interceptors")
