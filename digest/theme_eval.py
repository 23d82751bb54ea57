"""Measure the theme classifier against a labelled set: accuracy, per-theme precision
and recall, on the whole set and per split.

A labelled set is JSON Lines, one item a line: `title`, `lead` (the first sentence or
two of the text), `language`, `expected` (a theme id, or "brief"/"none" for an item
that belongs to no theme) and optionally `id` and `split` ("tune" for the part the
keywords were tuned on, "holdout" for the part kept out of sight). Reading is strict:
a bad line is one `SourceError` naming the file, line and field.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from digest.errors import SourceError
from digest.models import BRIEF_THEME_ID, Entry, Theme
from digest.themes import classify

_NONE_LABELS = {"none", BRIEF_THEME_ID}


@dataclass(frozen=True)
class LabelledItem:
    id: str
    title: str
    lead: str
    language: str
    expected: str
    split: str = ""
    line: int = 0


@dataclass(frozen=True)
class ThemeStats:
    theme_id: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0

    @property
    def support(self) -> int:
        return self.true_positives + self.false_negatives


@dataclass(frozen=True)
class Miss:
    item: LabelledItem
    got: str


@dataclass(frozen=True)
class Evaluation:
    name: str
    """What was measured: "all", a split name, or a language."""
    total: int
    correct: int
    themes: tuple[ThemeStats, ...]
    misses: tuple[Miss, ...] = field(default=())

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def read_labelled(path: Path, theme_ids: Iterable[str]) -> list[LabelledItem]:
    """The items of a JSON Lines file; raise SourceError naming the line and field."""
    known = {*theme_ids, *_NONE_LABELS}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SourceError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read: {exc}") from None
    items: list[LabelledItem] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{where}: not JSON: {exc.msg}") from None
        if not isinstance(raw, dict):
            raise SourceError(f"{where}: expected an object")
        for key in ("title", "expected", "language"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise SourceError(f"{where}: field {key!r} must be a non-empty string")
        for key in ("lead", "id", "split"):
            if not isinstance(raw.get(key, ""), str):
                raise SourceError(f"{where}: field {key!r} must be a string")
        expected = raw["expected"].strip()
        if expected not in known:
            raise SourceError(
                f"{where}: field 'expected' is {expected!r}, not a theme id of the config "
                f"nor 'none'"
            )
        items.append(
            LabelledItem(
                id=raw.get("id") or f"line-{number}",
                title=raw["title"],
                lead=raw.get("lead", ""),
                language=raw["language"],
                expected=BRIEF_THEME_ID if expected in _NONE_LABELS else expected,
                split=raw.get("split", ""),
                line=number,
            )
        )
    if not items:
        raise SourceError(f"{path}: no labelled items")
    return items


def predict(item: LabelledItem, themes: Sequence[Theme]) -> str:
    probe = Entry(
        id=item.id, title=item.title, date=dt.date(2000, 1, 1), language=item.language,
        source_url="", source_name="", body_html="", text=item.lead,
    )  # fmt: skip
    return classify(probe, themes).theme_id


def evaluate(name: str, items: Sequence[LabelledItem], themes: Sequence[Theme]) -> Evaluation:
    """Accuracy over `items`, and precision/recall of each theme and of "brief"."""
    got = [(item, predict(item, themes)) for item in items]
    ids = [t.id for t in themes] + [BRIEF_THEME_ID]
    stats = tuple(
        ThemeStats(
            theme_id,
            sum(1 for item, g in got if g == theme_id and item.expected == theme_id),
            sum(1 for item, g in got if g == theme_id and item.expected != theme_id),
            sum(1 for item, g in got if g != theme_id and item.expected == theme_id),
        )
        for theme_id in ids
    )
    misses = tuple(Miss(item, g) for item, g in got if g != item.expected)
    return Evaluation(name, len(items), len(items) - len(misses), stats, misses)


def evaluations(items: Sequence[LabelledItem], themes: Sequence[Theme]) -> list[Evaluation]:
    """The whole set, then each split, then each language."""
    found = [evaluate("all", items, themes)]
    for split in sorted({i.split for i in items if i.split}):
        found.append(evaluate(split, [i for i in items if i.split == split], themes))
    for language in sorted({i.language for i in items}):
        found.append(evaluate(language, [i for i in items if i.language == language], themes))
    return found


def as_dict(evaluation: Evaluation) -> dict[str, object]:
    """One evaluation as JSON data: what `digest themes evaluate --json` prints and what
    `make bench` saves, so both read the same fields."""
    return {
        "name": evaluation.name,
        "total": evaluation.total,
        "correct": evaluation.correct,
        "accuracy": evaluation.accuracy,
        "themes": [
            {
                "theme": s.theme_id,
                "precision": s.precision,
                "recall": s.recall,
                "items": s.support,
            }
            for s in evaluation.themes
        ],
        "misses": [
            {
                "id": m.item.id,
                "split": m.item.split,
                "language": m.item.language,
                "expected": m.item.expected,
                "got": m.got,
                "title": m.item.title,
            }
            for m in evaluation.misses
        ],
    }
