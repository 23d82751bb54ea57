"""Key figures and quotes with their speakers; editors pin and drop them in front matter."""

from __future__ import annotations

import datetime as dt

from digest.assemble import assemble_issue
from digest.highlights import Highlights, highlights
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
    assert ("Kaja Kallas", "We will not let up this winter,") in quotes
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
