"""The benchmark report writer and the chaos runner, at miniature sizes: proof that
`make bench` and `make chaos` work end to end (real sink process, real aiosmtpd,
real `digest send` subprocesses killed with SIGKILL). No timing is asserted."""

from __future__ import annotations

import collections
import json
from pathlib import Path

from bench import chaos, report

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_writer_measures_and_writes_page_with_plots(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    (tmp_path / "performance").mkdir()
    (tmp_path / "performance" / "chaos.txt").write_text("chaos: pasted run\nmissing: 0\n")

    report.main(["--tiny", "--out", str(page)])

    text = page.read_text(encoding="utf-8")
    for heading in ("## Headlines", "## Issue build time against entries",
                    "## Per-subscriber message cost", "## Send throughput against a local sink",
                    "## Peak memory against list size", "## Theme classifier on the labelled set",
                    "## Crash and fault run", "## HTML size of a full week"):  # fmt: skip
        assert heading in text
    assert "chaos: pasted run" in text  # make chaos's output lands on the page
    assert "Python 3." in text and "mjml-python" in text  # machine and versions printed
    for name in ("build_time.png", "message_cost.png", "send_throughput.png", "memory.png"):
        assert (tmp_path / "performance" / name).read_bytes().startswith(PNG)
        assert f"(performance/{name})" in text
    results = json.loads((tmp_path / "performance" / "results.json").read_text())
    assert [b["entries"] for b in results["build"]] == list(report.TINY.entries)
    assert {(s["connections"], s["delay_ms"]) for s in results["send"]} == {
        (1, 0.0), (2, 0.0), (1, 20.0), (2, 20.0)
    }  # fmt: skip
    assert all(s["messages"] > 0 and s["ours_per_s"] > 0 for s in results["send"])
    assert [m["sent"] for m in results["memory"]] == list(report.TINY.list_sizes)
    assert "| 5 |" in text and "| 10 |" in text  # one table row per entry count
    assert [r["language"] for r in results["html_size"]] == ["fr", "en"]
    assert "| fr | 5 |" in text and "KB per entry" in text
    assert results["themes"]["evaluations"][0]["name"] == "all"  # the labelled set, measured
    assert "| holdout |" in text and "| spending |" in text

    # --render-only rewrites the page from the saved numbers, e.g. after `make chaos`
    (tmp_path / "performance" / "chaos.txt").write_text("chaos: a newer run\n")
    report.main(["--render-only", "--out", str(page)])
    assert "chaos: a newer run" in page.read_text(encoding="utf-8")


def test_chaos_runner_kills_and_resumes_and_loses_nobody() -> None:
    outcome = chaos.run(subscribers=30, kills=2, connections=1, seed=3)
    text = "\n".join(outcome.lines)
    assert outcome.ok, text
    assert "2 killed with SIGKILL" in text
    assert "missing: 0" in text


def test_chaos_report_flags_a_missing_address_and_extra_duplicates() -> None:
    handler = chaos.FaultyHandler(seed=1)
    emails = [f"r{i}@example.org" for i in range(200)]
    doomed = [e for e in emails if handler.permanent(e)]
    deliverable = [e for e in emails if e not in doomed]
    handler.accepted = collections.Counter({e: 1 for e in deliverable})
    counts = {"sent": len(deliverable), "failed": len(doomed)}

    def outcome() -> chaos.Outcome:
        return chaos.report(handler, emails, counts, 1, [0], 1, 1, 1, 0.0)

    assert outcome().ok
    handler.accepted[deliverable[0]] = 3  # two duplicates after one kill: over the bound
    assert not outcome().ok
    handler.accepted[deliverable[0]] = 0  # never received: missing
    assert not outcome().ok
    assert "missing: 1" in "\n".join(outcome().lines)
