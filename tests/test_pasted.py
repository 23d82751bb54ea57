"""Pasted press texts become themed Markdown entries; debris is removed and reported."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest.cli import cli
from digest.models import BRIEF_THEME_ID, Entry
from digest.pipeline import read_entries
from digest.themes import classify
from tests.conftest import FIXTURES, REPO, Project

SEED = REPO.parent / "shared" / "seed" / "000_4245ddf72926b519.txt"


def run(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args])


def theme_of(project: Project, entry: Entry) -> str:
    return classify(entry, project.settings().themes).theme_id


def empty_folder(project: Project) -> Path:
    folder = project.root / "briefings"
    for path in folder.glob("*.md"):
        path.unlink()
    return folder


def test_seed_imports_into_six_themed_entries_and_the_weekday_is_flagged(
    project: Project,
) -> None:
    assert SEED.is_file(), f"{SEED}: the seed text is expected in ../shared beside the repo"
    folder = empty_folder(project)
    result = run(project, "entries", "import", str(SEED), "--source", "https://www.nato.int/")
    assert result.exit_code == 0, result.output
    assert "6 entries written" in result.output
    assert re.search(r"warning: .*000_4245ddf72926b519\.txt:37: removed leftover '%20\(1\)\.png\)'",
                     result.output)  # fmt: skip

    entries = sorted(read_entries(project.settings()), key=lambda e: e.path or Path())
    by_file_order = [e for e in sorted(entries, key=lambda e: SEED_ORDER.index(e.title[:12]))]
    settings = project.settings()
    assert [classify(e, settings.themes).theme_id for e in by_file_order] == [
        "spending", "ukraine", "ukraine", "hybrid", "balkans", "summit",
    ]  # fmt: skip
    assert all(e.themes == () for e in entries)  # the editor has chosen nothing yet
    suggested = [
        re.search(r"^suggested_theme: (\w+)$", (e.path or Path()).read_text(), re.M)
        for e in by_file_order
    ]
    assert [m.group(1) if m else None for m in suggested] == [
        "spending", "ukraine", "ukraine", "hybrid", "balkans", "summit",
    ]  # fmt: skip
    assert by_file_order[2].title.startswith("PURL")
    assert all(str(e.date) == "2025-12-02" for e in entries)
    assert all(e.source_url == "https://www.nato.int/" for e in entries)
    files = "".join(p.read_text(encoding="utf-8") for p in folder.glob("*.md"))
    assert ".png" not in files and "%20" not in files
    assert "- le principe d’adhésion reste valide ;" in files  # bullets stay a list
    assert "> « Nous ne pouvons pas relâcher l’effort." in files  # quotes become blockquotes

    checked = run(project, "check", "--date", "2025-12-02")
    assert checked.exit_code == 1
    assert re.search(
        r"error: \[weekday-date\] .*un-effort-de-defense.*\.md:\d+: 'lundi 2 décembre 2025' "
        r"says Monday, but 2025-12-02 is a Tuesday",
        checked.output,
    )
    blocked = run(project, "send", "--date", "2025-12-02")
    assert blocked.exit_code == 1 and "editorial check error" in blocked.output
    assert not (project.root / "outbox").exists()


SEED_ORDER = ["Un effort de", "Ukraine : so", "PURL : un mé", "Menaces hybr", "Mer Noire, B",
              "En route ver"]  # fmt: skip


def test_own_pasted_text_sections_dates_and_debris(project: Project) -> None:
    folder = empty_folder(project)
    source = FIXTURES / "pasted" / "exercise-briefing.txt"
    result = run(project, "entries", "import", str(source), "--source", "Service de presse")
    assert result.exit_code == 0, result.output
    assert "exercise-briefing.txt:9: removed leftover '![carte des exercices]" in result.output
    assert "exercise-briefing.txt:12: removed leftover '</div>'" in result.output
    entries = {e.title: e for e in read_entries(project.settings())}
    assert set(entries) == {
        "Des exercices plus longs et plus nombreux", "Un budget en hausse", "Une note sans thème",
    }  # fmt: skip
    themes = {title: theme_of(project, e) for title, e in entries.items()}
    assert themes["Un budget en hausse"] == "spending"
    # one "drones" in a list of exercises is not a hybrid-threat story
    assert themes["Des exercices plus longs et plus nombreux"] == BRIEF_THEME_ID
    assert themes["Une note sans thème"] == BRIEF_THEME_ID  # goes to "En bref"
    first = entries["Des exercices plus longs et plus nombreux"]
    assert first.text.startswith("Le porte-parole Jan Verhoeven")
    assert first.text.endswith("tensions persistantes sur le flanc est.")  # the lead, last
    assert "<li>un exercice de lutte contre les drones en Pologne.</li>" in first.body_html
    assert all(e.source_name == "Service de presse" and str(e.date) == "2025-12-04"
               for e in entries.values())  # fmt: skip
    assert "carte" not in "".join(p.read_text(encoding="utf-8") for p in folder.glob("*.md"))
    assert run(project, "check", "--date", "2025-12-04").exit_code == 0

    again = run(project, "entries", "import", str(source))
    assert again.exit_code == 0 and "0 entries written" in again.output
    assert again.output.count("already exists; not overwritten") == 3


def test_markup_in_pasted_text_stays_text(project: Project, tmp_path: Path) -> None:
    empty_folder(project)
    pasted = tmp_path / "p.txt"
    pasted.write_text(
        "Intro du 2 décembre 2025.\nUn titre\n<script>alert(1)</script> et *gras* et "
        "[lien](javascript:alert(1)) et {{ 7*7 }}\n",
        encoding="utf-8",
    )
    assert run(project, "entries", "import", str(pasted)).exit_code == 0
    (entry,) = read_entries(project.settings())
    assert "<script" not in entry.body_html and "href" not in entry.body_html
    assert "*gras*" in entry.text and "{{ 7*7 }}" in entry.text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04\x00\x00binary", r"p\.txt: binary file"),
        (b"Un texte sans titre ni date.\n", r"p\.txt: no usable text found"),
        (b"", r"p\.txt: empty file"),
        (b"  \n\n", r"p\.txt: empty file"),
        (b"Intro.\nUn titre\nUn paragraphe.\n", r"p\.txt: no date found .*--date"),
    ],
)
def test_bad_pasted_files_are_clean_errors(
    project: Project, tmp_path: Path, content: bytes, message: str
) -> None:
    pasted = tmp_path / "p.txt"
    pasted.write_bytes(content)
    result = run(project, "entries", "import", str(pasted))
    assert result.exit_code == 1
    assert re.search(rf"^error: .*{message}", result.output, re.MULTILINE), result.output
    assert "Traceback" not in result.output


def test_oversized_pasted_file_is_refused(project: Project, tmp_path: Path) -> None:
    pasted = tmp_path / "big.txt"
    pasted.write_bytes(b"a" * (5 * 1024 * 1024 + 1))
    result = run(project, "entries", "import", str(pasted))
    assert result.exit_code == 1 and "big.txt: file is larger than 5 MB" in result.output


def test_pasted_text_may_start_with_a_heading(project: Project, tmp_path: Path) -> None:
    empty_folder(project)
    pasted = tmp_path / "p.txt"
    pasted.write_text(
        "Drones au-dessus de la Baltique\n"
        "Des drones russes ont survolé un port le 3 décembre 2025.\n"
        "Le sommet se prépare\nLes ministres de l'OTAN se réunissent à Ankara.\n",
        encoding="utf-8",
    )
    result = run(project, "entries", "import", str(pasted))
    assert result.exit_code == 0 and "2 entries written" in result.output
    themes = {e.title: theme_of(project, e) for e in read_entries(project.settings())}
    assert themes == {"Drones au-dessus de la Baltique": "hybrid", "Le sommet se prépare": "summit"}
