"""The benchmark report writer and the chaos runner, at miniature sizes: proof that
`make bench` and `make chaos` work end to end (real sink process, real aiosmtpd,
real `digest send` subprocesses killed with SIGKILL). No timing is asserted."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import chaos, relay, report

PNG = b"\x89PNG\r\n\x1a\n"


def test_report_writer_measures_and_writes_page_with_plots(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    (tmp_path / "performance").mkdir()
    (tmp_path / "performance" / "chaos.txt").write_text("chaos: pasted run\nmissing: 0\n")

    cpus = os.sched_getaffinity(0)
    report.main(["--tiny", "--out", str(page)])

    text = page.read_text(encoding="utf-8")
    for heading in ("## Headlines", "## Issue build time against entries",
                    "## Per-subscriber message cost", "## Send throughput against a local sink",
                    "## Peak memory against list size", "## Theme classifier on the labelled set",
                    "## Several senders, one outbox",
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
    several = results["senders"]  # None only without PostgreSQL (CI requires it)
    if several is not None:
        assert [r["senders"] for r in several["runs"]] == [1, 1, 2]
        assert all(r["messages"] == report.TINY.senders_readers for r in several["runs"])
        assert "two senders / one sender on PostgreSQL" in text
    assert "| 5 |" in text and "| 10 |" in text  # one table row per entry count
    assert [r["language"] for r in results["html_size"]] == ["fr", "en"]
    assert "| fr | 5 |" in text and "KB per entry" in text
    assert "## Through a real relay (Postfix, STARTTLS + AUTH)" in text
    if "skipped" in results["relay"]:  # not root, or no Postfix: the page says why
        assert f"Skipped in this run: {results['relay']['skipped']}" in text
    else:
        kinds = relay.layouts(os.sched_getaffinity(0))
        cells = {(r["layout"], r["dkim"], r["connections"]) for r in results["relay"]["rows"]}
        assert cells == {(k, d, c) for k in kinds for d in (False, True) for c in (1, 4)}
        assert all(r["ours_per_s"] > 0 and r["bare_per_s"] > 0 for r in results["relay"]["rows"])
        ceiling = [(c["layout"], c["connections"]) for c in results["relay"]["ceiling"]]
        assert ceiling == [(k, c) for k in kinds for c in (1, 4)]
        assert text.count("| digest DKIM on / DKIM off |") == len(kinds)
        assert os.sched_getaffinity(0) == cpus  # the sender's cores given back
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


def test_relay_section_is_skipped_with_the_reason_when_postfix_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = tmp_path / "postfix-lab.sh"
    failing.write_text(
        '[ "$1" = down ] && exit 0; echo "postfix-lab: no postfix here" >&2; exit 1\n'
    )
    monkeypatch.setattr(relay, "SCRIPT", failing)
    monkeypatch.setattr(relay.os, "geteuid", lambda: 0)
    result = relay.measure(5, 1, log=lambda _line: None, port=0)
    assert result == {"skipped": "Postfix could not be set up: postfix-lab: no postfix here"}
    assert report.relay_section(result)[-2] == f"Skipped in this run: {result['skipped']}."


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning needs two cores")
def test_pinned_layout_puts_the_relay_tree_on_one_core_and_the_sender_on_the_rest(
    tmp_path: Path,
) -> None:
    # A stand-in for Postfix's master and the process it forks: real processes, found
    # through master.pid and /proc as the lab's are.
    master = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time; "
         "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"],
    )  # fmt: skip
    try:
        (tmp_path / "queue" / "pid").mkdir(parents=True)
        (tmp_path / "queue" / "pid" / "master.pid").write_text(f"{master.pid:>10}\n")
        lab = {"LAB_DIR": str(tmp_path)}
        deadline = time.monotonic() + 10
        while len(relay._postfix_pids(lab)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # until the child is forked
        tree = relay._postfix_pids(lab)
        assert tree[0] == master.pid and len(tree) == 2
        cpus = os.sched_getaffinity(0)
        with relay.pinned(lab, "own", cpus):
            assert all(os.sched_getaffinity(pid) == {max(cpus)} for pid in tree)
            assert os.sched_getaffinity(0) == cpus - {max(cpus)}
        assert os.sched_getaffinity(0) == cpus
        with relay.pinned(lab, "shared", cpus):
            assert all(os.sched_getaffinity(pid) == cpus for pid in tree)
    finally:
        for pid in relay._postfix_pids({"LAB_DIR": str(tmp_path)})[1:]:
            os.kill(pid, 9)
        master.kill()
        master.wait()


def test_readme_headlines_come_from_the_results(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{report.README_START}\n- typed by hand\n{report.README_END}\nend\n")
    results = json.loads((report.PAGE.parent / "performance" / "results.json").read_text())
    assert report.rewrite_readme(readme, results)
    text = readme.read_text()
    assert "typed by hand" not in text and text.endswith(f"{report.README_END}\nend\n")
    for line in report.headlines(results):
        assert f"- {line}\n" in text
    (tmp_path / "other.md").write_text("no markers\n")
    assert not report.rewrite_readme(tmp_path / "other.md", results)
