"""`digest entries import`: a pasted text, an article, a Markdown text, a saved or fetched
HTML article page, or a feed becomes Markdown entry files.

One entry point in two steps: `preview_import` reads the source, decides its shape and
returns the entries it would write with every problem found, writing nothing (the
editor's import box shows that); `write_import` then writes them. The files are ordinary
entries the editor reviews; the classifier's guess goes to `suggested_theme`, never to
`themes`, which stays the editor's choice.
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
from digest.entries import markdown_entries
from digest.errors import SourceError
from digest.models import BRIEF_THEME_ID, Entry
from digest.sources.dates import weekday_message
from digest.sources.feed import (
    MAX_FEED_BYTES,
    FeedCache,
    Fetcher,
    fetch_url,
    is_url,
    looks_like_feed_document,
    parse_feed,
)
from digest.sources.language import declared_language, detect_language
from digest.sources.markdown import entry_file_text, render_markdown
from digest.sources.page import extract_page, looks_like_html
from digest.sources.pasted import PastedSection, PastedText, escape_markdown, parse_pasted
from digest.sources.problems import Problem
from digest.sources.sanitize import html_to_text
from digest.sources.textfile import decode_text, read_bytes
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


class OptionError(SourceError):
    """An option that does not apply to the source's shape (the CLI's usage error)."""


@dataclass(frozen=True)
class Draft:
    """One entry file the import would write."""

    path: Path
    meta: dict[str, Any]
    body: str
    written: Written


@dataclass
class ImportPlan:
    """What an import would do: its drafts, the items it leaves out, and the problems."""

    location: str
    shape: str
    """What the importer saw: briefing, article, markdown, numbered list, html page, feed."""
    drafts: list[Draft] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def entries(self) -> list[Written]:
        return [d.written for d in self.drafts]


def _source_fields(source: str | None) -> dict[str, str]:
    if not source:
        return {}
    if is_url(source):
        return {"source": source}
    return {"source_name": source}


def _draft(settings: Settings, meta: dict[str, Any], body: str, path: Path, language: str) -> Draft:
    """Classify the draft as the digest will; the guess is recorded as `suggested_theme`
    so that `themes` (and `chosen_by: editor`) stay the editor's."""
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
        meta = {**meta, "suggested_theme": found.theme_id}
    return Draft(path, meta, body, Written(path, probe.title, found.theme_id, found.score))


def _target(folder: Path, date: dt.date, title: str, taken: set[Path], salt: str = "") -> Path:
    """`<date>-<slug>.md`, made distinct from this import's other files; a feed item (with
    `salt`, from its key) also from files on disk, since it is another story: re-imported
    items are skipped by key before this. A text imported twice meets its own files, which
    are never overwritten."""
    name = f"{date.isoformat()}-{slugify(title)}"
    target = folder / f"{name}.md"
    number = 2
    while target in taken or (salt and target.exists()):
        suffix = salt if number == 2 and salt else str(number)
        target = folder / f"{name}-{suffix}.md"
        number += 1
    taken.add(target)
    return target


def write_import(plan: ImportPlan) -> ImportResult:
    """Write each draft whose file does not exist yet; an existing file is never
    overwritten (one written meanwhile is reported as skipped)."""
    result = ImportResult(skipped=list(plan.skipped), problems=list(plan.problems))
    for draft in plan.drafts:
        data = entry_file_text(draft.meta, draft.body).encode("utf-8")
        if not write_atomic(draft.path, data, replace=False, error=SourceError):
            result.skipped.append(f"{draft.path}: already exists; not overwritten")
            continue
        result.written.append(draft.written)
    return result


def preview_import(
    settings: Settings,
    location: str,
    day: dt.date | None = None,
    source: str | None = None,
    language: str | None = None,
    cache: FeedCache | None = None,
    published: Iterable[str] = (),
    fetch: Fetcher = fetch_url,
    data: bytes | None = None,
) -> ImportPlan:
    """Read `location` (a file path or an http(s) URL), decide its shape and draft its
    entries without writing anything.

    `data` gives the content directly (text pasted into a form, a file uploaded), with
    `location` then only naming it in problems. Raises SourceError (one line naming the
    file or URL) when nothing usable is there: an empty or binary file, a page with no
    main text, a 404, a timeout, a source over the size cap (refused before parsing).
    """
    if data is not None:
        if len(data) > MAX_FEED_BYTES:
            raise SourceError(f"{location}: larger than 5 MB; refused")
    elif is_url(location):
        data = fetch(location, settings.feeds.timeout, cache)
    elif re.match(r"^[a-z][a-z0-9+.-]*://", location, re.IGNORECASE):
        raise SourceError(f"{location}: only http(s) URLs and local files can be imported")
    else:
        data = read_bytes(Path(location), MAX_FEED_BYTES)
    if not data.strip():
        raise SourceError(f"{location}: empty file, nothing to import")
    if looks_like_feed_document(data):
        for option, given in (("--date", day), ("--language", language)):
            if given is not None:
                raise OptionError(f"{option} applies to a pasted text or page only, not a feed")
        return _preview_feed(settings, location, data, source, published)
    if looks_like_html(data):
        return _preview_page(settings, location, data, day, source, language)
    text, note = decode_text(data, location)
    plan = ImportPlan(location, "text")
    if note is not None:
        plan.problems.append(note)
    pasted = parse_pasted(text, location, near=day or dt.date.today())
    return _preview_text(settings, plan, pasted, day, _source_fields(source), language)


