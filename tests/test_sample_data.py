"""The shipped sample data meets what `make demo` and new users rely on."""

from __future__ import annotations

import datetime as dt

from digest import pipeline
from digest.config import load_settings
from digest.subscribers import read_csv
from tests.conftest import REPO

SETTINGS = load_settings(REPO / "config.toml", {})


def test_sample_briefings_cover_two_weeks_every_theme_and_both_languages() -> None:
    entries = pipeline.read_entries(SETTINGS)
    assert len(entries) >= 15
    assert {e.language for e in entries} == {"fr", "en"}
    theme_ids = {t.id for t in SETTINGS.themes}
    for day in (dt.date(2025, 11, 26), dt.date(2025, 12, 3)):
        issue = pipeline.assemble(SETTINGS, entries, day)
        assert {s.theme.id for s in issue.sections} >= theme_ids, issue.key
    weeks = {e.date.isocalendar()[:2] for e in entries}
    assert weeks == {(2025, 48), (2025, 49)}


def test_sample_subscribers_differ_in_language_and_themes() -> None:
    people = read_csv(
        REPO / "subscribers" / "sample.csv",
        [t.id for t in SETTINGS.themes], SETTINGS.newsletter.languages, "fr",
    )  # fmt: skip
    assert len(people) >= 6
    assert {p.language for p in people} == {"fr", "en"}
    assert len({p.themes for p in people}) >= 5
    assert any(not p.themes for p in people)
