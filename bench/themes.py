"""The theme classifier against the labelled set: `python -m bench themes`.

Accuracy and per-theme precision and recall, on the whole set and on each split:
`tune` (the part the keyword lists were tuned on), `holdout` (kept out of the tuning)
and `fresh` (written after the lists were frozen, never tuned on). The same numbers as
`digest themes evaluate bench/data/themes.jsonl`; this module puts them on
docs/performance.md. Also the time to classify one entry, for scale.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from digest.config import load_settings
from digest.theme_eval import as_dict, evaluations, predict, read_labelled

REPO = Path(__file__).resolve().parent.parent
LABELLED = REPO / "bench" / "data" / "themes.jsonl"


def measure(labelled: Path = LABELLED, repeat: int = 3) -> dict[str, Any]:
    """Evaluations of the repository's config.toml on the labelled set, and µs/entry."""
    settings = load_settings(REPO / "config.toml", {})
    items = read_labelled(labelled, [t.id for t in settings.themes])
    found = evaluations(items, settings.themes)
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for item in items:
            predict(item, settings.themes)
        runs.append((time.perf_counter() - started) / len(items))
    return {
        "file": str(labelled.relative_to(REPO)) if labelled.is_relative_to(REPO) else str(labelled),
        "items": len(items),
        "evaluations": [as_dict(e) for e in found],
        "us_per_entry": min(runs) * 1e6,
    }


def section(results: dict[str, Any]) -> list[str]:
    """Markdown lines for docs/performance.md."""
    evaluations_ = results["evaluations"]
    out = [
        "## Theme classifier on the labelled set",
        "",
        f"`digest themes evaluate {results['file']}`: {results['items']} headlines with their",
        "leads, French and English, written in our own words after real wire copy; about a",
        "third belong to no theme but share a keyword with one (an airline avoiding an",
        "airspace, astronauts spending Christmas, a mayoral race in Ankara, a company hack,",
        "football, markets, weather). Splits: *tune* (the keyword lists were tuned on it),",
        "*holdout* (kept out of the tuning) and *fresh* (written after the lists were frozen;",
        'the most honest estimate). Precision and recall per theme; `brief` is "no theme".',
        f"Classifying one entry takes {results['us_per_entry']:.0f} µs.",
        "",
        "| part | items | right | accuracy |",
        "|---|---:|---:|---:|",
        *[
            f"| {e['name']} | {e['total']} | {e['correct']} | {e['accuracy'] * 100:.1f} % |"
            for e in evaluations_
        ],
        "",
        "| theme | precision (all) | recall (all) | items |",
        "|---|---:|---:|---:|",
        *[
            f"| {t['theme']} | {t['precision']:.2f} | {t['recall']:.2f} | {t['items']} |"
            for t in evaluations_[0]["themes"]
        ],
    ]
    misses = evaluations_[0]["misses"]
    if misses:
        out += ["", "Misses (expected → got):", ""]
        out += [
            f"- {m['id']} ({m['language']}, {m['split']}) {m['expected']} → {m['got']}: "
            f"{m['title']}"
            for m in misses
        ]
    return out


def main(args: list[str]) -> None:
    labelled = Path(args[0]) if args else LABELLED
    print("\n".join(section(measure(labelled))))
