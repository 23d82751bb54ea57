"""Feeds: real files and a real HTTP server on 127.0.0.1; hostile HTML; broken XML;
conditional requests; a feed item published in one issue only, ever."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest.cli import cli
from digest.entries import gather_entries
from digest.sources import sanitize
from digest.sources.feed import FeedError, fetch_url, load_feed, parse_feed
from digest.sources.sanitize import CACHE_STATS, MAX_ITEM_CHARS
from digest.store import Store, open_store
from tests.conftest import FIXTURES, Project

FEEDS = FIXTURES / "feeds"
ETAG = '"wire-v1"'
MODIFIED = "Tue, 02 Dec 2025 09:00:00 GMT"


@dataclass
class FeedServer:
    base: str
    requests: list[dict[str, str]] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    """Content-Encoding sent with a path's body (the body is stored already encoded)."""


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """Serves fixture feeds with ETag/Last-Modified, answering 304 to matching validators;
    /slow sleeps past any test timeout, /missing is a 404 and /loop redirects to itself."""
    state = FeedServer(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append({"path": self.path, **dict(self.headers.items())})
            if self.path == "/slow":
                time.sleep(2)
            if self.path == "/to-file":
                self.send_response(302)
                self.send_header("Location", "ftp://127.0.0.1/feed.rss")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == "/loop":
                self.send_response(302)
                self.send_header("Location", f"{state.base}/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = state.bodies.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            if (
                self.headers.get("If-None-Match") == ETAG
                or self.headers.get("If-Modified-Since") == MODIFIED
            ):
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", ETAG)
            self.send_header("Last-Modified", MODIFIED)
            if self.path in state.encodings:
                self.send_header("Content-Encoding", state.encodings[self.path])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # /slow's client gave up; its broken pipe must not reach another test's CLI

    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    state.bodies["/wire.rss"] = (FEEDS / "defence-news.rss").read_bytes()
    state.bodies["/slow"] = b""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def run(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args], env=env)


def test_rss_items_become_entries_and_bad_items_are_reported() -> None:
    entries, problems = parse_feed(
        (FEEDS / "defence-news.rss").read_bytes(), "wire.rss", ["fr", "en"], "fr"
    )
    assert [e.title for e in entries] == [
        "Nordic allies pool orders for air defence interceptors",
        "Second Black Sea convoy escorted to Odesa",
    ]
    first, second = entries
    assert first.date == dt.date(2025, 12, 2) and first.language == "en"
    assert first.source_name == "Defence Desk Wire"
    assert first.guid == "guid:wire-2025-12-02-001"
    assert second.guid == "link:https://wire.example.org/2025/12/black-sea-convoy"
    assert [str(p) for p in problems] == ["wire.rss: item 3 (Undated note from the wire): "
                                          "no readable date; skipped"]  # fmt: skip


def test_hostile_feed_html_is_sanitized() -> None:
    (entry,), _ = parse_feed((FEEDS / "hostile.atom").read_bytes(), "h.atom", ["fr", "en"], "en")
    html = entry.body_html.lower()
    for banned in ("<script", "<iframe", "<object", "<embed", "<form", "<input", "<style",
                   "<meta", "<svg", "<img", "<math", "javascript", "vbscript", "data:",
                   "onclick", "onerror", "onload", "onmouseover", "style="):  # fmt: skip
        assert banned not in html, banned
    hrefs = [h.strip() for h in re.findall(r'href="([^"]*)"', entry.body_html)]
    assert hrefs == ["https://safe.example.org/ok"]
    assert "Texte" in entry.text and "visible." in entry.text and "Fin du texte." in entry.text
    assert entry.title == "Drones au-dessus du port" and entry.source_url == ""
    assert entry.language == "fr" and entry.source_name == "Flux piégé"


def test_broken_xml_names_the_file_and_line() -> None:
    with pytest.raises(FeedError, match=r"broken\.rss:\d+: malformed XML") as caught:
        load_feed("broken.rss", FEEDS, 5, ["fr", "en"], "fr")
    assert caught.value.line > 1
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        parse_feed(b'<?xml version="1.0"?><note><to>x</to></note>', "n.xml", ["fr"], "fr")


