"""Frozen value types passed between the pipeline's steps.

They carry no behaviour that touches I/O, so every step can be tested with literals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

BRIEF_THEME_ID = "brief"
"""Pseudo-theme for entries that match no configured theme, so none vanish."""


@dataclass(frozen=True)
class Theme:
    id: str
    titles: dict[str, str]
    keywords: dict[str, tuple[str, ...]]
    colour: str
    order: int
    names: tuple[str, ...] = ()
    """Proper names of the theme's people, institutions and operations, in any language;
    a match is evidence and also shows the theme's setting (see `context`)."""
    context: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Words per language that show the theme's setting; they never score on their own.
    A theme that lists some counts its keywords only in an entry that has one of them
    (or one of its names), so one stray word ("airspace", "spending") makes no theme."""

    def title(self, language: str) -> str:
        return self.titles.get(language) or next(iter(self.titles.values()))


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    date: dt.date
    language: str
    source_url: str
    source_name: str
    body_html: str
    """Sanitized HTML: safe to mark as such in a template."""
    text: str
    """Plain text of the body, for summaries, classification and the text part."""
    themes: tuple[str, ...] = ()
    """Theme ids chosen by the editor; they win over the classifier."""
    path: Path | None = None
    # -- entries area (sources, checks, highlights) --
    guid: str = ""
    """Feed identity (GUID, else link, else content hash); empty for hand-written entries."""
    markdown: str = ""
    """The body as written (Markdown), for checks that need the editor's own text."""
    body_line: int = 1
    """Line of the file where the body starts, so checks can point at a line."""
    pins: tuple[str, ...] = ()
    """Highlights (figures or quotes) the editor pinned in front matter."""
    drops: tuple[str, ...] = ()
    """Highlights the editor dropped in front matter."""
    # -- editor's desk (front matter `exclude`, `order`, `summary`) --
    exclude: bool = False
    """Left out of this issue by the editor; still listed on the desk to bring back."""
    order: int | None = None
    """Place within its section (lower first); unordered entries follow, newest first."""
    summary: str = ""
    """The editor's own summary, shown instead of the sentences picked from the body."""


@dataclass(frozen=True)
class Match:
    """One piece of evidence: a configured term found in an entry."""

    term: str
    kind: str
    """"keyword", "name" or "context"."""
    where: str
    """"title" or "body"."""
    points: int
    """What it adds to the theme's score (context words add nothing)."""


@dataclass(frozen=True)
class Evidence:
    """Why a theme did or did not take an entry."""

    score: int
    title_score: int
    matches: tuple[Match, ...]
    accepted: bool
    reason: str
    """One line an editor can read: what was found, or what was missing."""


@dataclass(frozen=True)
class Classified:
    entry: Entry
    theme_id: str
    score: int
    scores: dict[str, int] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    chosen_by: str = "classifier"
    """"editor" when the entry's front matter `themes:` chose, "classifier" otherwise."""


@dataclass(frozen=True)
class Section:
    theme: Theme
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Issue:
    key: str
    """Stable identity of the period, e.g. "2025-W49"."""
    number: int
    volume: int
    start: dt.date
    end: dt.date
    """Last day inside the window (inclusive)."""
    sections: tuple[Section, ...]

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(e for s in self.sections for e in s.entries)


@dataclass(frozen=True)
class Subscriber:
    email: str
    name: str
    language: str
    themes: frozenset[str]
    """Chosen theme ids; empty means every theme."""
    id: int = 0
    status: str = "active"


@dataclass(frozen=True)
class Variant:
    """What distinct content a subscriber receives: one MJML compile per variant."""

    language: str
    themes: frozenset[str]

    @property
    def label(self) -> str:
        return f"{self.language}:{'|'.join(sorted(self.themes)) or 'all'}"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    preheader: str
    html: str
    text: str


@dataclass(frozen=True)
class Message:
    """Final bytes for one recipient, ready for a transport."""

    sender: str
    recipient: str
    message_id: str
    data: bytes
