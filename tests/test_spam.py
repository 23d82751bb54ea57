"""SpamAssassin (Debian's, local rules only) finds nothing to score in the design itself.

The message is built exactly as a send builds it. Rules about how it travelled (no
Received header yet) are informational; any rule that adds points is the design's
fault (MJML's white preheader scored HTML_FONT_LOW_CONTRAST, +0.7, on every issue).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from digest import pipeline
from digest.models import Subscriber
from tests.conftest import Project

DAY = dt.date(2025, 12, 3)
NOW = dt.datetime(2025, 12, 8, 6, 0, tzinfo=dt.UTC)
RULE = re.compile(r"^\s*(-?\d+\.\d+)\s+([A-Z][A-Z0-9_]+)\s", re.M)
SCORE = re.compile(r"Content analysis details:\s+\((-?\d+\.\d+) points")


def spamassassin(message: bytes, home: Path) -> tuple[float, dict[str, float]]:
    """Total score and {rule: points} of `spamassassin -L -t` (no network tests)."""
    binary = shutil.which("spamassassin")
    if binary is None:
        message_ = "spamassassin not found (apt-get install spamassassin)"
        if os.environ.get("DIGEST_REQUIRE_SPAMASSASSIN") == "1":
            pytest.fail(message_)
        pytest.skip(message_)
    home.mkdir(exist_ok=True)
    report = subprocess.run(
        [binary, "-L", "-t", "-p", str(home / "user_prefs")],
        input=message,
        capture_output=True,
        check=True,
        timeout=120,
        env={**os.environ, "HOME": str(home)},
    ).stdout.decode("utf-8", "replace")
    details = report[report.index("Content analysis details") :]
    total = SCORE.search(details)
    assert total is not None, details
    return float(total.group(1)), {rule: float(points) for points, rule in RULE.findall(details)}


@pytest.mark.parametrize(
    "reader",
    [
        Subscriber(
            id=7, email="camille@example.org", name="Camille", language="fr", themes=frozenset()
        ),
        Subscriber(
            id=8, email="sam@example.net", name="", language="en", themes=frozenset({"hybrid"})
        ),
    ],
    ids=["fr:all", "en:hybrid"],
)
def test_spamassassin_scores_nothing_from_the_design(
    project: Project, tmp_path: Path, reader: Subscriber
) -> None:
    settings = project.settings(DIGEST_NEWSLETTER_BASE_URL="https://brief.example.org")
    issue = pipeline.assemble(settings, pipeline.read_entries(settings, DAY), DAY)
    edition = pipeline.Edition(settings, issue, pipeline.make_signer(settings), NOW)
    message = edition.message_for(reader)
    total, rules = spamassassin(message.data, tmp_path / "sa")
    assert "HTML_FONT_LOW_CONTRAST" not in rules
    scoring = {rule: points for rule, points in rules.items() if points > 0}
    assert scoring == {}, f"rules from the design: {scoring}"
    assert total < 0.5
