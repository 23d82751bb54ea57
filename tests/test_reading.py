"""What a subscriber reads: a full week fits under Gmail's clip, the text part wraps at 72
columns without orphan punctuation, dates read as the language writes them, and every
colour pair of the design keeps its contrast in light and dark mode."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bench.render import realistic_week
from digest import pipeline
from digest.models import Entry, Variant
from digest.render.colours import DARK_CARD, LIGHT_CARD, contrast, theme_colours
from digest.render.i18n import long_date
from tests.conftest import REPO, Project

NOW = dt.datetime(2025, 12, 8, 6, 0, tzinfo=dt.UTC)
DAY = dt.date(2025, 12, 3)
URL_LINE = re.compile(r"\s*https?://\S+")
VALUES = {
    "name": "Ana",
    "unsubscribe_url": "https://brief.example.org/unsubscribe/" + "x" * 90,
    "preferences_url": "https://brief.example.org/preferences/" + "y" * 90,
}


def _edition(project: Project, entries: list[Entry] | None = None) -> pipeline.Edition:
    settings = project.settings()
    if entries is None:
        entries = pipeline.read_entries(settings, DAY)
    issue = pipeline.assemble(settings, entries, DAY)
    return pipeline.Edition(settings, issue, pipeline.make_signer(settings), NOW)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_fifty_realistic_entries_stay_under_90_kb(project: Project, language: str) -> None:
    entries = realistic_week(project.settings(), 50)
    assert all(65 <= len(e.title) <= 122 for e in entries)
    assert max(len(e.title) for e in entries) >= 115
    assert all(650 <= len(e.text) <= 700 for e in entries)
    compiled = _edition(project, entries).compiled(Variant(language, frozenset()))
    assert compiled.html_bytes < 90 * 1024, compiled.html_bytes
    assert not compiled.warnings
    html = compiled.html.fill(VALUES)
    assert html.count("<h3 ") == 50  # every entry made it, as a heading


def _text_parts(project: Project) -> list[tuple[str, str]]:
    project.write_entry(
        "2025-12-04-question.md",
        # Without care the `?` lands alone on the next line: the words before it fill
        # exactly 71 of the 72 columns after the bullet.
        "---\ntitle: Pourquoi la Finlande et la Suède renforcent-elles la défense "
        "aérienne ?\ndate: 2025-12-04\nlanguage: fr\nthemes: [hybrid]\n"
        "source: https://example.org/une/adresse/assez/longue/pour/tenir/seule/sur/sa/ligne\n"
        "---\nLes deux pays annoncent un commandement commun : une première.\n",
    )
    edition = _edition(project)
    parts = []
    for language in ("fr", "en"):
        for themes in (frozenset(), frozenset({"hybrid"})):
            compiled = edition.compiled(Variant(language, themes))
            parts.append((f"{language}:{sorted(themes)}", compiled.text.fill(VALUES)))
            parts.append(
                (f"archive {language}", edition.archived_copy(Variant(language, themes)).text)
            )
    return parts


def test_the_text_part_wraps_at_72_columns_except_a_lone_url(project: Project) -> None:
    for label, text in _text_parts(project):
        for line in text.splitlines():
            assert len(line) <= 72 or URL_LINE.fullmatch(line), f"{label}: {line!r}"


def test_no_line_of_the_text_part_is_orphan_punctuation(project: Project) -> None:
    for label, text in _text_parts(project):
        lines = text.splitlines()
        for line in lines:
            assert not re.fullmatch(r"\s*[?!:;»]+\s*", line), f"{label}: {line!r}"
            assert not re.match(r"\s*[?!:;»]\s", line), f"{label}: {line!r}"
        if label.startswith("fr"):
            assert any(line.endswith("aérienne ?") for line in lines), label


def test_french_writes_the_first_of_the_month_as_an_ordinal() -> None:
    locale = REPO / "templates" / "locale"
    assert long_date(dt.date(2025, 12, 1), "fr", locale) == "1er décembre 2025"
    assert long_date(dt.date(2025, 12, 2), "fr", locale) == "2 décembre 2025"
    assert long_date(dt.date(2025, 12, 21), "fr", locale) == "21 décembre 2025"
    assert long_date(dt.date(2025, 12, 1), "en", locale) == "December 1, 2025"


def test_theme_colours_read_at_4_5_to_1_on_both_cards(project: Project) -> None:
    for theme in project.settings().themes:
        colours = theme_colours(theme.colour)
        assert contrast(colours.light, LIGHT_CARD) >= 4.5, theme.id
        assert contrast(colours.dark, DARK_CARD) >= 4.5, theme.id
        if contrast(theme.colour, LIGHT_CARD) >= 4.6:
            assert colours.light == theme.colour.lower()  # kept where it already reads
    gold = theme_colours("#b8860b")
    assert gold.light != "#b8860b" and gold.dark == "#b8860b"


def test_the_html_ties_french_punctuation_to_its_word(project: Project) -> None:
    _text_parts(project)  # writes the entry with a question for a title
    html = _edition(project).compiled(Variant("fr", frozenset())).html.fill(VALUES)
    assert "la défense aérienne\u00a0?</a>" in html
    assert "commandement commun\u00a0: une première." in html
    assert " ?</a>" not in html
