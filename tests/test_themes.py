"""The theme classifier: stems, accents, spellings, title weight, the setting a theme
needs, ties decided by evidence, the editor's choice, and the evaluation command."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.config import load_settings
from digest.errors import ConfigError
from digest.models import BRIEF_THEME_ID, Entry, Theme
from digest.theme_eval import evaluations, read_labelled
from digest.themes import classify, normalize
from tests.conftest import REPO, Project

THEMES = load_settings(REPO / "config.toml", {}).themes
LABELLED = REPO / "bench" / "data" / "themes.jsonl"


def entry(title: str, text: str = "", themes: tuple[str, ...] = (), language: str = "fr") -> Entry:
    return Entry(
        id="e", title=title, date=dt.date(2025, 12, 2), language=language, source_url="",
        source_name="", body_html="", text=text, themes=themes,
    )  # fmt: skip


def theme_of(title: str, text: str = "", themes: tuple[Theme, ...] = THEMES) -> str:
    return classify(entry(title, text), themes).theme_id


# The configured keywords without their context: only the word matching is under test.
BARE = tuple(replace(t, context={}) for t in THEMES)


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
        # forms the first round missed
        ("Zelenskyy meets allies in Berlin", "ukraine"),
        ("Les Serbes du nord boycottent le scrutin", "balkans"),
        ("Serbs protest in Mitrovica", "balkans"),
        ("Les Kosovars votent dimanche", "balkans"),
        ("Vague de cyberattaques contre des ministères", "hybrid"),
    ],
)
def test_stems_spellings_and_accents(title: str, expected: str) -> None:
    assert theme_of(title, themes=BARE) == expected


def test_whole_words_only() -> None:
    # "paixhans" and "budgetless" are not "paix" or "budget"; "sommets" is "sommet"
    assert theme_of("Le canon Paixhans", themes=BARE) == BRIEF_THEME_ID
    assert theme_of("Budgetless planning", themes=BARE) == BRIEF_THEME_ID
    assert theme_of("Deux sommets de l'OTAN") == "summit"


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        ("Finnair to keep avoiding Russian airspace", "Flights to Asia take longer routes."),
        ("Astronauts to spend Christmas in orbit", "The crew will share a festive meal."),
        ("Municipales à Ankara : le maire sortant favori", "Il brigue un troisième mandat."),
        ("West African regional bloc lifts sanctions", "ECOWAS leaders reopened borders."),
        ("Opinion: the pension debate", "A budget crunch and, since the war in Ukraine, fatigue."),
        ("Retailer says cyberattack will cost it £300m", "Hackers stole customer data."),
        ("Le sommet du G20 s'ouvre à Johannesburg", "La dette des pays pauvres au menu."),
        ("Storm batters Black Sea coast", "Heavy rain flooded streets, the weather service said."),
        ("Hybrid cars outsell diesel", "Sales of hybrids rose 20% in November."),
        ("Ukraine beat Iceland to reach World Cup play-offs", "Two late goals in Warsaw."),
        ("Trump unveils Gaza peace plan", "Both sides are asked to accept a ceasefire."),
        ("Drone strike kills two in southern Lebanon", "The Israeli army named the targets."),
    ],
)
def test_one_shared_word_without_its_setting_makes_no_theme(title: str, lead: str) -> None:
    found = classify(entry(title, lead), THEMES)
    assert found.theme_id == BRIEF_THEME_ID, found.evidence


@pytest.mark.parametrize(
    ("title", "lead", "expected"),
    [
        ("Russian drones violate Polish airspace", "NATO jets were scrambled.", "hybrid"),
        ("Germany lifts military spending to a record", "The budget reaches 3% of GDP.",
         "spending"),
        ("Les ministres préparent le sommet d'Ankara", "Les Alliés veulent un texte court.",
         "summit"),
        ("Allies pledge more air defence systems", "Patriot launchers will go to Kyiv.",
         "ukraine"),
    ],
)  # fmt: skip
def test_the_same_words_with_their_setting_make_the_theme(
    title: str, lead: str, expected: str
) -> None:
    assert theme_of(title, lead) == expected


def test_a_lone_mention_in_the_body_is_not_enough() -> None:
    lone = classify(entry("La réforme des retraites", "Comme en Ukraine, l'armée recrute."), THEMES)
    assert lone.theme_id == BRIEF_THEME_ID
    assert lone.evidence["ukraine"].reason.startswith("a lone mention in the body")
    twice = theme_of("La réforme des retraites", "L'Ukraine, puis Kyiv : l'armée recrute.")
    assert twice == "ukraine"


def test_title_weighs_more_than_body() -> None:
    # two body mentions of Ukraine lose to one title mention of a drone
    found = classify(entry("Un drone russe abattu", "L'Ukraine et encore l'Ukraine."), THEMES)
    assert found.theme_id == "hybrid"
    assert found.scores["hybrid"] == 3 and found.scores["ukraine"] == 2


def test_ties_go_to_the_evidence_not_to_theme_order() -> None:
    title, lead = "Zelensky invité au sommet de l'OTAN", "Le président ukrainien irait à Ankara."
    found = classify(entry(title, lead), THEMES)
    assert found.scores["summit"] == found.scores["ukraine"] == 4
    assert found.theme_id == "summit"  # the topic word, not the name, and not order 2 < 5
    flipped = tuple(replace(t, order=-t.order) for t in THEMES)
    assert classify(entry(title, lead), flipped).theme_id == "summit"


def test_evidence_names_the_terms_where_they_were_found() -> None:
    found = classify(entry("Des drones repérés près d'une base militaire", "Un drone."), THEMES)
    hybrid = found.evidence["hybrid"]
    assert hybrid.accepted and found.chosen_by == "classifier"
    assert {(m.term, m.where, m.points) for m in hybrid.matches} >= {
        ("drone", "title", 3), ("drone", "body", 1), ("base militaire", "title", 0)
    }  # fmt: skip
    assert hybrid.reason == "drone (title), drone (body); context: repéré, base militaire"


def test_front_matter_themes_win_and_nothing_vanishes() -> None:
    chosen = classify(entry("Des drones", themes=("summit",)), THEMES)
    assert (chosen.theme_id, chosen.chosen_by) == ("summit", "editor")
    unknown = classify(entry("Des drones russes", themes=("nope",)), THEMES)
    assert (unknown.theme_id, unknown.chosen_by) == ("hybrid", "classifier")
    nothing = classify(entry("Nomination d'un porte-parole", "Il arrive en janvier."), THEMES)
    assert nothing.theme_id == BRIEF_THEME_ID and nothing.score == 0


def test_normalize_folds_elisions_and_spellings() -> None:
    assert normalize("L’Ukraine d'Ankara, DEFENCE Œuvre") == [
        "ukraine",
        "ankara",
        "defense",
        "oeuvre",
    ]


def test_an_old_config_without_names_or_context_still_loads_and_classifies(
    project: Project,
) -> None:
    text = project.config.read_text(encoding="utf-8")
    kept = "\n".join(
        line for line in text.splitlines()
        if not line.startswith(("names =", "context =", "# names:", "# context:"))
    )  # fmt: skip
    project.config.write_text(kept, encoding="utf-8")
    themes = project.settings().themes
    assert all(t.context == {} and t.names == () for t in themes)
    # without context a word counts on its own, as before
    assert theme_of("Des drones survolent un port", themes=themes) == "hybrid"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('names = "KFOR"', "theme 'spending': names must be a list of strings"),
        ("context = { fr = [1] }", "theme 'spending': context must map a language to a list"),
    ],
)
def test_bad_names_or_context_are_one_clear_error(
    project: Project, line: str, message: str
) -> None:
    lines = project.config.read_text(encoding="utf-8").splitlines()
    key = line.split(" =")[0]
    themes = lines.index("[[themes]]")
    first = next(i for i, text in enumerate(lines) if i > themes and text.startswith(f"{key} ="))
    lines[first] = line  # the first theme's (spending's) line
    project.config.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        project.settings()


def test_entries_list_shows_theme_evidence_and_who_chose(project: Project) -> None:
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
    assert (drones["theme"], drones["chosen_by"]) == ("hybrid", "classifier")
    # "Drones" in the title; "drones", "survolé", "hybride" in the body
    assert drones["score"] == drones["scores"]["hybrid"] == 3 + 3
    terms = {(m["term"], m["where"]) for m in drones["evidence"]["hybrid"]["matches"]}
    assert {("drone", "title"), ("drone", "body"), ("acte hybride", "body")} <= terms
    assert drones["evidence"]["hybrid"]["accepted"] is True
    summit = rows["2025-12-05-summit"]
    assert (summit["theme"], summit["chosen_by"]) == ("summit", "editor")
    staff = rows["2025-12-06-staff"]
    assert (staff["theme"], staff["score"], staff["chosen_by"]) == ("brief", 0, "classifier")
    table = CliRunner().invoke(cli, ["--config", str(project.config), "entries", "list"])
    assert "hybrid" in table.output and "Drones repérés au-dessus d'un port" in table.output
    assert "drone (title)" in table.output  # the evidence, in the table too


# -- the labelled set and `digest themes evaluate` ---------------------------------------


def test_labelled_set_is_big_bilingual_and_a_third_off_topic() -> None:
    items = read_labelled(LABELLED, [t.id for t in THEMES])
    assert len(items) >= 150
    assert {i.language for i in items} == {"fr", "en"}
    off_topic = sum(1 for i in items if i.expected == BRIEF_THEME_ID)
    assert 0.25 <= off_topic / len(items) <= 0.4
    assert {i.split for i in items} == {"tune", "holdout", "fresh"}
    assert len({i.id for i in items}) == len(items)


def test_labelled_set_accuracy_stays_at_least_90_percent() -> None:
    items = read_labelled(LABELLED, [t.id for t in THEMES])
    results = {e.name: e for e in evaluations(items, THEMES)}
    assert results["all"].accuracy >= 0.9, [(m.item.id, m.got) for m in results["all"].misses]
    assert results["holdout"].accuracy >= 0.9


def test_evaluate_prints_accuracy_precision_and_recall(project: Project, tmp_path: Path) -> None:
    labelled = tmp_path / "set.jsonl"
    rows = [
        {"title": "Des drones russes au-dessus d'une base", "lead": "", "language": "fr",
         "expected": "hybrid", "split": "tune"},
        {"title": "Drone light show over Shanghai", "lead": "Dragons in the sky.",
         "language": "en", "expected": "none", "split": "holdout"},
        {"title": "Kosovo: KFOR adds patrols", "lead": "", "language": "en",
         "expected": "summit", "split": "holdout"},
    ]  # fmt: skip
    labelled.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--config", str(project.config), "themes", "evaluate", str(labelled)]
    )
    assert result.exit_code == 0, result.output
    assert "all: 2/3 right (66.7 %)" in result.output
    assert "holdout: 1/2 right (50.0 %)" in result.output
    assert "| hybrid | 1.00 | 1.00 | 1 |" in result.output
    assert "| balkans | 0.00 | 1.00 | 0 |" in result.output  # took one that was not its
    assert "| summit | 1.00 | 0.00 | 1 |" in result.output
    assert "Kosovo: KFOR adds patrols" in result.output  # each miss listed
    as_json = CliRunner().invoke(
        cli, ["--config", str(project.config), "themes", "evaluate", str(labelled), "--json"]
    )
    found = json.loads(as_json.output)
    assert found[0]["name"] == "all" and found[0]["correct"] == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json\n", r"set\.jsonl:1: not JSON"),
        ('{"title": "x", "language": "fr"}\n', r"set\.jsonl:1: field 'expected'"),
        ('{"title": "x", "language": "fr", "expected": "sport"}\n',
         r"set\.jsonl:1: field 'expected' is 'sport'"),
        ("", r"set\.jsonl: no labelled items"),
    ],
)  # fmt: skip
def test_evaluate_refuses_a_bad_file_with_one_line(
    project: Project, tmp_path: Path, content: str, message: str
) -> None:
    import re

    labelled = tmp_path / "set.jsonl"
    labelled.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--config", str(project.config), "themes", "evaluate", str(labelled)]
    )
    assert result.exit_code != 0
    assert re.search(rf"^error: .*{message}", result.output, re.MULTILINE), result.output
    assert "Traceback" not in result.output


def test_accented_and_plain_spellings_meet_on_one_stem() -> None:
    # Snowball's French stemmer needs the accents ("alliée"/"allié"); a text typed
    # without them ("securite") still meets the accented keyword.
    theme = Theme(
        id="t", titles={"fr": "T"}, keywords={"fr": ("sécurité", "allié")}, colour="#000000",
        order=1,
    )  # fmt: skip
    assert theme_of("La diplomatie alliée s'organise", themes=(theme,)) == "t"
    assert theme_of("La securite d'abord", themes=(theme,)) == "t"
    assert theme_of("Les alliances d'hier", themes=(theme,)) == BRIEF_THEME_ID
