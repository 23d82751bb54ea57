"""The editor's desk: the week's candidate entries, and the actions that change them.

The Markdown files stay the source of truth. Each action becomes a few front matter
keys (`exclude`, `themes`, `order`, `title`, `summary`, `highlights`) written by
`digest.frontmatter`, which keeps the rest of the file as it was and refuses to write
over a file that changed since the page read it. `digest build` and `send` read the
same keys, so the desk never holds state of its own.

This module is pure apart from reading and writing entry files: the page (preview.py)
turns its values into HTML.
"""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from digest import pipeline
from digest.assemble import assemble_issue, week_window
from digest.checks import run_checks
from digest.config import Settings
from digest.entries import Collected, gather_entries
from digest.errors import DigestError
from digest.frontmatter import DELETE, ConflictError, FrontMatterError, file_stamp, update_entry
from digest.highlights import find_figures, find_quotes
from digest.models import BRIEF_THEME_ID, Classified, Entry, Issue, Theme
from digest.sources.markdown import parse_entry
from digest.sources.problems import EntryError, Problem
from digest.themes import classify

ACTIONS = (
    "exclude", "include", "theme", "up", "down", "title", "summary",
    "pin", "unpin", "drop", "undrop",
)  # fmt: skip


@dataclass(frozen=True)
class Highlight:
    text: str
    kind: str
    """'figure' or 'quote'."""
    pinned: bool
    dropped: bool


@dataclass(frozen=True)
class Candidate:
    """One row of the desk: an entry of the week (or a file that cannot be read)."""

    name: str
    """File name in the entries folder, or the feed item's id."""
    entry: Entry | None
    stamp: str
    editable: bool
    theme_id: str = BRIEF_THEME_ID
    evidence: str = ""
    problems: tuple[Problem, ...] = ()
    error: Problem | None = None
    highlights: tuple[Highlight, ...] = ()


@dataclass(frozen=True)
class Desk:
    """What the desk shows: the issue as it stands and every candidate behind it."""

    issue: Issue
    sections: tuple[tuple[str, tuple[Candidate, ...]], ...]
    """(theme id, candidates in issue order) for each section of the issue."""
    excluded: tuple[Candidate, ...]
    broken: tuple[Candidate, ...]
    problems: tuple[Problem, ...]
    stamps: Mapping[str, str] = field(default_factory=dict)


def relative(path: str, root: Path) -> str:
    """A problem's path as the editor knows it: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except (ValueError, OSError):
        return path


def _editable(entry: Entry, folder: Path) -> bool:
    return entry.path is not None and entry.path.resolve().parent == folder.resolve()


class _Classifier:
    """`classify` once per entry and request: the issue and the evidence share it."""

    def __init__(self) -> None:
        self.found: dict[str, Classified] = {}

    def __call__(self, entry: Entry, themes: Sequence[Theme]) -> Classified:
        key = f"{entry.id}\0{entry.path}"
        if key not in self.found or self.found[key].entry != entry:
            self.found[key] = classify(entry, themes)
        return self.found[key]


def _evidence(entry: Entry, settings: Settings, classifier: _Classifier) -> tuple[str, str]:
    """(theme id, why): the editor's `themes` key wins, else the keyword counts."""
    found = classifier(entry, settings.themes)
    if entry.themes:
        return found.theme_id, "set by the editor (themes in front matter)"
    counts = sorted(((n, t) for t, n in found.scores.items() if n), reverse=True)
    if not counts:
        return found.theme_id, "no theme keyword found"
    return found.theme_id, "keywords: " + ", ".join(f"{t} {n}" for n, t in counts[:3])


def _matches(text: str, wanted: str) -> bool:
    a, b = " ".join(text.casefold().split()), " ".join(wanted.casefold().strip('«»“”" ').split())
    return bool(b) and (b in a or a in b)