def test_conditional_requests_get_304_and_reuse_the_cached_body(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    url = f"{feed_server.base}/wire.rss"
    with Store(tmp_path / "s.db") as store:
        first = fetch_url(url, 5, store)
        second = fetch_url(url, 5, store)
    assert first == second == (FEEDS / "defence-news.rss").read_bytes()
    assert "If-None-Match" not in feed_server.requests[0]
    assert feed_server.requests[1]["If-None-Match"] == ETAG
    assert feed_server.requests[1]["If-Modified-Since"] == MODIFIED


def test_failing_feeds_are_reported_and_the_issue_still_builds(
    project: Project, feed_server: FeedServer
) -> None:
    feeds = ",".join(
        [f"{feed_server.base}/wire.rss", f"{feed_server.base}/missing", f"{feed_server.base}/slow",
         str(FEEDS / "broken.rss"), str(FEEDS / "hostile.atom")]
    )  # fmt: skip
    env = {"DIGEST_FEEDS_URLS": feeds, "DIGEST_FEEDS_TIMEOUT": "0.5"}
    result = run(
        project, "build", "--date", "2025-12-03", "--out", str(project.root / "o"), env=env
    )
    assert result.exit_code == 0, result.output
    assert "issue 2025-W49 (vol. 1, no. 49): 9 entries" in result.output
    assert re.search(r"warning: http://127\.0\.0\.1:\d+/missing: HTTP 404", result.output)
    assert re.search(r"warning: http://127\.0\.0\.1:\d+/slow: cannot fetch: .*timed out",
                     result.output)  # fmt: skip
    assert re.search(r"warning: .*broken\.rss:\d+: malformed XML", result.output)
    html = (project.root / "o" / "issue.html").read_text(encoding="utf-8")
    assert "Nordic allies pool orders" in html and "Drones au-dessus du port" in html
    assert "javascript" not in html.lower() and "half a story" not in html.lower()


def test_a_feed_item_is_published_in_one_issue_only(project: Project, tmp_path: Path) -> None:
    feed = tmp_path / "wire.rss"
    original = (FEEDS / "defence-news.rss").read_text(encoding="utf-8")
    feed.write_text(original, encoding="utf-8")
    env = {"DIGEST_FEEDS_URLS": str(feed)}
    run(project, "subscribers", "import", str(project.root / "subscribers" / "sample.csv"))
    sent = run(project, "send", "--date", "2025-12-03", env=env)
    assert sent.exit_code == 0, sent.output
    first_eml = sorted((project.root / "outbox").glob("*.eml"))[0]
    message = message_from_bytes(first_eml.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(("plain",))
    assert plain is not None and "Nordic allies pool orders" in plain.get_content()

    # The wire re-dates the same item (same GUID) into the next week: it must not return.
    feed.write_text(original.replace("Tue, 02 Dec 2025", "Tue, 09 Dec 2025"), encoding="utf-8")
    settings = project.settings(**env)
    next_week = gather_entries(settings, dt.date(2025, 12, 10))
    assert "Nordic allies pool orders for air defence interceptors" not in {
        e.title for e in next_week.entries
    }
    same_week = gather_entries(settings, dt.date(2025, 12, 3))  # a rebuild of W49 keeps it
    assert "Nordic allies pool orders for air defence interceptors" in {
        e.title for e in same_week.entries
    }
    with open_store(settings) as store:
        published = store.published_feed_items()
    assert published["guid:wire-2025-12-02-001"] == "2025-W49"


def test_import_a_feed_as_markdown_once(project: Project, feed_server: FeedServer) -> None:
    url = f"{feed_server.base}/wire.rss"
    result = run(project, "entries", "import", url)
    assert result.exit_code == 0, result.output
    assert "2 entries written" in result.output and "no readable date" in result.output
    folder = project.root / "briefings"
    nordic = folder / "2025-12-02-nordic-allies-pool-orders-for-air-defence-interceptors.md"
    text = nordic.read_text(encoding="utf-8")
    assert "guid: guid:wire-2025-12-02-001" in text and "suggested_theme: spending" in text
    assert "\nthemes:" not in text  # the classifier's guess is not the editor's choice
    again = run(project, "entries", "import", url)
    assert "0 entries written" in again.output and "already imported" in again.output
    # The same feed configured as a source does not bring the imported items in twice.
    settings = project.settings(DIGEST_FEEDS_URLS=url)
    titles = [e.title for e in gather_entries(settings, dt.date(2025, 12, 3)).entries]
    assert titles.count("Nordic allies pool orders for air defence interceptors") == 1


def test_import_of_a_broken_feed_fails_cleanly(project: Project) -> None:
    result = run(project, "entries", "import", str(FEEDS / "broken.rss"))
    assert result.exit_code == 1
    assert re.search(r"^error: .*broken\.rss:\d+: malformed XML", result.output, re.MULTILINE)
    assert "Traceback" not in result.output


def test_redirects_leave_http_never(feed_server: FeedServer) -> None:
    with pytest.raises(FeedError, match=r"/to-file: HTTP 302 redirect to a non-http URL"):
        fetch_url(f"{feed_server.base}/to-file", 5)


def test_binary_feed_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "feed.rss").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(FeedError, match=r"feed\.rss: binary file, not a feed"):
        load_feed("feed.rss", tmp_path, 5, ["fr"], "fr")


def test_item_dates_are_days_in_the_newsletter_time_zone() -> None:
    from zoneinfo import ZoneInfo

    late = (FEEDS / "defence-news.rss").read_bytes().replace(b"08:30:00 GMT", b"23:30:00 GMT")
    (utc_item, _), _ = parse_feed(late, "w.rss", ["en"], "en")
    (paris_item, _), _ = parse_feed(late, "w.rss", ["en"], "en", ZoneInfo("Europe/Paris"))
    assert (utc_item.date, paris_item.date) == (dt.date(2025, 12, 2), dt.date(2025, 12, 3))


def test_mislabelled_encoding_is_read_and_reported() -> None:
    entries, problems = load_feed("latin1-mislabelled.rss", FEEDS, 5, ["fr"], "fr")
    assert [e.title for e in entries] == ["Défense aérienne : accord signé"]
    assert [str(p) for p in problems] == [
        "latin1-mislabelled.rss: not UTF-8 as declared or implied; read as windows-1252"
    ]


def test_options_for_pasted_texts_are_refused_with_a_feed(project: Project) -> None:
    feed = str(FEEDS / "defence-news.rss")
    for option, value in (("--date", "2025-12-02"), ("--language", "en")):
        result = run(project, "entries", "import", feed, option, value)
        assert result.exit_code == 2, result.output
        assert f"{option} applies to a pasted text or page only" in result.output
    assert not list((project.root / "briefings").glob("*nordic*"))  # nothing written


def test_a_malformed_item_link_is_a_warning_for_build_check_and_send(project: Project) -> None:
    """Issue 12, item 2: `http://[::1` made build, check and send --dry-run die."""
    env = {"DIGEST_FEEDS_URLS": str(FEEDS / "media-captions.rss")}
    out = str(project.root / "o")
    for args in (
        ("build", "--date", "2025-12-03", "--out", out),
        ("check", "--date", "2025-12-03"),
        ("send", "--date", "2025-12-03", "--dry-run"),
    ):
        result = run(project, *args, env=env)
        assert "Traceback" not in result.output, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        assert result.exit_code in (0, 1), (args, result.output)
        assert "Invalid IPv6 URL" not in result.output
    built = run(project, "build", "--date", "2025-12-03", "--out", out, env=env)
    assert built.exit_code == 0, built.output
    assert re.search(r"warning: .*media-captions\.rss: item 5 .*'http://\[::1'", built.output)
    html = (project.root / "o" / "issue.html").read_text(encoding="utf-8")
    assert "Un lien mal formé ne doit rien casser" in html and "[::1" not in html


def test_deep_or_huge_item_html_is_flattened_or_cut_before_sanitizing() -> None:
    """Issue 12, item 10: nh3 is quadratic on deep nesting; unchanged items are not
    sanitized again."""
    deep = "<div>" * 50_000 + "Texte enfoui." + "</div>" * 50_000
    huge = "<p>" + "mot " * 100_000 + "</p>"
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>Profond</title><description><![CDATA[{deep}]]></description>"
        "<pubDate>Tue, 02 Dec 2025 09:00:00 GMT</pubDate></item>"
        f"<item><title>Immense</title><description><![CDATA[{huge}]]></description>"
        "<pubDate>Tue, 02 Dec 2025 09:00:00 GMT</pubDate></item></channel></rss>"
    ).encode()
    entries, problems = parse_feed(feed, "deep.rss", ["fr"], "fr")
    deep_entry, huge_entry = entries
    assert deep_entry.text == "Texte enfoui." and "<div" not in deep_entry.body_html
    assert len(huge_entry.body_html) <= MAX_ITEM_CHARS + 100
    messages = [str(p) for p in problems]
    assert any("item 1 (Profond): HTML nested deeper than 100 levels" in m for m in messages)
    assert any("item 2 (Immense): body longer than 200,000 characters; cut" in m for m in messages)
    misses = CACHE_STATS["misses"]
    parse_feed(feed, "deep.rss", ["fr"], "fr")
    assert CACHE_STATS["misses"] == misses  # the same items again: nothing re-sanitized


