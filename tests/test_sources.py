from __future__ import annotations

import datetime as dt

import pytest

from digest.entries import collect_entries
from digest.errors import SourceError
from digest.pipeline import read_entries
from tests.conftest import Project


def test_entries_are_read_with_their_front_matter(project: Project) -> None:
    entries = {e.id: e for e in read_entries(project.settings())}
    budgets = entries["2025-12-01-budgets"]
    assert budgets.title == "Les Alliés relèvent leurs budgets de défense"
    assert budgets.date == dt.date(2025, 12, 1)
    assert budgets.language == "fr"
    assert budgets.source_name == "Example News"
    assert "5 % du PIB" in budgets.text
    assert entries["2025-12-02-kyiv-aid"].source_name == "example.org"
    assert entries["2025-12-05-summit"].themes == ("summit",)


def test_toml_front_matter_is_accepted(project: Project) -> None:
    project.write_entry(
        "toml.md",
        '+++\ntitle = "Entrée en TOML"\ndate = 2025-12-02\nsource = "https://example.org/t"\n'
        "+++\nCorps.\n",
    )
    entries = {e.id: e for e in read_entries(project.settings())}
    assert entries["toml"].title == "Entrée en TOML"


def test_a_date_with_a_time_and_offset_counts_in_the_newsletters_zone(project: Project) -> None:
    """Sunday 23:30 UTC is Monday in Paris: the entry belongs to next week's issue, as a
    feed item at that instant does. A date alone, or a local time, stays as written."""
    cases = {
        "utc-yaml": "---\ntitle: Late\ndate: 2025-12-14T23:30:00Z\n---\nText.\n",
        "offset-yaml": "---\ntitle: Local\ndate: '2025-12-14T23:30:00+01:00'\n---\nText.\n",
        "plain-yaml": "---\ntitle: Plain\ndate: 2025-12-14\n---\nText.\n",
        "naive-yaml": "---\ntitle: Naive\ndate: 2025-12-14T23:30:00\n---\nText.\n",
        "utc-toml": '+++\ntitle = "Late"\ndate = 2025-12-14T23:30:00Z\n+++\nText.\n',
    }
    for name, text in cases.items():
        project.write_entry(f"{name}.md", text)
    entries = {e.id: e.date for e in read_entries(project.settings())}
    assert entries["utc-yaml"] == entries["utc-toml"] == dt.date(2025, 12, 15)
    assert (
        entries["offset-yaml"]
        == entries["plain-yaml"]
        == entries["naive-yaml"]
        == dt.date(2025, 12, 14)
    )


def test_markdown_body_is_sanitized(project: Project) -> None:
    project.write_entry(
        "hostile.md",
        "---\ntitle: T\ndate: 2025-12-02\n---\n"
        '<script>alert(1)</script> [click](javascript:alert(1)) <img src=x onerror="x()">\n',
    )
    entry = {e.id: e for e in read_entries(project.settings())}["hostile"]
    assert "<script" not in entry.body_html and "<img" not in entry.body_html
    assert "href" not in entry.body_html  # the javascript: link is not made a link
    assert "&lt;script&gt;" in entry.body_html  # shown as text, harmless


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\ndate: 2025-12-02\n---\nbody\n", r"bad\.md:1: title: missing"),
        ("---\ntitle: ''\ndate: 2025-12-02\n---\nbody\n", r"bad\.md:2: title: missing or empty"),
        ("---\ntitle: 123\ndate: 2025-12-02\n---\n", r"bad\.md:2: title: must be text, got 123 "),
        (
            "---\ntitle: [1,2]\ndate: 2025-12-02\n---\n",
            r"bad\.md:2: title: must be text, got \[1, 2\]",
        ),
        (
            "+++\ntitle = 2025\ndate = 2025-12-02\n+++\n",
            r"bad\.md:2: title: must be text, got 2025 ",
        ),
        ("---\ntitle: T\ndate: 2 décembre\n---\n", r"bad\.md:3: date: missing or unreadable"),
        ("---\ntitle: T\n---\nbody\n", r"bad\.md:1: date: missing \(use YYYY-MM-DD\)$"),
        ("---\ntitle: T\ndate: 2025-02-30\n---\n", r"bad\.md:3: date: .*'2025-02-30'"),
        ('+++\ntitle = "T"\ndate = 2025-02-30\n+++\n', r"bad\.md:3: front matter: Invalid date"),
        ("---\ntitle: T\ndate: 2025-12-02\nthemes: [mars]\n---\n", r"bad\.md:4: themes: unknown"),
        ("---\ntitle: [unclosed\ndate: 2025-12-02\n---\n", r"bad\.md:\d+: front matter"),
        ("no front matter\n", r"bad\.md:1: missing front matter"),
        ("---\ntitle: T\n", r"bad\.md:1: front matter is not closed"),
        ("---\ntitle: T\ndate: 2025-12-02\nsource: ftp://x\n---\n", r"bad\.md:4: source:"),
        ("---\ntitle: T\ndate: 2025-12-02\ncolour: red\n---\n", r"bad\.md:4: colour: unknown"),
    ],
)
def test_bad_entries_name_file_and_line(project: Project, text: str, message: str) -> None:
    project.write_entry("bad.md", text)
    with pytest.raises(SourceError, match=message):
        read_entries(project.settings())