def _preview_text(
    settings: Settings,
    plan: ImportPlan,
    pasted: PastedText,
    day: dt.date | None,
    fields: dict[str, str],
    language: str | None,
) -> ImportPlan:
    """Drafts of a text's sections; `fields` (source, source_name) go into each."""
    location = plan.location
    plan.shape = pasted.shape
    plan.problems.extend(pasted.removed)
    sections = [s for s in pasted.sections if s.paragraphs or pasted.shape == "article"]
    if not sections or not any(s.paragraphs for s in sections):
        raise SourceError(f"{location}: no usable text found (no heading with text under it)")
    for line, mention in pasted.dates:
        if mention.contradicts:
            plan.problems.append(
                Problem("weekday-date", "warning", location, line, weekday_message(mention))
            )
    dated = [d.date for _, d in pasted.dates if d.date is not None]
    date = day or (dated[0] if dated else None)
    if date is None:
        raise SourceError(f"{location}: no date found in the text: give one with --date YYYY-MM-DD")
    whole = "\n".join(t for s in sections for _, t in ((0, s.title), *s.paragraphs))
    language = language or detect_language(whole) or settings.newsletter.language
    taken: set[Path] = set()
    for index, section in enumerate(sections):
        body = section.markdown()
        if index == 0 and pasted.lead is not None:
            lead = "\n\n".join(escape_markdown(p) for p in pasted.lead[1].split("\n\n"))
            body = f"{body}\n{lead}\n"
        meta: dict[str, Any] = {"title": section.title, "date": date, **fields}
        meta["language"] = language
        target = _target(settings.entries.dir, date, section.title, taken)
        plan.drafts.append(_draft(settings, meta, body, target, language))
    return plan


def _preview_page(
    settings: Settings,
    location: str,
    data: bytes,
    day: dt.date | None,
    source: str | None,
    language: str | None,
) -> ImportPlan:
    """An HTML article page: one entry from its main text (furniture dropped)."""
    page = extract_page(data, location)
    if not page.title:
        raise SourceError(f"{location}: the page has no title")
    # The main text, one paragraph a line, read by the pasted-text rules so that furniture
    # left inside the article (a "Share this article" line) is dropped and reported with
    # its line in that text.
    near = day or page.date or dt.date.today()
    main_text = f"{location} [main text]"
    pasted = parse_pasted("\n".join([page.title, *page.paragraphs]), main_text, near=near)
    removed = {p.line for p in pasted.removed}
    kept = tuple((i + 2, p) for i, p in enumerate(page.paragraphs) if i + 2 not in removed)
    article = PastedSection(page.title, 1, kept)
    plan = ImportPlan(location, "html page", problems=list(pasted.removed))
    if page.encoding is not None:
        plan.problems.insert(0, page.encoding)
    given = {"source": location} if is_url(location) else {}
    given.update(_source_fields(source))
    if "source_name" not in given and page.site_name:
        given["source_name"] = page.site_name
    text = "\n".join(t for _, t in kept)
    chosen = (
        language or declared_language(page.language) or detect_language(f"{page.title}\n{text}")
    )
    dated = page.date or next((d.date for _, d in pasted.dates if d.date), None)
    as_article = PastedText(None, (article,), pasted.dates, (), "article")
    plan = _preview_text(settings, plan, as_article, day or dated, given, chosen)
    plan.shape = "html page"
    return plan


def _preview_feed(
    settings: Settings,
    location: str,
    data: bytes,
    source: str | None,
    published: Iterable[str],
) -> ImportPlan:
    """A feed's items, skipping items already in the folder or sent; two items with the
    same title and day both kept, under distinct file names."""
    names = settings.feeds.name_map()
    if source and not is_url(source):
        names = {**names, location: source}
    items, problems = parse_feed(
        data, location, settings.newsletter.languages, settings.newsletter.language,
        settings.tz, names,
    )  # fmt: skip
    plan = ImportPlan(location, "feed", problems=problems)
    existing, _ = markdown_entries(settings)
    taken_keys = {e.guid for e in existing if e.guid} | set(published)
    taken: set[Path] = set()
    for item in items:
        if item.guid in taken_keys:
            plan.skipped.append(f"{item.title}: already imported or published")
            continue
        taken_keys.add(item.guid)
        body = "\n\n".join(escape_markdown(p) for p in item.text.split("\n\n")) or ""
        meta: dict[str, Any] = {"title": item.title, "date": item.date}
        if item.source_url:
            meta["source"] = item.source_url
        meta["source_name"] = item.source_name
        meta = {k: v for k, v in meta.items() if v}
        meta["language"] = item.language
        meta["guid"] = item.guid
        target = _target(settings.entries.dir, item.date, item.title, taken, item.id[5:11])
        plan.drafts.append(_draft(settings, meta, body, target, item.language))
    return plan


__all__ = [
    "Draft", "ImportPlan", "ImportResult", "OptionError", "Written", "preview_import",
    "slugify", "write_import",
]  # fmt: skip
