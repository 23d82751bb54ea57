"""Editorial checks: each finding with its id, severity, file and line; send and --force."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner, Result

from digest.assemble import assemble_issue
from digest.checks import run_checks
from digest.cli import cli
from digest.pipeline import read_entries
from tests.conftest import Project

NOW = dt.datetime(2025, 12, 7, 9, 0, tzinfo=dt.UTC)


def run(project: Project, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args])


def findings(project: Project, day: dt.date = dt.date(2025, 12, 3)) -> dict[str, list[str]]:
    settings = project.settings()
    entries = read_entries(settings)
    issue = assemble_issue(entries, settings.themes, day, settings.newsletter.first_year)
    found: dict[str, list[str]] = {}
    for check in run_checks(settings, entries, issue, NOW):
        found.setdefault(check.id, []).append(f"{check.severity} {check}")
    return found


def test_fixture_week_is_clean(project: Project) -> None:
    assert findings(project) == {}


def test_weekday_contradicting_its_date_is_an_error_with_file_and_line(project: Project) -> None:
    project.write_entry(
        "wd.md",
        "---\ntitle: Conférence\ndate: 2025-12-02\nsource: https://example.org/w\n---\n"
        "Premier paragraphe.\n\nLe Secrétaire général a parlé lundi 2 décembre 2025.\n"
        "On Tuesday, 2 December 2025 all was fine. Not so le 31 novembre 2025.\n",
    )
    found = findings(project)
    (weekday,) = found["weekday-date"]
    assert found["date-invalid"] == [
        f"error {project.root / 'briefings/wd.md'}:9: '31 novembre 2025' is not a real date"
    ]
    assert weekday.startswith("error ") and weekday.endswith(
        "wd.md:8: 'lundi 2 décembre 2025' says Monday, but 2025-12-02 is a Tuesday"
    )


def test_broken_links_images_and_leftovers(project: Project) -> None:
    project.write_entry(
        "links.md",
        "---\ntitle: Liens\ndate: 2025-12-02\nsource: https://example.org/l\n---\n"
        "Voir [le texte]() et [la carte](carte.html) et [](https://example.org/x).\n\n"
        "![schéma](images/schema.png)\n\n"
        "%20(1).png)\n\n[Bon lien](https://example.org/ok)\n",
    )
    found = findings(project)
    assert [f.split(": ", 1)[1] for f in found["broken-link"]] == [
        "link 'le texte' has an empty address",
        "link 'la carte' goes to 'carte.html': not a URL",
    ]
    assert all(f.startswith("error ") and "links.md:6" in f for f in found["broken-link"])
    assert "links.md:8: image" in found["broken-image"][0]
    assert "links.md:10: leftover of broken markup '%20(1).png)'" in found["broken-markup"][0]
    assert found["empty-link"] == [
        "warning " + str(project.root / "briefings/links.md") + ":6: "
        "link to https://example.org/x has no text"
    ]


def test_raw_html_and_entities_are_errors_because_readers_would_see_them_typed(
    project: Project,
) -> None:
    project.write_entry(
        "html.md",
        '---\ntitle: "L\'OTAN promet 5&nbsp;% de plus"\ndate: 2025-12-02\n'
        "source: https://example.org/h\n---\n"
        'Une <abbr title="défense aérienne">DCA</abbr> renforcée.<br>Suite.\n\n'
        "<script>alert(1)</script>\n\n"
        "Du code montré exprès : `<b>gras</b>`, et a < b > c sans balise.\n\n"
        "    <div>un bloc de code</div>\n",
    )
    found = findings(project)
    where = f"error {project.root / 'briefings/html.md'}"
    assert found["raw-html"] == [
        f"{where}:2: title: '&nbsp;' is shown to readers as typed: type the character itself",
        f"{where}:6: HTML '<abbr title=\"défense aérienne\">' is shown to readers as typed: "
        "write Markdown or plain text instead",
        f"{where}:6: HTML '</abbr>' is shown to readers as typed: write Markdown or plain "
        "text instead",
        f"{where}:6: HTML '<br>' is shown to readers as typed: write Markdown or plain text "
        "instead",
        f"{where}:8: HTML '<script>alert(1)</script>' is shown to readers as typed: write "
        "Markdown or plain text instead",
    ]
    # and what readers get stays harmless text, as the check says
    (entry,) = [e for e in read_entries(project.settings()) if e.id == "html"]
    assert "<script" not in entry.body_html and "&lt;script&gt;" in entry.body_html


def test_no_source_duplicates_empty_sections_and_odd_dates(project: Project) -> None:
    for name in ("2025-12-02-kyiv-aid.md", "2025-12-04-kosovo.md"):
        (project.root / "briefings" / name).unlink()
    project.write_entry("nosource.md", "---\ntitle: Sans source\ndate: 2025-12-03\n---\nTexte.\n")
    project.write_entry(
        "dup.md",
        "---\ntitle: Les Alliés relèvent leur budget de défense\ndate: 2025-12-02\n"
        "source: https://example.org/d\n---\nAutre texte.\n",
    )
    project.write_entry(
        "future.md",
        "---\ntitle: Plus tard\ndate: 2026-03-02\nsource: https://example.org/f\n---\nx\n",
    )
    project.write_entry(
        "swapped.md",
        "---\ntitle: Inversion\ndate: 2025-02-12\nsource: https://example.org/s\n---\n"
        "Réunion du 12 décembre 2025.\n",
    )
    found = findings(project)
    assert found["no-source"] == [
        f"warning {project.root / 'briefings/nosource.md'}:1: no source: add `source:` (a URL)"
    ]
    (duplicate,) = found["duplicate"]
    assert "same story twice? its title is close to" in duplicate and "budgets.md" in duplicate
    assert sorted(f.split("theme ")[1][:9] for f in found["empty-section"]) == [
        "'balkans'", "'ukraine'"
    ]  # fmt: skip
    assert "future.md: dated 2026-03-02, in the future" in found["date-future"][0]
    assert "swapped.md:6: the text says '12 décembre 2025'" in found["date-far"][0]


def test_send_stops_on_check_errors_unless_forced(project: Project) -> None:
    run(project, "subscribers", "import", str(project.root / "subscribers" / "sample.csv"))
    project.write_entry(
        "wd.md",
        "---\ntitle: Conférence\ndate: 2025-12-02\nsource: https://example.org/w\n---\n"
        "Il a parlé lundi 2 décembre 2025.\n",
    )
    stopped = run(project, "send", "--date", "2025-12-03")
    assert stopped.exit_code == 1
    assert "error: [weekday-date]" in stopped.output
    assert (
        "1 editorial check error(s) in 2025-W49" in stopped.output and "--force" in stopped.output
    )
    assert not (project.root / "outbox").exists()

    checked = run(project, "check", "--date", "2025-12-03")
    assert checked.exit_code == 1 and "1 error(s)" in checked.output

    forced = run(project, "send", "--date", "2025-12-03", "--force")
    assert forced.exit_code == 0, forced.output
    assert "7 sent" in forced.output


def test_same_story_with_another_title_is_found_by_its_text(project: Project) -> None:
    body = (
        "La présidence turque a diffusé aux délégations un calendrier des travaux, avec trois "
        "séances plénières, un dîner de travail et une conférence de presse finale mercredi.\n"
    )
    for name, title in (("a.md", "Ordre du jour du sommet"), ("b.md", "Ce que dira Ankara")):
        project.write_entry(
            name, f"---\ntitle: {title}\ndate: 2025-12-04\nsource: https://example.org/{name}\n"
            f"---\n{body}",
        )  # fmt: skip
    (duplicate,) = findings(project)["duplicate"]
    assert duplicate.endswith(f"its text is close to {project.root / 'briefings/a.md'}")