def _highlights(entry: Entry, context: str) -> tuple[Highlight, ...]:
    found: list[tuple[str, str]] = [(f.text, "figure") for f in find_figures(entry)]
    found += [(q.text, "quote") for q in find_quotes(entry, context)]
    for pin in entry.pins:
        if not any(_matches(text, pin) for text, _ in found):
            found.append((pin.strip('«»“”" '), "quote" if pin[:1] in '«“"' else "figure"))
    seen: set[str] = set()
    result = []
    for text, kind in found:
        if text in seen:
            continue
        seen.add(text)
        pinned = any(_matches(text, p) for p in entry.pins)
        dropped = any(_matches(text, d) for d in entry.drops)
        result.append(Highlight(text, kind, pinned, dropped))
    return tuple(result)


def week_issue(settings: Settings, day: dt.date) -> Issue:
    """The issue of the week of `day` from every entry that can be read: a broken file
    is left out here (the desk shows its error) instead of blanking the issue."""
    return pipeline.week_issue(settings, gather_entries(settings, day).entries, day)


def load_desk(
    settings: Settings, day: dt.date, now: dt.datetime, collected: Collected | None = None
) -> tuple[Desk, list[Entry]]:
    """The desk for the week of `day`, and the week's usable entries (excluded too).

    A file that cannot be read is listed with its error instead of stopping the rest;
    `Desk.problems` holds those and the editorial checks of the issue, as `digest send`
    runs them, and each candidate carries its own.
    """
    collected = collected or gather_entries(settings, day)
    folder = settings.entries.dir
    start, end = week_window(day)
    week = [e for e in collected.entries if start <= e.date <= end]
    classifier = _Classifier()
    issue = assemble_issue(week, settings.themes, day, settings.newsletter.first_year, classifier)
    checks = run_checks(settings, issue.entries, issue, now, collected.problems)
    context = " ".join(e.text for e in issue.entries)
    by_path: dict[str, list[Problem]] = {}
    for problem in checks:
        by_path.setdefault(str(Path(problem.path).resolve()), []).append(problem)
    stamps: dict[str, str] = {}

    def candidate(entry: Entry) -> Candidate:
        editable = _editable(entry, folder)
        name = entry.path.name if editable and entry.path else entry.id
        stamp = file_stamp(entry.path) if editable and entry.path else ""
        stamps[name] = stamp
        theme_id, evidence = _evidence(entry, settings, classifier)
        key = str(entry.path.resolve()) if entry.path else ""
        return Candidate(
            name, entry, stamp, editable, theme_id, evidence,
            tuple(by_path.get(key, ())), None, _highlights(entry, context),
        )  # fmt: skip

    sections = tuple((s.theme.id, tuple(candidate(e) for e in s.entries)) for s in issue.sections)
    excluded = tuple(candidate(e) for e in sorted(week, key=lambda e: e.id) if e.exclude)
    broken = []
    for problem in collected.errors:
        path = Path(problem.path)
        if path.suffix == ".md" and path.resolve().parent == folder.resolve() and path.is_file():
            stamp = file_stamp(path)
            stamps[path.name] = stamp
            broken.append(Candidate(path.name, None, stamp, False, error=problem))
    desk = Desk(issue, sections, excluded, tuple(broken), tuple(checks), stamps)
    return desk, week


def _validator(settings: Settings) -> Callable[[Path, str], None]:
    """Refuse a change whose result would not read as an entry (checked on a copy)."""
    news = settings.newsletter
    theme_ids, languages = {t.id for t in settings.themes}, set(news.languages)

    def validate(path: Path, text: str) -> None:
        with tempfile.TemporaryDirectory(prefix="digest-desk-") as scratch:
            copy = Path(scratch) / path.name
            copy.write_text(text, encoding="utf-8")
            try:
                parse_entry(copy, theme_ids, languages, news.language)
            except EntryError as exc:
                raise FrontMatterError(
                    f"{path.name}: the change would make the file unreadable ({exc.message}); "
                    "nothing was written"
                ) from None

    return validate


def _one_line(value: str, what: str, limit: int) -> str:
    text = " ".join(value.split())
    if not text:
        raise DigestError(f"{what}: empty; nothing was written")
    if len(text) > limit:
        raise DigestError(f"{what}: longer than {limit} characters; nothing was written")
    return text


