"""Snapshots of the sample issue (briefings/, week of 1 December 2025) for review.

A change to the templates shows up here as a diff a reviewer can read. Per-reader values
are filled with fixed strings, so the random slot nonce never reaches a snapshot; the
MIME boundary and link tokens are not part of the HTML or text. To accept a change:

    DIGEST_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_snapshots.py
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from pathlib import Path

import pytest

from digest import pipeline
from digest.models import Variant
from tests.conftest import REPO, Project

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("DIGEST_UPDATE_SNAPSHOTS") == "1"
NOW = dt.datetime(2025, 12, 8, 6, 0, tzinfo=dt.UTC)
VALUES = {
    "name": "Ana <Exemple>",
    "unsubscribe_url": "https://example.org/unsubscribe/TOKEN",
    "preferences_url": "https://example.org/preferences/TOKEN",
}


def check(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"{path} missing: run with DIGEST_UPDATE_SNAPSHOTS=1 to create it")
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            list(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    actual.splitlines(keepends=True),
                    str(path),
                    "rendered",
                )
            )[:60]
        )
        pytest.fail(f"{name} differs (DIGEST_UPDATE_SNAPSHOTS=1 accepts it):\n{diff}")


def pretty(html: str) -> str:
    """One tag boundary per line, so a snapshot diff points at the change."""
    return html.replace("><", ">\n<") + "\n"


@pytest.mark.parametrize("label", ["fr:all", "en:hybrid|ukraine"])
def test_sample_issue_snapshot(project: Project, label: str) -> None:
    settings = project.settings(DIGEST_ENTRIES_DIR=str(REPO / "briefings"))
    issue = pipeline.assemble(settings, pipeline.read_entries(settings), dt.date(2025, 12, 3))
    edition = pipeline.Edition(settings, issue, pipeline.make_signer(settings), NOW)
    language, _, themes = label.partition(":")
    variant = Variant(language, frozenset(t for t in themes.split("|") if t != "all"))
    compiled = edition.compiled(variant)
    stem = f"sample-{language}-{themes.replace('|', '+')}"
    check(f"{stem}.html", pretty(compiled.html.fill(VALUES)))
    check(f"{stem}.txt", f"Subject: {compiled.subject}\nPreheader: {compiled.preheader}\n\n"
          + compiled.text.fill(VALUES))  # fmt: skip