def _wire(bodies: list[str]) -> str:
    items = "".join(
        f"<item><title>Dépêche {n}</title><guid>wire-{n}</guid>"
        f"<description><![CDATA[{body}]]></description>"
        "<pubDate>Tue, 02 Dec 2025 09:00:00 GMT</pubDate></item>"
        for n, body in enumerate(bodies, 1)
    )
    channel = f"<channel><title>Fil</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


WIRE_BODIES = [
    f'<p>Dépêche {n} <a href="https://example.org/{n}" onclick="x()">lien</a></p>'
    f"<script>alert({n})</script><div><div><em>fin {n}</em></div></div>"
    for n in range(1, 5)
]


def test_unchanged_items_are_not_sanitized_again_in_a_new_run(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12, item 10: each `digest build`, `check` or `send` is a new process, so the
    sanitized bodies are kept in the store; a changed item, or a new sanitizer, is
    sanitized again."""
    feed = tmp_path / "wire.rss"
    feed.write_text(_wire(WIRE_BODIES), encoding="utf-8")
    settings = project.settings(DIGEST_FEEDS_URLS=str(feed))
    sanitized: list[str] = []
    real_clean_html = sanitize.clean_html

    def counting_clean_html(fragment: str) -> str:
        sanitized.append(fragment)
        return real_clean_html(fragment)

    monkeypatch.setattr(sanitize, "clean_html", counting_clean_html)

    def new_run() -> dict[str, str]:
        """What a new `digest` process reads: an empty in-process cache, a new connection."""
        monkeypatch.setattr(sanitize, "_CACHE", OrderedDict())
        sanitized.clear()
        collected = gather_entries(settings, dt.date(2025, 12, 3))
        return {e.title: e.body_html for e in collected.entries if e.title.startswith("Dépêche")}

    first = new_run()
    assert sorted(sanitized) == sorted(WIRE_BODIES)
    assert "<script" not in first["Dépêche 1"] and "onclick" not in first["Dépêche 1"]
    assert new_run() == first and sanitized == []  # nothing sanitized the second time

    changed = [*WIRE_BODIES[:2], WIRE_BODIES[2].replace("fin 3", "fin révisée"), WIRE_BODIES[3]]
    feed.write_text(_wire(changed), encoding="utf-8")
    third = new_run()
    assert sanitized == [changed[2]]  # only the changed item
    assert "fin révisée" in third["Dépêche 3"] and third["Dépêche 1"] == first["Dépêche 1"]

    with open_store(settings) as store:
        keys = [hashlib.sha256(body.encode()).hexdigest() for body in changed]
        stored = store.sanitized_html(sanitize.SANITIZER_VERSION, keys)
    assert [stored[key] for key in keys] == [(real_clean_html(b), "") for b in changed]

    monkeypatch.setattr(sanitize, "SANITIZER_VERSION", "a later policy")
    assert new_run() == third and sorted(sanitized) == sorted(changed)


def test_a_second_digest_process_reads_the_sanitized_bodies_from_the_store(
    project: Project, tmp_path: Path
) -> None:
    """The same, with real separate processes: the second one runs nh3 on nothing."""
    feed = tmp_path / "wire.rss"
    feed.write_text(_wire(WIRE_BODIES), encoding="utf-8")
    code = (
        "import datetime, json, pathlib, sys\n"
        "from digest.config import load_settings\n"
        "from digest.entries import gather_entries\n"
        "from digest.sources.sanitize import CACHE_STATS\n"
        "settings = load_settings(pathlib.Path(sys.argv[1]))\n"
        "gather_entries(settings, datetime.date(2025, 12, 3))\n"
        "print(json.dumps(CACHE_STATS))\n"
    )

    def run_process() -> dict[str, int]:
        done = subprocess.run(
            [sys.executable, "-c", code, str(project.config)],
            env={**os.environ, "DIGEST_FEEDS_URLS": str(feed)},
            capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        stats: dict[str, int] = json.loads(done.stdout)
        return stats

    assert run_process() == {"hits": 0, "stored": 0, "misses": 4}
    assert run_process() == {"hits": 0, "stored": 4, "misses": 0}


@pytest.mark.parametrize(
    ("title", "link", "expected"),
    [
        (
            "International : Toute l'actualité sur Le Monde.fr.",
            "https://www.lemonde.fr/international/",
            "Le Monde",
        ),
        ("World news | The Guardian", "https://www.theguardian.com/world", "The Guardian"),
        ("BBC News - World", "https://www.bbc.co.uk/news/world", "BBC News"),
        ("heise online News", "https://www.heise.de/", "heise online News"),
        (
            "Section Europe : les dernières nouvelles de notre rédaction",
            "https://www.quotidien.test/",
            "quotidien.test",
        ),
        ("", "https://www.example.org/", "example.org"),
    ],
)
def test_source_name_is_the_sites_short_name(title: str, link: str, expected: str) -> None:
    from digest.sources.feed import source_name

    assert source_name(title, link, "feed.xml", {}) == expected
    assert source_name(title, link, "feed.xml", {"lemonde.fr": "Le Monde (Paris)"}) == (
        "Le Monde (Paris)" if "lemonde" in link else expected
    )


def test_an_atom_entry_declaring_its_own_language_keeps_it() -> None:
    atom = (FEEDS / "html-content.atom").read_bytes().replace(b"<entry>", b'<entry xml:lang="fr">')
    (entry,), _ = parse_feed(atom, "blog.atom", ["fr", "en"], "en")
    assert entry.language == "fr"  # the item's own declaration wins over the feed's


def test_relative_rss_links_resolve_against_the_channel_link_else_the_feed_url(
    project: Project, feed_server: FeedServer
) -> None:
    """An RSS item's relative `<link>` was dropped without a word (no source, no title
    link): it resolves against the channel's `<link>`, as feed readers do, else against
    the feed's own URL; what still is not http(s) is the malformed-link warning."""
    data = (FEEDS / "relative-links.rss").read_bytes()
    feed_server.bodies["/rss/all.xml"] = data
    url = f"{feed_server.base}/rss/all.xml"
    entries, problems = load_feed(url, FEEDS, 5, ["en"], "en")
    assert [e.source_url for e in entries] == [
        "https://defwatch.example.com/2026/12/air-defence-ukraine",
        "https://defwatch.example.com/2026/12/baltic-air-policing",
        "",
        "https://defwatch.example.com/2026/12/nordic-corridor",
        "",  # a bare <guid> is a permalink by default: not a link to resolve, nor to warn of
    ]
    assert [str(p) for p in problems] == [
        f"{url}: item 3 (Press contacts for the ministerial): link "
        "'mailto:press@defwatch.example.com' is not a usable http(s) URL; kept without it"
    ]

    no_channel_link = data.replace(b"<link>https://defwatch.example.com/</link>", b"")
    entries, _ = parse_feed(no_channel_link, url, ["en"], "en")
    assert [e.source_url for e in entries[:2]] == [
        f"{feed_server.base}/2026/12/air-defence-ukraine",
        f"{feed_server.base}/rss/2026/12/baltic-air-policing",
    ]
    entries, problems = parse_feed(no_channel_link, "relative-links.rss", ["en"], "en")
    assert [e.source_url for e in entries[:2]] == ["", ""]  # a file: nothing to resolve against
    assert "item 1 (Allies pledge more air defence systems f): link " in str(problems[0])
    assert "'/2026/12/air-defence-ukraine' is not a usable http(s) URL" in str(problems[0])

    out = project.root / "o"
    built = run(project, "build", "--date", "2026-12-02", "--out", str(out),
                env={"DIGEST_FEEDS_URLS": url})  # fmt: skip
    assert built.exit_code == 0, built.output
    assert "'mailto:press@defwatch.example.com' is not a usable" in built.output
    html = (out / "issue.html").read_text(encoding="utf-8")
    assert 'href="https://defwatch.example.com/2026/12/air-defence-ukraine"' in html


