from __future__ import annotations

import datetime as dt
import re
from email import message_from_bytes, policy

import pytest

from digest import pipeline
from digest.errors import RenderError
from digest.models import Variant
from digest.render.mjml import compile_mjml
from tests.conftest import Project

NOW = dt.datetime(2025, 12, 8, 6, 0, tzinfo=dt.UTC)


def edition(project: Project, day: dt.date = dt.date(2025, 12, 3)) -> pipeline.Edition:
    settings = project.settings()
    issue = pipeline.assemble(settings, pipeline.read_entries(settings), day)
    return pipeline.Edition(settings, issue, pipeline.make_signer(settings), NOW)


def test_html_has_every_section_and_no_leftover_mjml(project: Project) -> None:
    compiled = edition(project).compiled(Variant("fr", frozenset()))
    html = compiled.html.fill({"name": "Ana", "unsubscribe_url": "u", "preferences_url": "p"})
    assert "<mj-" not in html and "{{" not in html
    assert '<html lang="fr"' in html
    for title in ["Dépenses de défense", "Ukraine", "Menaces hybrides", "Balkans et mer Noire",
                  "Perspectives du sommet", "En bref"]:  # fmt: skip
        assert title in html
    assert "fonts.googleapis" not in html
    assert "Bonjour Ana," in html


def test_english_variant_is_localized(project: Project) -> None:
    compiled = edition(project).compiled(Variant("en", frozenset({"ukraine"})))
    html = compiled.html.fill({"name": "Ann", "unsubscribe_url": "u", "preferences_url": "p"})
    assert '<html lang="en"' in html
    assert "Hello Ann," in html and "Week of December 1, 2025" in html
    assert "Dépenses de défense" not in html and "Defence spending" not in html
    assert compiled.subject.startswith("Brief OTAN & Europe · No. 49")


def test_entry_text_is_escaped_and_never_evaluated(project: Project) -> None:
    project.write_entry(
        "inject.md",
        "---\ntitle: '<b>{{ 7*7 }}</b> & co'\ndate: 2025-12-02\nthemes: [ukraine]\n---\n"
        "Body with {% raw %} and {{ config }}.\n",
    )
    compiled = edition(project).compiled(Variant("fr", frozenset()))
    html = compiled.html.fill({"name": "x", "unsubscribe_url": "u", "preferences_url": "p"})
    assert "&lt;b&gt;&#123;&#123; 7*7 &#125;&#125;&lt;/b&gt; &amp; co" in html
    assert "49" not in re.sub(r"n° 49|No\. 49|2025-W49", "", html)
    text = compiled.text.fill({"name": "x", "unsubscribe_url": "u", "preferences_url": "p"})
    assert "<b>{{ 7*7 }}</b> & co" in text


def test_per_subscriber_values_are_html_escaped(project: Project) -> None:
    compiled = edition(project).compiled(Variant("fr", frozenset()))
    html = compiled.html.fill(
        {"name": '<script>"x"</script>', "unsubscribe_url": "u?a=1&b=2", "preferences_url": "p"}
    )
    assert "<script>" not in html
    assert "&lt;script&gt;&quot;x&quot;&lt;/script&gt;" in html
    assert 'href="u?a=1&amp;b=2"' in html


def test_text_part_wraps_at_72_columns(project: Project) -> None:
    compiled = edition(project).compiled(Variant("fr", frozenset()))
    text = compiled.text.fill({"name": "x", "unsubscribe_url": "u", "preferences_url": "p"})
    long_lines = [line for line in text.splitlines() if len(line) > 72 and "://" not in line]
    assert long_lines == []
    assert "https://example.org/news/budgets" in text


def test_misspelt_mjml_tag_is_refused() -> None:
    with pytest.raises(RenderError, match="uncompiled tag '<mj-sectio>'"):
        compile_mjml(
            "<mjml><mj-body><mj-sectio><mj-column></mj-column></mj-sectio></mj-body></mjml>"
        )
    with pytest.raises(RenderError, match="MJML compile failed"):
        compile_mjml("<mjml><mj-body><mj-section")


def test_message_is_multipart_alternative_with_list_headers(project: Project) -> None:
    ed = edition(project)
    subscriber = pipeline.SAMPLE_READER
    message = ed.message_for(subscriber, Variant("fr", frozenset()))
    assert b"\r\n" in message.data and b"\n" not in message.data.replace(b"\r\n", b"")
    parsed = message_from_bytes(message.data, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    for header in ["From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe"]:
        assert parsed[header], header
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "mailto:" in parsed["List-Unsubscribe"]
    text, html = parsed.get_payload()  # type: ignore[misc]
    assert text.get_content_type() == "text/plain" and text.get_content_charset() == "utf-8"
    assert "Dépenses de défense".upper() in text.get_content()
    assert html.get_content_type() == "text/html"
    assert "Perspectives du sommet" in html.get_content()
    assert ed.message_for(subscriber).message_id == message.message_id  # stable


def test_header_injection_is_refused(project: Project) -> None:
    ed = edition(project)
    evil = pipeline.SAMPLE_READER.__class__(
        id=9, email="a@example.org", name="Eve\r\nBcc: victim@example.org", language="fr",
        themes=frozenset(),
    )  # fmt: skip
    with pytest.raises(RenderError, match="line break"):
        ed.message_for(evil)


def test_size_guard_stops_a_huge_issue(project: Project) -> None:
    body = ("Une phrase assez longue pour remplir le résumé de cette entrée. " * 5) + "\n"
    for n in range(300):
        project.write_entry(
            f"filler-{n}.md",
            f"---\ntitle: Entrée de remplissage numéro {n} sur les drones\ndate: 2025-12-02\n"
            f"---\n{body}",
        )
    with pytest.raises(RenderError, match="over the 100 KB limit"):
        edition(project).compiled(Variant("fr", frozenset()))