def _highlight_changes(entry: Entry, action: str, text: str) -> dict[str, Any]:
    pins, drops = list(entry.pins), list(entry.drops)
    text = _one_line(text, "highlight", 500)
    if action == "pin":
        drops = [d for d in drops if not _matches(text, d)]
        pins.append(text)
    elif action == "drop":
        pins = [p for p in pins if not _matches(text, p)]
        drops.append(text)
    elif action == "unpin":
        pins = [p for p in pins if not _matches(text, p)]
    else:
        drops = [d for d in drops if not _matches(text, d)]
    value = {k: v for k, v in (("pin", pins), ("drop", drops)) if v}
    return {"highlights": value or DELETE}


def changes_for(settings: Settings, entry: Entry, action: str, value: str) -> dict[str, Any]:
    """The front matter keys one action sets on one entry (`up`/`down` excepted)."""
    if action == "exclude":
        return {"exclude": True}
    if action == "include":
        return {"exclude": DELETE}
    if action == "theme":
        if not value:
            return {"themes": DELETE}
        if value not in {t.id for t in settings.themes}:
            raise DigestError(f"theme {value!r} is not one of the configured themes")
        return {"themes": [value]}
    if action == "title":
        return {"title": _one_line(value, "title", 300)}
    if action == "summary":
        text = " ".join(value.split())
        if len(text) > 2000:
            raise DigestError("summary: longer than 2000 characters; nothing was written")
        return {"summary": text or DELETE}
    if action in {"pin", "unpin", "drop", "undrop"}:
        return _highlight_changes(entry, action, value)
    raise DigestError(f"unknown desk action {action!r}")


def _section_of(desk: Desk, name: str) -> Sequence[Candidate]:
    for _theme, members in desk.sections:
        if any(c.name == name for c in members):
            return members
    raise DigestError(f"{name} is not in a section of this issue; nothing to reorder")


def reorder(members: Sequence[Candidate], name: str, step: int) -> dict[str, int]:
    """New `order` values after moving `name` one place: {file: order} for the files
    whose value changes. Entries not read from the folder (feeds) keep no order."""
    names = [c.name for c in members]
    index = names.index(name)
    target = index + step
    if not 0 <= target < len(names):
        return {}
    names[index], names[target] = names[target], names[index]
    current = {c.name: c.entry.order if c.entry else None for c in members}
    editable = {c.name for c in members if c.editable}
    return {n: i + 1 for i, n in enumerate(names) if n in editable and current[n] != i + 1}


_WRITING = threading.Lock()
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _one_at_a_time(action: Callable[_P, _R]) -> Callable[_P, _R]:
    """One desk write at a time: the server is threaded, and a move touches several files."""

    @functools.wraps(action)
    def locked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _WRITING:
            return action(*args, **kwargs)

    return locked


@_one_at_a_time
def apply(
    settings: Settings,
    desk: Desk,
    week: Iterable[Entry],
    name: str,
    action: str,
    value: str,
    stamps: Mapping[str, str],
) -> list[str]:
    """Carry out one desk action; returns the files written. `stamps` are the versions
    of the files the page showed: any mismatch refuses the action before any write."""
    folder = settings.entries.dir
    validate = _validator(settings)
    if action in {"up", "down"}:
        moves = reorder(_section_of(desk, name), name, -1 if action == "up" else 1)
        for moved in moves:  # every stamp first: no file is written if one changed
            if stamps.get(moved) != desk.stamps.get(moved):
                raise_conflict(moved)
        for moved, order in moves.items():
            update_entry(folder, moved, stamps[moved], {"order": order}, validate)
        return sorted(moves)
    entry = next((e for e in week if e.path is not None and e.path.name == name), None)
    if entry is None:
        raise DigestError(f"{name}: not an entry of this week in {folder}")
    changes = changes_for(settings, entry, action, value)
    update_entry(folder, name, stamps.get(name, ""), changes, validate)
    return [name]


def raise_conflict(name: str) -> None:
    raise ConflictError(
        f"{name} changed on disk since the page was loaded; reload the desk "
        "and make the change again (nothing was written)"
    )