def test_relative_links_in_a_feed_body_point_at_the_site_not_nowhere(
    feed_server: FeedServer,
) -> None:
    """`<a href="/maps/...">` is relative to the site the item came from; in an email it
    went nowhere. Resolved against the item's own link; without one, not made a link."""
    data = (FEEDS / "relative-links.rss").read_bytes()
    url = f"{feed_server.base}/rss/all.xml"
    entries, _ = parse_feed(data, url, ["en"], "en")
    first, second = entries[0].body_html, entries[1].body_html
    assert 'href="https://defwatch.example.com/maps/air-defence?year=2026&amp;view=east"' in first
    assert 'href="https://defwatch.example.com/2026/12/air-defence-ukraine#timeline"' in first
    assert 'href="https://defwatch.example.com/2026/12/photos.html"' in second
    alone = data.replace(b"<link>https://defwatch.example.com/</link>", b"")
    entries, _ = parse_feed(alone, "relative-links.rss", ["en"], "en")  # a file: no base
    assert "href=" not in entries[0].body_html and "the map" in entries[0].body_html


def test_atom_links_resolve_against_xml_base_else_the_feed_url() -> None:
    data = (FEEDS / "xml-base.atom").read_bytes()
    url = "https://feeds.example.net/analysis/all.atom"
    entries, problems = parse_feed(data, url, ["en"], "en")
    assert [e.source_url for e in entries] == [
        "https://analysis.example.org/eu/2026/12/defence-fund",  # the feed's xml:base
        "https://analysis.example.org/notes/mobility-questions",  # the entry's own
    ]
    assert problems == []
    no_base = data.replace(b' xml:base="https://analysis.example.org/eu/"', b"")
    entries, problems = parse_feed(no_base, url, ["en"], "en")
    assert [e.source_url for e in entries] == [
        "https://feeds.example.net/analysis/2026/12/defence-fund",  # the document's URL
        "https://analysis.example.org/notes/mobility-questions",
    ]
    assert problems == []


