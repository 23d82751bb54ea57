"""Key figures and quotes with their speakers; editors pin and drop them in front matter."""

from __future__ import annotations

import datetime as dt

import pytest

from digest import pipeline
from digest.assemble import assemble_issue
from digest.highlights import Highlights, figure_key, find_figures, highlights
from digest.models import Entry, Variant
from digest.pipeline import read_entries
from tests.conftest import Project

RUTTE = (
    "---\ntitle: Rutte à Bruxelles\ndate: 2025-12-02\nsource: https://example.org/r\n{extra}"
    "---\nLe Secrétaire général Mark Rutte a tenu une conférence de presse.\n\n"
    "Les Alliés consacreront 5 % de leur PIB à la défense, dont 3,5 % aux dépenses "
    "militaires. Objectif : un milliard de dollars par mois.\n\n"
    "Rutte a insisté sur l'effort : « Nous ne pouvons pas relâcher l'effort maintenant. »\n\n"
    "« Nous sommes en bonne voie pour décembre », a-t-il ajouté.\n\n"
    "Un « petit mot » ne compte pas.\n"
)


def issue_of(project: Project, extra: str = "") -> Highlights:
    for path in (project.root / "briefings").glob("*.md"):
        path.unlink()
    project.write_entry("rutte.md", RUTTE.format(extra=extra))
    project.write_entry(
        "wire.md",
        "---\ntitle: Wire\ndate: 2025-12-03\nsource: https://example.org/w\n---\n"
        '"We will not let up this winter," said Kaja Kallas. Orders rose by €2 billion.\n',
    )
    settings = project.settings()
    return highlights(
        assemble_issue(read_entries(settings), settings.themes, dt.date(2025, 12, 3), 2025)
    )


def test_key_figures_and_quotes_with_speakers(project: Project) -> None:
    found = issue_of(project)
    assert [f.text for f in found.key_figures] == [
        "5 % de leur PIB", "3,5 % aux dépenses militaires", "un milliard de dollars par mois",
        "€2 billion",
    ]  # fmt: skip
    quotes = [(q.speaker, q.text) for q in found.quotes]
    assert ("Mark Rutte", "Nous ne pouvons pas relâcher l'effort maintenant.") in quotes
    assert ("Mark Rutte", "Nous sommes en bonne voie pour décembre") in quotes
    assert ("Kaja Kallas", "We will not let up this winter") in quotes
    assert all("petit mot" not in text for _, text in quotes)  # too short to be a quote
    assert found.quote is not None and found.quote.speaker == "Mark Rutte"


def test_pin_and_drop_in_front_matter(project: Project) -> None:
    extra = (
        "highlights:\n  pin: ['un milliard de dollars', '« Mieux vaut tard. Que jamais, "
        "vraiment » — Mark Rutte']\n  drop: ['5 % de leur PIB', 'relâcher l']\n"
    )
    found = issue_of(project, extra)
    figures = [f.text for f in found.key_figures]
    assert figures[0] == "un milliard de dollars par mois"
    assert found.key_figures[0].pinned
    assert "5 % de leur PIB" not in figures
    quote = found.quote
    assert quote is not None
    assert (quote.text, quote.speaker, quote.pinned) == (
        "Mieux vaut tard. Que jamais, vraiment", "Mark Rutte", True
    )  # fmt: skip
    assert all("relâcher" not in q.text for q in found.quotes)


THEMED = "themes: [spending]\n"
"""Front matter that files an entry under a theme, whatever its words."""


def entry(name: str, language: str, body: str, extra: str = "") -> str:
    return (
        f"---\ntitle: {name}\ndate: 2025-12-02\nlanguage: {language}\n"
        f"source: https://example.org/{name}\n{extra}---\n{body}\n"
    )


EN = (
    "With the target now set at 5% of GDP, including 3.5% for core defence, Allies pay "
    "one billion dollars a month. Mark Rutte spoke to reporters. "
    '"We are on the right track, but December still needs one last push," Rutte said.'
)
FR = (
    "Mark Rutte a rappelé l'objectif de 5 % du PIB, dont 3,5 % pour les besoins "
    "militaires, et un milliard de dollars par mois. « Il n'est pas question de lever "
    "le pied », a-t-il insisté."
)


