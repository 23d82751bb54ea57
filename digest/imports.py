"""`digest entries import`: a pasted press text or a feed becomes Markdown entry files.

The files are ordinary entries, so the editor can review and change them before the
issue goes out; the classifier fills in `themes`, which the editor may overrule.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.atomic import write_atomic
from digest.config import Settings
from digest.entries import feed_entries, markdown_entries
from digest.errors import SourceError
from digest.models import BRIEF_THEME_ID, Entry
from digest.sources.dates import weekday_message
from digest.sources.feed import FeedCache, Fetcher, fetch_url, is_url
from digest.sources.markdown import entry_file_text, render_markdown
from digest.sources.pasted import escape_markdown, parse_pasted
from digest.sources.problems import Problem
from digest.sources.sanitize import html_to_text
from digest.sources.textfile import read_text
from digest.themes import classify

MAX_SLUG_CHARS = 60


@dataclass(frozen=True)
class Written:
    path: Path
    title: str
    theme_id: str
    score: int


@dataclass
class ImportResult:
    written: list[Written] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def slugify(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    slug = "-".join(re.findall(r"[a-z0-9]+", plain))
    return slug[:MAX_SLUG_CHARS].rstrip("-") or "entry"


def looks_like_feed(location: str) -> bool:
    """A URL, or a file whose first non-blank character opens an XML element."""
    if is_url(location):
        return True
    try:
        with open(location, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _source_fields(source: str | None) -> dict[str, str]:
    if not source:
        return {}
    if is_url(source):
        return {"source": source}
    return {"source_name": source}


def _draft(
    settings: Settings, meta: dict[str, Any], body: str, path: Path, language: str
) -> tuple[dict[str, Any], Written]:
    """Classify the draft as the digest will, and record the theme in its front matter."""
    html = render_markdown(body)
    probe = Entry(
        id=path.stem,
        title=str(meta["title"]),
        date=meta["date"],
        language=language,
        source_url=str(meta.get("source", "")),
        source_name=str(meta.get("source_name", "")),
        body_html=html,
        text=html_to_text(html),
    )
    found = classify(probe, settings.themes)
    if found.theme_id != BRIEF_THEME_ID:
        meta = {**meta, "themes": [found.theme_id]}
    return meta, Written(path, probe.title, found.theme_id, found.score)


def _write_all(
    drafts: Iterable[tuple[Path, dict[str, Any], str, Written]], result: ImportResult
) -> None:
    """Write each file that does not exist yet; an existing file is never overwritten."""
    for path, meta, body, written in drafts:
        data = entry_file_text(meta, body).encode("utf-8")
        if not write_atomic(path, data, replace=False, error=SourceError):
            result.skipped.append(f"{path}: already exists; not overwritten")
            continue
        result.written.append(written)


def import_pasted(
    settings: Settings,
    path: Path,
    day: dt.date | None = None,
    source: str | None = None,
    language: str | None = None,
) -> ImportResult:
    """One Markdown entry per section of a pasted text.

    The lead (who spoke, when, where) closes the first entry, as context: nothing of the
    text is lost, and the entry's summary still starts with its own subject.
    """
    text = read_text(path)
    pasted = parse_pasted(text, str(path))
    result = ImportResult(problems=list(pasted.removed))
    if not pasted.sections:
        raise SourceError(f"{path}: no sections found (a section starts with a short heading)")
    for line, mention in pasted.dates:
        if mention.contradicts:
            result.problems.append(
                Problem("weekday-date", "warning", str(path), line, weekday_message(mention))
            )
    dated = [d.date for _, d in pasted.dates if d.date is not None]
    date = day or (dated[0] if dated else None)
    if date is None:
        raise SourceError(f"{path}: no date found in the text: give one with --date YYYY-MM-DD")
    language = language or settings.newsletter.language
    folder = settings.entries.dir
    drafts = []
    for index, section in enumerate(pasted.sections):
        body = section.markdown()
        if index == 0 and pasted.lead is not None:
            lead = "\n\n".join(escape_markdown(p) for p in pasted.lead[1].split("\n\n"))
            body = f"{body}\n{lead}\n"
        meta: dict[str, Any] = {"title": section.title, "date": date, **_source_fields(source)}
        meta["language"] = language
        target = folder / f"{date.isoformat()}-{slugify(section.title)}.md"
        meta, written = _draft(settings, meta, body, target, language)
        drafts.append((target, meta, body, written))
    _write_all(drafts, result)
    return result


def import_feed(
    settings: Settings,
    location: str,
    source: str | None = None,
    cache: FeedCache | None = None,
    published: Iterable[str] = (),
    fetch: Fetcher = fetch_url,
) -> ImportResult:
    """A feed's items as Markdown entries, skipping items already in the folder or sent.

    Raises FeedError when the feed cannot be fetched or parsed.
    """
    items, problems = feed_entries(settings, location, Path.cwd(), cache, fetch)
    result = ImportResult(problems=problems)
    existing, _ = markdown_entries(settings)
    taken = {e.guid for e in existing if e.guid} | set(published)
    drafts = []
    for item in items:
        if item.guid in taken:
            result.skipped.append(f"{item.title}: already imported or published")
            continue
        taken.add(item.guid)
        body = "\n\n".join(escape_markdown(p) for p in item.text.split("\n\n")) or ""
        meta: dict[str, Any] = {"title": item.title, "date": item.date}
        if item.source_url:
            meta["source"] = item.source_url
        meta["source_name"] = source if source and not is_url(source) else item.source_name
        meta = {k: v for k, v in meta.items() if v}
        meta["language"] = item.language
        meta["guid"] = item.guid
        name = f"{item.date.isoformat()}-{slugify(item.title)}"
        target = settings.entries.dir / f"{name}.md"
        if target.exists():  # another story with the same title and day
            target = settings.entries.dir / f"{name}-{item.id[5:11]}.md"
        meta, written = _draft(settings, meta, body, target, item.language)
        drafts.append((target, meta, body, written))
    _write_all(drafts, result)
    return result