def test_a_gzip_or_deflate_encoded_feed_is_decoded(
    project: Project, feed_server: FeedServer, tmp_path: Path
) -> None:
    """Servers and CDNs compress even when the client did not ask: the feed failed as
    "binary file, not a feed"."""
    raw = (FEEDS / "defence-news.rss").read_bytes()
    squeeze = zlib.compressobj(wbits=-15)
    for path, encoding, body in (
        ("/gzip.rss", "gzip", gzip.compress(raw)),
        ("/zlib.rss", "deflate", zlib.compress(raw)),
        ("/raw-deflate.rss", "deflate", squeeze.compress(raw) + squeeze.flush()),
    ):
        feed_server.bodies[path], feed_server.encodings[path] = body, encoding
    assert fetch_url(f"{feed_server.base}/zlib.rss", 5) == raw
    assert fetch_url(f"{feed_server.base}/raw-deflate.rss", 5) == raw
    url = f"{feed_server.base}/gzip.rss"
    with Store(tmp_path / "s.db") as store:
        assert fetch_url(url, 5, store) == raw
        assert fetch_url(url, 5, store) == raw  # 304: the cached body is the decoded one
    assert feed_server.requests[-1]["If-None-Match"] == ETAG
    assert feed_server.requests[-1]["Accept-Encoding"] == "gzip"  # asked for, not only taken
    result = run(project, "entries", "import", url)
    assert result.exit_code == 0 and "2 entries written" in result.output, result.output


