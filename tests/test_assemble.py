from __future__ import annotations

import datetime as dt

from digest.assemble import assemble_issue, sections_for, week_window
from digest.config import load_settings
from digest.models import Entry
from digest.themes import classify, normalize
from tests.conftest import REPO

SETTINGS = load_settings(REPO / "config.toml", {})


def entry(title: str, text: str = "", day: dt.date = dt.date(2025, 12, 2), **kw: object) -> Entry:
    return Entry(
        id=title, title=title, date=day, language="fr", source_url="", source_name="",
        body_html="", text=text, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_normalize_ignores_case_and_accents() -> None:
    assert normalize("Défense ÉTÉ, Kyïv!") == ["defense", "ete", "kyiv"]


def test_classify_matches_inflections_and_both_languages() -> None:
    themes = SETTINGS.themes
    assert classify(entry("Les drones russes se multiplient"), themes).theme_id == "hybrid"
    assert classify(entry("Soutien à l'armée ukrainienne"), themes).theme_id == "ukraine"
    assert (
        classify(entry("Ukrainian grain corridor under Russian fire"), themes).theme_id == "ukraine"
    )
    assert classify(entry("Hausse des dépenses de défense"), themes).theme_id == "spending"
    assert classify(entry("Tensions en mer Noire"), themes).theme_id == "balkans"


def test_title_weighs_more_than_body() -> None:
    result = classify(entry("Sommet de l'OTAN à Ankara", "drones drones"), SETTINGS.themes)
    assert result.theme_id == "summit"
    assert result.scores["summit"] == 6 and result.scores["hybrid"] == 2  # OTAN is context


def test_front_matter_themes_win_over_keywords() -> None:
    result = classify(entry("Les drones", themes=("summit",)), SETTINGS.themes)
    assert result.theme_id == "summit"


def test_unmatched_entry_goes_to_in_brief() -> None:
    assert classify(entry("Nomination d'un porte-parole"), SETTINGS.themes).theme_id == "brief"


def test_week_window_is_monday_to_sunday() -> None:
    assert week_window(dt.date(2025, 12, 3)) == (dt.date(2025, 12, 1), dt.date(2025, 12, 7))
    assert week_window(dt.date(2025, 12, 7)) == (dt.date(2025, 12, 1), dt.date(2025, 12, 7))


def test_issue_holds_only_the_weeks_entries_in_theme_order() -> None:
    entries = [
        entry("Sommet de l'OTAN à Ankara", day=dt.date(2025, 12, 1)),
        entry("Les drones russes", day=dt.date(2025, 12, 7)),
        entry("Budget de défense", day=dt.date(2025, 11, 30)),  # previous week
        entry("Porte-parole", day=dt.date(2025, 12, 3)),
    ]
    issue = assemble_issue(entries, SETTINGS.themes, dt.date(2025, 12, 3), first_year=2025)
    assert issue.key == "2025-W49"
    assert (issue.volume, issue.number) == (1, 49)
    assert [s.theme.id for s in issue.sections] == ["hybrid", "summit", "brief"]
    assert all(e.title != "Budget de défense" for e in issue.entries)
    assert [s.theme.id for s in sections_for(issue, frozenset({"summit"}))] == ["summit"]
    assert len(sections_for(issue, frozenset())) == 3


def test_volume_rolls_over_with_the_iso_year() -> None:
    issue = assemble_issue(
        [entry("Sommet", day=dt.date(2026, 1, 6))], SETTINGS.themes, dt.date(2026, 1, 6), 2025
    )
    assert (issue.volume, issue.number, issue.key) == (2, 2, "2026-W02")