def test_non_utf8_and_binary_files_are_refused(project: Project) -> None:
    (project.root / "briefings" / "latin1.md").write_bytes(
        "---\ntitle: Défense\n---\n".encode("latin-1")
    )
    with pytest.raises(SourceError, match=r"latin1\.md:2: not valid UTF-8"):
        read_entries(project.settings())
    (project.root / "briefings" / "latin1.md").write_bytes(b"\x00\x01binary")
    with pytest.raises(SourceError, match="binary file"):
        read_entries(project.settings())


def test_every_bad_file_is_reported_and_the_good_ones_are_still_read(project: Project) -> None:
    project.write_entry("bad-date.md", "---\ntitle: T\ndate: demain\n---\nx\n")
    (project.root / "briefings" / "bin.md").write_bytes(b"\x00\x01binary")
    big = project.root / "briefings" / "big.md"
    big.write_bytes(b"---\ntitle: T\ndate: 2025-12-02\n---\n" + b"a" * (5 * 1024 * 1024))
    collected = collect_entries(project.settings())
    assert len(collected.entries) == 7  # every fixture entry still read
    assert sorted(str(p).rsplit("/", 1)[-1] for p in collected.errors) == [
        "bad-date.md:3: date: missing or unreadable 'demain' (use YYYY-MM-DD)",
        "big.md: file is larger than 5 MB",
        "bin.md: binary file, not a Markdown entry",
    ]
    with pytest.raises(SourceError) as caught:  # building stops: the editor must act
        read_entries(project.settings())
    assert len(str(caught.value).splitlines()) == 3


def test_highlights_front_matter_is_validated(project: Project) -> None:
    project.write_entry(
        "pins.md",
        "---\ntitle: T\ndate: 2025-12-02\nhighlights:\n  pin: ['5 %']\n  drop: 3\n---\nx\n",
    )
    with pytest.raises(SourceError, match=r"pins\.md:4: highlights: drop must be a list"):
        read_entries(project.settings())


WRONG_TYPES = [
    ("source_name: 42", "source_name: must be text, got 42"),
    ("language: [fr]", "language: ['fr'] is not a language code such as en, fr"),
    ('source: "http://[::1"', "source: 'http://[::1' is not an http(s) URL"),
    ("suggested_theme: [a, b]", "suggested_theme: must be a theme id"),
]


@pytest.mark.parametrize(("line", "message"), WRONG_TYPES)
def test_front_matter_of_the_wrong_type_is_a_problem_for_that_file(
    project: Project, line: str, message: str
) -> None:
    """Issue 12, item 3: these gave tracebacks in build, check, entries list and send."""
    project.write_entry("typed.md", f"---\ntitle: T\ndate: 2025-12-02\n{line}\n---\nx\n")
    collected = collect_entries(project.settings())
    assert len(collected.entries) == 7  # every other file still read
    found = [f"{p.path.rsplit('/', 1)[-1]}:{p.line}: {p.message}" for p in collected.errors]
    assert found == [f"typed.md:4: {message}"]


def test_wrong_types_give_one_error_line_in_every_command(project: Project) -> None:
    from click.testing import CliRunner

    from digest.cli import cli

    for number, (line, _) in enumerate(WRONG_TYPES):
        project.write_entry(f"typed-{number}.md", f"---\ntitle: T\ndate: 2025-12-02\n{line}\n---\n")
    config = ["--config", str(project.config)]
    for args in (["build", "--date", "2025-12-02", "--out", str(project.root / "o")],
                 ["check", "--date", "2025-12-02"], ["entries", "list"],
                 ["send", "--date", "2025-12-02", "--dry-run"]):  # fmt: skip
        result = CliRunner().invoke(cli, [*config, *args])
        assert not isinstance(result.exception, (TypeError, ValueError, AttributeError)), args
        assert "Traceback" not in result.output
        assert "typed-0.md:4: source_name: must be text" in result.output, (args, result.output)


def test_an_entry_in_a_third_language_keeps_its_own_code(project: Project) -> None:
    project.write_entry("de.md", "---\ntitle: Drohnen\ndate: 2025-12-02\nlanguage: de\n---\nx\n")
    entries = {e.id: e for e in read_entries(project.settings())}
    assert entries["de"].language == "de"


def test_archive_page_does_not_fail_on_a_file_of_the_wrong_type(project: Project) -> None:
    """Issue 12, item 3: /archive/<week> answered 500 for `source_name: 42`."""
    from click.testing import CliRunner

    from digest.cli import cli
    from digest.web.app import create_app
    from digest.web.server import running
    from tests.webclient import Browser

    config = ["--config", str(project.config)]
    sample = str(project.root / "subscribers" / "sample.csv")
    assert CliRunner().invoke(cli, [*config, "subscribers", "import", sample]).exit_code == 0
    assert CliRunner().invoke(cli, [*config, "send", "--date", "2025-12-03"]).exit_code == 0
    project.write_entry("typed.md", "---\ntitle: T\ndate: 2025-12-02\nsource_name: 42\n---\nx\n")
    with running(create_app(project.settings())) as base:
        page = Browser(base).get("/archive/2025-W49")
    assert page.status != 500 and page.status in (200, 404)