def test_a_gzip_bomb_or_a_broken_stream_is_refused(feed_server: FeedServer) -> None:
    """The 5 MB cap holds for the decoded size, read a piece at a time."""
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    bomb = gzip.compress(head + b" " * (40 * 1024 * 1024), 9)
    assert len(bomb) < 100_000
    feed_server.bodies["/bomb.rss"], feed_server.encodings["/bomb.rss"] = bomb, "gzip"
    with pytest.raises(FeedError, match=r"/bomb\.rss: feed is larger than 5 MB"):
        fetch_url(f"{feed_server.base}/bomb.rss", 5)
    broken = gzip.compress(head * 100)[:-40]
    feed_server.bodies["/cut.rss"], feed_server.encodings["/cut.rss"] = broken, "gzip"
    with pytest.raises(FeedError, match=r"/cut\.rss: cannot decode the gzip body"):
        fetch_url(f"{feed_server.base}/cut.rss", 5)


def test_a_redirect_loop_is_one_line(project: Project, feed_server: FeedServer) -> None:
    """urllib's message for a loop has three lines; every error is one."""
    url = f"{feed_server.base}/loop"
    said = (
        f"{url}: HTTP 302 The HTTP server returned a redirect error that would lead to an "
        "infinite loop. The last 30x error message was: Found"
    )
    with pytest.raises(FeedError) as caught:
        fetch_url(url, 5)
    assert str(caught.value) == said and "\n" not in caught.value.detail
    checked = run(project, "check", "--date", "2025-12-03", env={"DIGEST_FEEDS_URLS": url})
    imported = run(project, "entries", "import", url)
    assert re.search(rf"^warning: .*{re.escape(said)}$", checked.output, re.MULTILINE)
    assert re.search(rf"^error: {re.escape(said)}$", imported.output, re.MULTILINE)
    for output in (checked.output, imported.output):
        assert "\nFound" not in output and "\nThe last 30x" not in output, output
