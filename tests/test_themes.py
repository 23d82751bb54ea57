"""The keyword classifier: accents, case, inflections, spellings, title weight, editor wins."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.models import BRIEF_THEME_ID, Entry
from digest.themes import classify, normalize
from tests.conftest import Project


def entry(title: str, text: str = "", themes: tuple[str, ...] = ()) -> Entry:
    return Entry(
        id="e", title=title, date=dt.date(2025, 12, 2), language="fr", source_url="",
        source_name="", body_html="", text=text, themes=themes,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Hausse des dépenses de DÉFENSE en Europe", "spending"),
        ("Allies raise defence spending again", "spending"),
        ("Allies raise defense spending again", "spending"),
        ("Un soutien durable à l'armée ukrainienne", "ukraine"),
        ("Ukrainian grain corridor reopens", "ukraine"),
        ("Des drones survolent une base aérienne", "hybrid"),
        ("Ballons au-dessus de l'aéroport de Vilnius", "hybrid"),
        ("La Serbie et le Kosovo reprennent le dialogue", "balkans"),
        ("Serbian leaders meet in Belgrade", "balkans"),
        ("Préparatifs du sommet d'Ankara", "summit"),
    ],
)
def test_inflections_spellings_and_accents(project: Project, title: str, expected: str) -> None:
    assert classify(entry(title), project.settings().themes).theme_id == expected


def test_whole_words_only(project: Project) -> None:
    # "paixhans" and "budgetless" are not "paix" or "budget"; "sommets" is "sommet"
    themes = project.settings().themes
    assert classify(entry("Le canon Paixhans"), themes).theme_id == BRIEF_THEME_ID
    assert classify(entry("Budgetless planning"), themes).theme_id == BRIEF_THEME_ID
    assert classify(entry("Deux sommets"), themes).theme_id == "summit"


def test_title_weighs_more_than_body(project: Project) -> None:
    themes = project.settings().themes
    # two body mentions of Ukraine lose to one title mention of a drone
    found = classify(entry("Un drone abattu", "L'Ukraine et encore l'Ukraine."), themes)
    assert found.theme_id == "hybrid"
    assert found.scores["hybrid"] == 3 and found.scores["ukraine"] == 2


def test_front_matter_themes_win_and_nothing_vanishes(project: Project) -> None:
    themes = project.settings().themes
    assert classify(entry("Des drones", themes=("summit",)), themes).theme_id == "summit"
    nothing = classify(entry("Nomination d'un porte-parole", "Il arrive en janvier."), themes)
    assert nothing.theme_id == BRIEF_THEME_ID and nothing.score == 0


def test_normalize_folds_elisions_and_spellings() -> None:
    assert normalize("L’Ukraine d'Ankara, DEFENCE Œuvre") == [
        "ukraine",
        "ankara",
        "defense",
        "oeuvre",
    ]


def test_entries_list_shows_theme_score_and_why(project: Project) -> None:
    import json

    from click.testing import CliRunner

    from digest.cli import cli

    result = CliRunner().invoke(
        cli, ["--config", str(project.config), "entries", "list", "--date", "2025-12-03", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.output)}
    assert set(rows) == {
        "2025-12-01-budgets", "2025-12-02-kyiv-aid", "2025-12-03-drones", "2025-12-04-kosovo",
        "2025-12-05-summit", "2025-12-06-staff",
    }  # fmt: skip
    drones = rows["2025-12-03-drones"]
    assert (drones["theme"], drones["chosen_by"]) == ("hybrid", "keywords")
    assert drones["score"] == drones["scores"]["hybrid"] == 3 + 2  # "Drones" in title; body
    assert (rows["2025-12-05-summit"]["theme"], rows["2025-12-05-summit"]["chosen_by"]) == (
        "summit", "editor"
    )  # fmt: skip
    assert (rows["2025-12-06-staff"]["theme"], rows["2025-12-06-staff"]["score"]) == ("brief", 0)
    table = CliRunner().invoke(cli, ["--config", str(project.config), "entries", "list"])
    assert "hybrid" in table.output and "Drones repérés au-dessus d'un port" in table.output
