"""Pick the week's entries and assemble them into an Issue. Pure: `day` is an argument."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from digest.errors import DigestError
from digest.models import BRIEF_THEME_ID, Classified, Entry, Issue, Section, Theme
from digest.themes import classify

BRIEF_THEME = Theme(
    id=BRIEF_THEME_ID,
    titles={"fr": "En bref", "en": "In brief"},
    keywords={},
    colour="#555555",
    order=10_000,
)


def week_window(day: dt.date) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of the ISO week that contains `day`."""
    start = day - dt.timedelta(days=day.weekday())
    return start, start + dt.timedelta(days=6)


def issue_key(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def assemble_issue(
    entries: Iterable[Entry],
    themes: Sequence[Theme],
    day: dt.date,
    first_year: int,
    classifier: Callable[[Entry, Sequence[Theme]], Classified] = classify,
) -> Issue:
    """The issue for the week containing `day`: entries in the window, grouped by theme.

    The number is the ISO week and the volume counts ISO years from `first_year`, so a
    rebuild of the same week always carries the same number. A week before volume 1
    is refused: its number would read "Vol. 0" or below. `classifier` lets the desk
    reuse the classifications it also shows as evidence.
    """
    start, end = week_window(day)
    iso_year, week, _ = day.isocalendar()
    if iso_year < first_year:
        raise DigestError(
            f"week {issue_key(day)} is before volume 1: [newsletter] first_year is "
            f"{first_year}, so the first issue is in week {first_year}-W01 "
            "(pick a later --date, or lower first_year)"
        )
    seen: set[str] = set()
    chosen: list[Classified] = []
    for entry in entries:
        if start <= entry.date <= end and entry.id not in seen and not entry.exclude:
            seen.add(entry.id)
            chosen.append(classifier(entry, themes))
    sections = []
    for theme in [*themes, BRIEF_THEME]:
        members = sorted(
            (c.entry for c in chosen if c.theme_id == theme.id),
            key=section_order,
        )
        if members:
            sections.append(Section(theme=theme, entries=tuple(members)))
    return Issue(
        key=issue_key(day),
        number=week,
        volume=iso_year - first_year + 1,
        start=start,
        end=end,
        sections=tuple(sections),
    )


def section_order(entry: Entry) -> tuple[int, int, int, str]:
    """The editor's `order` first (lower first), then the rest newest first, by title."""
    placed = entry.order is not None
    return (0 if placed else 1, entry.order or 0, -entry.date.toordinal(), entry.title.casefold())


def sections_for(issue: Issue, themes: frozenset[str]) -> tuple[Section, ...]:
    """The sections a reader of `themes` gets; empty means every theme and 'In brief'."""
    if not themes:
        return issue.sections
    return tuple(s for s in issue.sections if s.theme.id in themes)
