"""The desk's import box: what a pasted text or a URL would add, shown before writing.

One adapter over the importer's own preview-then-write entry point
(`digest.imports.preview_import` / `write_import`), the same path as `digest entries
import --dry-run` and `digest entries import`: the preview writes nothing, and the
accept runs the import again and writes files that do not exist yet (never overwriting).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from digest import imports
from digest.config import Settings
from digest.errors import DigestError
from digest.sources.feed import is_url
from digest.store import Store

MAX_PASTE_CHARS = 200_000


@dataclass(frozen=True)
class Draft:
    name: str
    title: str
    theme_id: str
    date: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ImportPreview:
    drafts: tuple[Draft, ...]
    problems: tuple[str, ...]
    """Problems of the import itself (a contradicted weekday, removed debris, a skip)."""
    shape: str = ""
    """What the importer saw: briefing, article, markdown, numbered list, html page, feed."""


def _plan(settings: Settings, text: str, day: dt.date | None) -> imports.ImportPlan:
    location = text.strip()
    with Store(settings.store.path) as store:
        published = store.published_feed_items()
        if is_url(location) and "\n" not in location:
            return imports.preview_import(settings, location, cache=store, published=published)
        return imports.preview_import(
            settings, "pasted text", day, published=published, data=text.encode("utf-8")
        )


def import_drafts(settings: Settings, text: str, day: dt.date | None, write: bool) -> ImportPreview:
    """The entries `text` (a pasted text, or a page or feed URL) would create; written to
    the entries folder only when `write` is true."""
    if not text.strip():
        raise DigestError("paste a text or a feed URL first")
    if len(text) > MAX_PASTE_CHARS:
        raise DigestError(f"the pasted text is over {MAX_PASTE_CHARS:,} characters")
    plan = _plan(settings, text, day)
    skipped = list(plan.skipped)
    drafts = plan.drafts
    if write:
        result = imports.write_import(plan)
        made = {w.path for w in result.written}
        drafts = [d for d in drafts if d.path in made]
        skipped = list(result.skipped)
    own: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in plan.problems:
        name = Path(problem.path).name if problem.path else ""
        if any(d.path.name == name for d in drafts):
            own.setdefault(name, []).append(problem.message)
        else:
            general.append(f"{problem.severity}: {problem.message}")
    shown = tuple(
        Draft(
            d.path.name,
            d.written.title,
            d.written.theme_id,
            str(d.meta.get("date", "")),
            tuple(own.get(d.path.name, [])),
        )
        for d in drafts
    )
    general += [f"skipped: {s}" for s in skipped]
    return ImportPreview(shown, tuple(general), plan.shape)