def week(project: Project, *entries: tuple[str, str], language: str = "") -> Highlights:
    """The highlights of the entries written here, in file-name order, for a reader."""
    for path in (project.root / "briefings").glob("*.md"):
        path.unlink()
    for name, text in entries:
        project.write_entry(f"{name}.md", text)
    settings = project.settings()
    issue = assemble_issue(read_entries(settings), settings.themes, dt.date(2025, 12, 3), 2025)
    return highlights(issue, language=language)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("5% of GDP", "5 % du PIB"),
        ("5\u202f%", "5 %"),
        ("3.5% for core defence", "3,5 %"),
        ("5 pour cent du PIB", "5 per cent of GDP"),
        ("un milliard de dollars par mois", "one billion dollars a month"),
        ("2 milliards d’euros", "€2 billion"),
        ("$1,000", "1.000 $"),
        ("1 500 € par soldat", "€1,500 per soldier"),
    ],
)
def test_the_same_number_and_unit_is_the_same_figure(a: str, b: str) -> None:
    assert figure_key(a, "fr" if "du" in a or "d’" in a else "en") == figure_key(b, "en")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("5 % du PIB", "3,5 % du PIB"),
        ("5 % du PIB", "5 € par mois"),
        ("2 milliards d’euros", "2 milliards de dollars"),
        ("un milliard de dollars", "two billion dollars"),
    ],
)
def test_different_numbers_or_units_stay_apart(a: str, b: str) -> None:
    assert figure_key(a, "fr") != figure_key(b, "fr")


def test_spaced_thousands_are_one_number(project: Project) -> None:
    body = "Un budget de 1 500 € par soldat, 12 000 000 $ au total, pour 4 000 militaires."
    found = week(project, ("a", entry("a", "fr", body)))
    assert [f.text for f in found.key_figures] == ["1 500 € par soldat", "12 000 000 $ au total"]


def test_french_billion_is_a_million_million() -> None:
    assert figure_key("deux billions d’euros", "fr") == figure_key("€2 trillion", "en")
    assert figure_key("deux billions d’euros", "fr") != figure_key("€2 billion", "en")


def test_a_figure_told_in_two_languages_shows_once_in_the_readers_language(
    project: Project,
) -> None:
    told = [("a-en", entry("a-en", "en", EN)), ("b-fr", entry("b-fr", "fr", FR))]
    french = [f.text for f in week(project, *told, language="fr").key_figures]
    assert french == [
        "5 % du PIB", "3,5 % pour les besoins militaires", "un milliard de dollars par mois"
    ]  # fmt: skip
    english = [f.text for f in week(project, *told, language="en").key_figures]
    assert english == ["5% of GDP", "3.5% for core defence", "one billion dollars a month"]
    unknown = [f.text for f in week(project, *told).key_figures]
    assert unknown == english  # no reader language: the first telling


def test_a_pinned_figure_wins_over_the_readers_language(project: Project) -> None:
    pinned = entry("b-fr", "fr", FR, "highlights:\n  pin: ['3,5 %']\n")
    found = week(project, ("a-en", entry("a-en", "en", EN)), ("b-fr", pinned), language="en")
    texts = [f.text for f in found.key_figures]
    assert texts[0] == "3,5 % pour les besoins militaires" and found.key_figures[0].pinned
    assert "3.5% for core defence" not in texts
    assert texts[1:] == ["5% of GDP", "one billion dollars a month"]


def test_a_dropped_figure_leaves_its_other_telling(project: Project) -> None:
    dropped = entry("b-fr", "fr", FR, "highlights:\n  drop: ['5 % du PIB']\n")
    told = [("a-en", entry("a-en", "en", EN)), ("b-fr", dropped)]
    texts = [f.text for f in week(project, *told).key_figures]
    assert "5 % du PIB" not in texts and "5% of GDP" in texts
    # ...but a French reader never gets the English telling in its place
    french = [f.text for f in week(project, *told, language="fr").key_figures]
    assert french == ["3,5 % pour les besoins militaires", "un milliard de dollars par mois"]


@pytest.mark.parametrize(
    ("sentence", "figure"),
    [
        ("Allies pledged 5% of GDP in 2035 terms.", "5% of GDP"),
        ("They keep 3.5% of GDP for core needs.", "3.5% of GDP"),
        ("Spending must reach 1.5% of GDP per year.", "1.5% of GDP"),
        ("Les Alliés visent 5 % du PIB en 2035.", "5 % du PIB"),
        ("Il faut 2 % du PIB dès maintenant.", "2 % du PIB"),
        ("A target of 2% of the budget is met.", "2% of the budget"),
        ("Orders rose to €2 billion by March.", "€2 billion"),
        ("Objectif : un milliard de dollars par mois.", "un milliard de dollars par mois"),
    ],
)
def test_a_key_figure_is_a_whole_noun_phrase(sentence: str, figure: str) -> None:
    body = Entry(
        id="x", title="x", date=dt.date(2025, 12, 2), language="en", source_url="",
        source_name="", body_html="", text=sentence,
    )  # fmt: skip
    assert [f.text for f in find_figures(body)] == [figure]


