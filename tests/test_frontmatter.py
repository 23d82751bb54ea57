"""The front matter writer: keys changed in place, everything else kept, no write that
could lose an edit or leave the entries folder."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from digest import atomic
from digest.frontmatter import (
    DELETE,
    ConflictError,
    FrontMatterError,
    entry_path,
    file_stamp,
    rewrite,
    update_entry,
)

YAML_ENTRY = """---
# Checked by the desk on Monday.
title: "Rutte: allies stay the course"   # the title as the agency wrote it
date: 2025-12-02
themes:
  - ukraine   # not hybrid
language: en
highlights:
  pin: ["5 % du PIB"]   # the figure of the week
---
Body line one: "keep me" exactly.

title: not front matter
"""

TOML_ENTRY = """+++
# TOML front matter, with a comment
title = "Sommet d'Ankara"  # trailing comment
date = 2025-12-05
themes = ["summit"]
+++
Corps du texte.
"""


def test_yaml_changes_keep_comments_order_quotes_and_body() -> None:
    new = rewrite(YAML_ENTRY, {"exclude": True, "summary": "Short: one line.", "order": 2})
    assert new.startswith("---\n# Checked by the desk on Monday.\n")
    assert 'title: "Rutte: allies stay the course"   # the title as the agency wrote it' in new
    assert "  - ukraine   # not hybrid\n" in new
    assert 'pin: ["5 % du PIB"]   # the figure of the week' in new
    assert new.endswith('---\nBody line one: "keep me" exactly.\n\ntitle: not front matter\n')
    added = [line for line in new.splitlines() if line not in YAML_ENTRY.splitlines()]
    assert added == ["exclude: true", "summary: 'Short: one line.'", "order: 2"]
    # Removing what was added gives back the very bytes of the file.
    assert rewrite(new, {"exclude": DELETE, "summary": DELETE, "order": DELETE}) == YAML_ENTRY


def test_yaml_list_and_mapping_changes_are_one_line_diffs() -> None:
    new = rewrite(YAML_ENTRY, {"themes": ["hybrid"], "title": "A new title"})
    old_lines, new_lines = YAML_ENTRY.splitlines(), new.splitlines()
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert changed == [
        ('title: "Rutte: allies stay the course"   # the title as the agency wrote it',
         'title: "A new title"                     # the title as the agency wrote it'),
        ("  - ukraine   # not hybrid", "  - hybrid    # not hybrid"),  # comment column kept
    ]  # fmt: skip
    dropped = rewrite(YAML_ENTRY, {"highlights": {"pin": ["5 % du PIB"], "drop": ["x"]}})
    assert 'pin: ["5 % du PIB"]   # the figure of the week' in dropped
    assert "  drop: [x]\n" in dropped


def test_toml_changes_keep_comments_and_body() -> None:
    new = rewrite(TOML_ENTRY, {"themes": ["hybrid"], "exclude": True})
    assert new.startswith("+++\n# TOML front matter, with a comment\n")
    assert 'title = "Sommet d\'Ankara"  # trailing comment\n' in new
    assert 'themes = ["hybrid"]\n' in new and "exclude = true\n" in new
    assert new.endswith("+++\nCorps du texte.\n")
    assert rewrite(new, {"exclude": DELETE, "themes": ["summit"]}) == TOML_ENTRY


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_update_refuses_a_file_changed_since_the_page_read_it(tmp_path: Path) -> None:
    path = write(tmp_path / "briefings", "a.md", YAML_ENTRY)
    seen = file_stamp(path)
    edited = YAML_ENTRY.replace("Body line one", "Edited in vim")
    path.write_text(edited, encoding="utf-8")
    with pytest.raises(ConflictError, match=r"a\.md changed on disk since the page was loaded"):
        update_entry(tmp_path / "briefings", "a.md", seen, {"exclude": True})
    assert path.read_text("utf-8") == edited
    # Same bytes, new time (a `touch`, a checkout): also refused, it may be another edit.
    os.utime(path, ns=(1, 1))
    with pytest.raises(ConflictError):
        update_entry(tmp_path / "briefings", "a.md", file_stamp(path) + "0", {"exclude": True})
    stamp = update_entry(tmp_path / "briefings", "a.md", file_stamp(path), {"exclude": True})
    assert "exclude: true" in path.read_text("utf-8") and stamp == file_stamp(path)


@pytest.mark.parametrize("name", ["../config.toml", "../outside.md", "sub/a.md", ".hidden.md",
                                  "a.txt", "", "link.md"])  # fmt: skip
def test_no_write_outside_the_entries_folder(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "briefings"
    write(folder, "a.md", YAML_ENTRY)
    outside = write(tmp_path, "outside.md", YAML_ENTRY)
    (folder / "link.md").symlink_to(outside)
    with pytest.raises(FrontMatterError):
        entry_path(folder, name)
    with pytest.raises(FrontMatterError):
        update_entry(folder, name, file_stamp(outside), {"exclude": True})
    assert outside.read_text("utf-8") == YAML_ENTRY


def test_a_failed_write_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "briefings"
    path = write(folder, "a.md", YAML_ENTRY)

    def refuse(_path: Path, text: str) -> None:
        assert "exclude: true" in text
        raise FrontMatterError("a.md: refused by the validator")

    with pytest.raises(FrontMatterError, match="refused"):
        update_entry(folder, "a.md", file_stamp(path), {"exclude": True}, refuse)
    assert path.read_text("utf-8") == YAML_ENTRY

    # A full disk at the moment of the rename (the tests run as root, so a read-only
    # folder would not stop the write: the failure is injected at the OS call).
    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", full)
    with pytest.raises(FrontMatterError, match="cannot write: No space left on device"):
        update_entry(folder, "a.md", file_stamp(path), {"exclude": True})
    assert path.read_text("utf-8") == YAML_ENTRY
    assert [p.name for p in folder.iterdir()] == ["a.md"]


def test_broken_front_matter_is_refused_not_rewritten(tmp_path: Path) -> None:
    path = write(tmp_path / "b", "a.md", "---\ntitle: [unclosed\n---\nbody\n")
    with pytest.raises(FrontMatterError, match=r"a\.md: front matter"):
        update_entry(tmp_path / "b", "a.md", file_stamp(path), {"exclude": True})
    assert path.read_text("utf-8") == "---\ntitle: [unclosed\n---\nbody\n"


def test_the_file_mode_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "b", "a.md", YAML_ENTRY)
    path.chmod(0o644)
    update_entry(tmp_path / "b", "a.md", file_stamp(path), {"order": 1})
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    "header",
    [
        "title: T\nthemes:\n- ukraine\n- hybrid\n",
        "title: T\nthemes:\n  - ukraine\nhighlights:\n  pin:\n    - x\n",
        "title: T\nhighlights:\n    pin: [x]\nthemes:\n    - ukraine\n",
        "title: T\nthemes: [ukraine]\n",
    ],
)
def test_the_files_own_indentation_is_kept(header: str) -> None:
    text = f"---\n{header}---\nbody\n"
    assert rewrite(text, {"exclude": True}) == f"---\n{header}exclude: true\n---\nbody\n"


def test_a_toml_table_stays_a_table() -> None:
    text = '+++\ntitle = "T"\n\n[highlights]\npin = ["x"]  # keep\n+++\nbody\n'
    new = rewrite(text, {"highlights": {"pin": ["x"], "drop": ["y"]}})
    assert new == '+++\ntitle = "T"\n\n[highlights]\npin = ["x"]  # keep\ndrop = ["y"]\n+++\nbody\n'
