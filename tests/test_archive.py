"""The public archive over real HTTP: only sent issues, no personal links, an Atom feed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from click.testing import CliRunner

from digest.cli import cli
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
        visitor = Browser(base)
        index = visitor.get("/archive")
        assert "/archive/2025-W49" in index.body and "No. 49, vol. 1" in index.body
        page = visitor.get("/archive/2025-W49")
        assert page.status == 200
        assert "Menaces hybrides" in page.body  # the issue itself, in the default language
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
