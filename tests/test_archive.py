"""The public archive over real HTTP: only sent issues, no personal links, an Atom feed."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from click.testing import CliRunner

from digest.cli import cli
from digest.store import ArchivedVariant, Store
from digest.web.app import create_app
from digest.web.server import running
from tests.conftest import FIXTURES, Project
from tests.webclient import Browser

ATOM = "{http://www.w3.org/2005/Atom}"


def test_archive_lists_sent_issues_without_personal_links(project: Project) -> None:
    runner = CliRunner()
    config = ["--config", str(project.config)]
    sample = str(project.root / "subscribers" / "sample.csv")
    assert runner.invoke(cli, [*config, "subscribers", "import", sample]).exit_code == 0
    with running(create_app(project.settings())) as base:
        empty = Browser(base).get("/archive")
        assert empty.status == 200 and "No issue has been sent yet" in empty.body
        assert Browser(base).get("/archive/2025-W49").status == 404

    assert runner.invoke(cli, [*config, "send", "--date", "2025-12-03"]).exit_code == 0
    with running(create_app(project.settings())) as base:
        visitor = Browser(base, language="fr")
        index = visitor.get("/archive")
        assert "/archive/2025-W49" in index.body and "n° 49, vol. 1" in index.body
        page = visitor.get("/archive/2025-W49")
        assert page.status == 200
        assert "Menaces hybrides" in page.body  # the issue itself, in the reader's language
        english = Browser(base, language="en").get("/archive/2025-W49")
        assert "Hybrid threats" in english.body and '<html lang="en"' in english.body
        assert Browser(base, language="de").get("/archive/2025-W49").body == page.body
        assert visitor.get("/archive/2025-W49?lang=en").body == english.body
        assert "/unsubscribe/" not in page.body and "/preferences/" not in page.body
        assert "@example" not in page.body  # no subscriber address
        assert "Camille" not in page.body  # no subscriber name
        assert visitor.get("/archive/2025-W48").status == 404  # never sent
        assert visitor.get("/archive/not-a-week").status == 404
        by_number = visitor.get("/archive/49")  # the issue's number, as readers know it
        assert by_number.status == 302
        assert by_number.headers["Location"].endswith("/archive/2025-W49")
        assert visitor.get("/archive/1/49").headers["Location"].endswith("/archive/2025-W49")
        assert visitor.get("/archive/2/49").status == 404  # no such volume sent
        assert visitor.get("/archive/50").status == 404

        feed = visitor.get("/archive/feed.atom")
        assert feed.status == 200 and "atom+xml" in feed.headers["Content-Type"]
        root = ET.fromstring(feed.body)
        entries = root.findall(f"{ATOM}entry")
        assert len(entries) == 1
        link = entries[0].find(f"{ATOM}link")
        assert link is not None and link.get("href", "").endswith("/archive/2025-W49")


def test_archive_can_be_turned_off(project: Project) -> None:
    settings = project.settings(DIGEST_SERVE_ARCHIVE="false")
    with running(create_app(settings)) as base:
        assert Browser(base).get("/archive").status == 404
    _send_sample_week(project, {"DIGEST_SERVE_ARCHIVE": "false"})
    emails = list(settings.delivery.outbox_dir.glob("*.eml"))
    assert emails
    for path in emails:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        for kind in ("plain", "html"):
            part = message.get_body((kind,))
            assert part is not None
            assert "/archive/" not in part.get_content()  # no "view online" link to nowhere


def test_an_archived_issue_keeps_its_feed_items(project: Project) -> None:
    feed = project.root / "wire.rss"
    feed.write_bytes((FIXTURES / "feeds" / "defence-news.rss").read_bytes())
    env = {"DIGEST_FEEDS_URLS": str(feed)}
    config = ["--config", str(project.config)]
    sample = str(project.root / "subscribers" / "sample.csv")
    runner = CliRunner()
    assert runner.invoke(cli, [*config, "subscribers", "import", sample]).exit_code == 0
    sent = runner.invoke(cli, [*config, "send", "--date", "2025-12-03"], env=env)
    assert sent.exit_code == 0, sent.output
    with running(create_app(project.settings(**env))) as base:
        page = Browser(base).get("/archive/2025-W49")
    assert page.status == 200 and "Nordic allies pool orders" in page.body


def _send_sample_week(project: Project, env: dict[str, str] | None = None) -> None:
    runner = CliRunner()
    config = ["--config", str(project.config)]
    sample = str(project.root / "subscribers" / "sample.csv")
    assert runner.invoke(cli, [*config, "subscribers", "import", sample]).exit_code == 0
    sent = runner.invoke(cli, [*config, "send", "--date", "2025-12-03"], env=env)
    assert sent.exit_code == 0, sent.output


def test_the_archive_is_what_was_sent_even_after_entries_change(project: Project) -> None:
    _send_sample_week(project)
    pages = ("/archive/2025-W49", "/archive/2025-W49?lang=en", "/archive/2025-W49/fr/all")
    with running(create_app(project.settings())) as base:
        before = [Browser(base, language="fr").get(path).body for path in pages]
    assert "Drones repérés au-dessus" in before[0]

    drones = project.root / "briefings" / "2025-12-03-drones.md"
    drones.write_text(
        drones.read_text(encoding="utf-8").replace("Drones repérés", "Titre réécrit"),
        encoding="utf-8",
    )
    (project.root / "briefings" / "2025-12-06-staff.md").unlink()
    with running(create_app(project.settings())) as base:  # a restarted server
        after = [Browser(base, language="fr").get(path).body for path in pages]
    assert after == before  # byte for byte
    assert "Titre réécrit" not in after[0]


def test_an_archived_copy_has_an_archive_header_instead_of_the_footer(project: Project) -> None:
    _send_sample_week(project)
    with running(create_app(project.settings())) as base:
        page = Browser(base, language="fr").get("/archive/2025-W49").body
    assert f'href="{project.settings().newsletter.base_url}/archive"' in page
    assert "/subscribe" in page and "Tous les numéros" in page
    assert "parce que vous y êtes abonné" not in page  # no subscriber footer
    assert "Se désabonner" not in page and "Voir en ligne" not in page


def test_every_email_links_to_the_archived_copy_of_its_variant(project: Project) -> None:
    _send_sample_week(project)
    settings = project.settings()
    base_url = settings.newsletter.base_url
    emails = sorted(settings.delivery.outbox_dir.glob("*.eml"))
    assert len(emails) == 7
    with running(create_app(settings)) as base:
        for path in emails:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            parts = {}
            for kind in ("plain", "html"):
                part = message.get_body((kind,))
                assert part is not None
                parts[kind] = part.get_content()
            found = re.search(
                rf"{re.escape(base_url)}(/archive/2025-W49/\w+/[\w+]+)", parts["plain"]
            )
            assert found, parts["plain"][:400]
            link = found.group(1)
            assert f'href="{base_url}{link}"' in parts["html"]
            assert link in "".join(parts["plain"].splitlines()[:4])  # in the header
            language = message["Content-Language"]
            assert f"/{language}/" in link
            copy = Browser(base).get(link)
            assert copy.status == 200, link
            first_title = re.search(r"^\* (.+)$", parts["plain"], re.M)
            assert first_title is not None
            assert html.escape(first_title.group(1).strip(), quote=False)[:20] in copy.body


def test_the_feed_carries_summaries_and_pages_link_the_feed(project: Project) -> None:
    _send_sample_week(project)
    with running(create_app(project.settings())) as base:
        visitor = Browser(base, language="en")
        root = ET.fromstring(visitor.get("/archive/feed.atom").body)
        entry = root.findall(f"{ATOM}entry")[0]
        summary = entry.find(f"{ATOM}summary")
        assert summary is not None and "Hybrid threats" in (summary.text or "")
        hreflangs = {link.get("hreflang") for link in entry.findall(f"{ATOM}link")}
        assert {"fr", "en"} <= hreflangs
        for path in ("/archive", "/subscribe", "/archive/2025-W49", "/archive/2025-W49/fr/all"):
            page = visitor.get(path).body
            assert 'rel="alternate" type="application/atom+xml"' in page, path


def test_the_store_keeps_the_first_copy_compressed(tmp_path: Path) -> None:
    with Store(tmp_path / "digest.db") as store:
        store.freeze_issue("2025-W49", 49, 1, [])
        html_page = "<p>" + "la même ligne de l'issue\n" * 2000 + "</p>"
        first = ArchivedVariant("2025-W49", "fr:all", "fr", "Sujet", "Résumé", html_page, "t")
        assert store.archive_variant(first)
        assert not store.archive_variant(replace(first, html="<p>changed</p>"))
        assert store.archived_variant("2025-W49", "fr:all") == first
        assert store.archived_variant("2025-W49", "en:all") is None
        assert store.archived_labels("2025-W49") == {"fr:all"}
        (size,) = store.db.execute("SELECT length(html) FROM archived_variants").fetchone()
        assert size < len(html_page.encode()) / 10