def test_a_quote_loses_trailing_commas_and_spaces_but_keeps_its_final_mark(
    project: Project,
) -> None:
    body = (
        "« Nous sommes sur la bonne voie, mais décembre compte ,  » a dit Mark Rutte. "
        "« Faut-il vraiment attendre encore ? » a demandé Kaja Kallas. "
        "« Nous tiendrons jusqu'au bout ! » a affirmé Kaja Kallas. "
        "« Il reste tant à faire… » a ajouté Kaja Kallas. "
        "« Trois points de plus ; » a estimé Kaja Kallas. "
        "« Voici les priorités du sommet : » a annoncé Kaja Kallas."
    )
    pin = "highlights:\n  pin: ['« Mieux vaut tard que jamais, » — Mark Rutte']\n"
    found = week(project, ("a", entry("a", "fr", body, pin)))
    assert [q.text for q in found.quotes] == [
        "Mieux vaut tard que jamais",
        "Nous sommes sur la bonne voie, mais décembre compte",
        "Faut-il vraiment attendre encore ?",
        "Nous tiendrons jusqu'au bout !",
        "Il reste tant à faire…",
        "Trois points de plus",
        "Voici les priorités du sommet",
    ]


def test_the_quote_of_the_week_is_in_the_readers_language(project: Project) -> None:
    told = [("a-en", entry("a-en", "en", EN, THEMED)), ("b-fr", entry("b-fr", "fr", FR, THEMED))]
    french = week(project, *told, language="fr").quote
    assert french is not None
    # "…», a-t-il insisté": the speaker is the one the text named before.
    assert (french.text, french.speaker) == ("Il n'est pas question de lever le pied", "Mark Rutte")
    english = week(project, *told, language="en").quote
    assert english is not None and english.language == "en"
    assert english.text == "We are on the right track, but December still needs one last push"


def test_the_quote_of_the_week_has_a_named_speaker_in_a_themed_entry(project: Project) -> None:
    unnamed = entry(
        "a", "fr", "On entend partout « il faudra bien payer un jour la note ».", THEMED
    )
    brief = entry("b", "fr", "« Nous paierons la note ensemble », a déclaré Kaja Kallas.")
    named = entry("c", "fr", "« Le flanc est tiendra bon cet hiver », a déclaré Kaja Kallas.",
                  THEMED)  # fmt: skip
    english = entry("d", "en", '"We will pay the bill together," said Kaja Kallas.', THEMED)
    found = week(project, ("a", unnamed), ("b", brief), ("c", named), ("d", english),
                 language="fr")  # fmt: skip
    assert found.quote is not None
    assert (found.quote.text, found.quote.speaker, found.quote.theme_id) == (
        "Le flanc est tiendra bon cet hiver", "Kaja Kallas", "spending"
    )  # fmt: skip
    assert all(q.language == "fr" for q in found.quotes)  # never the English one, untagged
    # An unnamed quote, an "In brief" one or one in another language is no quote of the week.
    found = week(project, ("a", unnamed), ("b", brief), ("d", english), language="fr")
    assert found.quote is None
    # A pin still wins, whatever its entry or language.
    pinned = entry("d", "en", '"We will pay the bill together," said Kaja Kallas.',
                   "highlights:\n  pin: ['pay the bill together']\n")  # fmt: skip
    found = week(project, ("a", unnamed), ("c", named), ("d", pinned), language="fr")
    assert found.quote is not None and found.quote.pinned and found.quote.language == "en"


def test_each_variant_shows_the_figure_and_quote_in_its_own_language(
    project: Project,
) -> None:
    for name, text in [
        ("a-en", entry("a-en", "en", EN, THEMED)), ("b-fr", entry("b-fr", "fr", FR, THEMED))
    ]:  # fmt: skip
        project.write_entry(f"2025-12-02-{name}.md", text)
    settings = project.settings()
    issue = pipeline.assemble(settings, pipeline.read_entries(settings), dt.date(2025, 12, 3))
    now = dt.datetime(2025, 12, 8, 6, 0, tzinfo=dt.UTC)
    edition = pipeline.Edition(settings, issue, pipeline.make_signer(settings), now)
    values = {"name": "Ana", "unsubscribe_url": "https://u.example/x",
              "preferences_url": "https://p.example/y"}  # fmt: skip
    french = edition.compiled(Variant("fr", frozenset())).text.fill(values)
    figures_fr = french.split("CHIFFRES CLÉS", 1)[1].split("\n\n", 1)[0]
    assert "- 5 % du PIB" in figures_fr and "5% of GDP" not in figures_fr
    assert "« Il n'est pas question de lever le pied »" in french
    english = edition.compiled(Variant("en", frozenset())).text.fill(values)
    figures_en = english.split("KEY FIGURES", 1)[1].split("\n\n", 1)[0]
    assert "- 5% of GDP" in figures_en and "5 % du PIB" not in figures_en
