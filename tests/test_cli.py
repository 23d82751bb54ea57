"""End to end through the real command line, then read the state it left."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from digest.cli import cli
from tests.conftest import FIXTURES, Project


def run(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args], env=env)


def test_import_list_build_send(project: Project) -> None:
    result = run(project, "subscribers", "import", str(project.root / "subscribers/sample.csv"))
    assert result.exit_code == 0, result.output
    assert "imported 7 subscriber(s)" in result.output

    listed = run(project, "subscribers", "list", "--json")
    people = json.loads(listed.output)
    assert len(people) == 7
    assert {p["language"] for p in people} == {"fr", "en"}

    built = run(project, "build", "--date", "2025-12-03", "--out", str(project.root / "out"))
    assert built.exit_code == 0, built.output
    assert "issue 2025-W49 (vol. 1, no. 49): 6 entries in 6 sections" in built.output
    html = (project.root / "out" / "issue.html").read_text(encoding="utf-8")
    assert "Menaces hybrides" in html and "En bref" in html
    text = (project.root / "out" / "issue.txt").read_text(encoding="utf-8")
    assert "PERSPECTIVES DU SOMMET" in text
    eml = message_from_bytes((project.root / "out" / "issue.eml").read_bytes(), policy=policy.SMTP)
    assert eml.get_content_type() == "multipart/alternative"

    sent = run(project, "send", "--date", "2025-12-03")
    assert sent.exit_code == 0, sent.output
    assert "7 sent, 0 failed" in sent.output
    assert len(list((project.root / "outbox").glob("*.eml"))) == 7

    again = run(project, "send", "--date", "2025-12-03")
    assert again.exit_code == 0 and "resumed: 0 sent" in again.output
    assert len(list((project.root / "outbox").glob("*.eml"))) == 7


def test_subscriber_with_no_entries_for_their_themes_gets_nothing(project: Project) -> None:
    csv = project.root / "subscribers" / "one.csv"
    csv.write_text("email,name,language,themes\na@example.org,A,fr,ukraine\n", encoding="utf-8")
    run(project, "subscribers", "import", str(csv))
    # the week of 24 November holds only a Black Sea entry
    result = run(project, "send", "--date", "2025-11-27")
    assert result.exit_code == 0, result.output
    assert "0 sent" in result.output and "1 subscriber(s) got no email" in result.output


def test_config_from_environment_variable(project: Project) -> None:
    result = CliRunner().invoke(
        cli, ["build", "--date", "2025-12-03"], env={"DIGEST_CONFIG": str(project.config)}
    )
    assert result.exit_code == 0, result.output
    assert (project.root / "build" / "issue.html").exists()


def test_config_option_after_the_command(project: Project) -> None:
    result = CliRunner().invoke(cli, ["build", "--config", str(project.config), "--date",
                                      "2025-12-03"])  # fmt: skip
    assert result.exit_code == 0, result.output


def _assert_clean_failure(result: Result, *fragments: str) -> None:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for fragment in fragments:
        assert fragment in result.output


def test_missing_config_is_a_clean_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "none.toml"), "build"])
    _assert_clean_failure(result, "none.toml: config file not found")
    assert result.exit_code == 2


def test_malformed_config_is_a_clean_error(project: Project) -> None:
    project.config.write_text("[newsletter\nname = 1\n", encoding="utf-8")
    _assert_clean_failure(run(project, "build"), "config.toml: invalid TOML")


def test_bad_entry_fails_and_leaves_previous_build_untouched(project: Project) -> None:
    out = project.root / "out"
    assert run(project, "build", "--date", "2025-12-03", "--out", str(out)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    project.write_entry("zz-bad.md", "---\ntitle: T\ndate: demain\n---\nx\n")
    result = run(project, "build", "--date", "2025-12-03", "--out", str(out))
    _assert_clean_failure(result, "zz-bad.md:3: date: missing or unreadable")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_entry_without_title_and_unknown_theme(project: Project) -> None:
    project.write_entry("notitle.md", "---\ndate: 2025-12-02\n---\nx\n")
    _assert_clean_failure(run(project, "build", "--date", "2025-12-03"), "notitle.md:1: title")
    project.write_entry("notitle.md", "---\ntitle: T\ndate: 2025-12-02\nthemes: [x]\n---\n")
    _assert_clean_failure(run(project, "send", "--date", "2025-12-03"), "unknown theme id 'x'")
    assert not (project.root / "outbox").exists()


def test_invalid_subscriber_rows_are_all_reported_and_nothing_imported(project: Project) -> None:
    csv = project.root / "bad.csv"
    csv.write_text(
        "email,name,language,themes\n"
        "good@example.org,Good,fr,\n"
        "not-an-address,Bad,fr,\n"
        "other@example.org,Other,de,\n"
        "third@example.org,Third,en,mars\n",
        encoding="utf-8",
    )
    result = run(project, "subscribers", "import", str(csv))
    _assert_clean_failure(result, "bad.csv:3:", "bad.csv:4: language 'de'", "bad.csv:5: unknown")
    listed = run(project, "subscribers", "list", "--json")
    assert json.loads(listed.output) == []


def test_week_without_entries_is_a_clean_error(project: Project) -> None:
    result = run(project, "build", "--date", "2026-01-07")
    _assert_clean_failure(result, "no entries dated in week 2026-W02")
    assert not (project.root / "build").exists()


@pytest.mark.parametrize("command", [("build",), ("send",), ("send", "--dry-run")])
def test_a_week_before_volume_one_is_refused_in_one_line(
    project: Project, command: tuple[str, ...]
) -> None:
    project.write_entry(
        "old.md", "---\ntitle: Avant le premier volume\ndate: 2024-12-04\n---\nTexte.\n"
    )
    result = run(project, *command, "--date", "2024-12-04")
    _assert_clean_failure(result, "error: week 2024-W49 is before volume 1", "first_year is 2025")
    assert len(result.output.strip().splitlines()) == 1
    assert "Vol. 0" not in result.output


def test_bad_date_option(project: Project) -> None:
    _assert_clean_failure(run(project, "build", "--date", "03/12/2025"), "--date")
    _assert_clean_failure(run(project, "build", "--date", "9999-12-31"), "out of range")
    _assert_clean_failure(run(project, "send", "--date", "0001-01-01"), "out of range")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    command = cli
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    if not isinstance(command, click.Group):
        assert "Example:" in result.output, path
        assert "--config" in result.output


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("build", "--date", "2025-12-03", "--out", "{blocked}/out"), {}),
        (("subscribers", "export", "{blocked}/subscribers.csv"), {}),
        (
            ("entries", "import", str(FIXTURES / "pasted" / "exercise-briefing.txt"),
             "--source", "https://example.org/"),
            {"DIGEST_ENTRIES_DIR": "{blocked}/briefings"},
        ),
    ],
)  # fmt: skip
def test_an_unwritable_output_folder_is_a_clean_error(
    project: Project, args: tuple[str, ...], env: dict[str, str]
) -> None:
    blocked = project.root / "blocked"  # a file where a folder is expected
    blocked.write_text("not a folder\n", encoding="utf-8")
    fill = {"blocked": str(blocked)}
    result = run(
        project,
        *(a.format(**fill) for a in args),
        env={k: v.format(**fill) for k, v in env.items()},
    )
    _assert_clean_failure(result, str(blocked), "cannot write")
    assert blocked.read_text(encoding="utf-8") == "not a folder\n"
    assert not [p for p in project.root.rglob(".*tmp*")]  # no temp file left behind
