"""All of the week's candidate entries, from every source, with every problem found.

Markdown files and configured feeds are read here and merged: a feed item already
imported as a Markdown file (same `guid`) is left to the file, and a feed item already
published in another issue is left out, so no feed item is ever in two issues.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from digest.assemble import issue_key
from digest.config import Settings
from digest.models import Entry, Issue
from digest.sources.feed import FeedCache, FeedError, Fetcher, fetch_url, load_feed
from digest.sources.markdown import load_entries
from digest.sources.problems import Problem
from digest.store import Store, open_store


def markdown_entries(settings: Settings) -> tuple[list[Entry], list[Problem]]:
    """The entries folder read with the configured themes and languages."""
    news = settings.newsletter
    theme_ids = [t.id for t in settings.themes]
    return load_entries(settings.entries.dir, theme_ids, news.languages, news.language, settings.tz)


def feed_entries(
    settings: Settings,
    location: str,
    base: Path,
    cache: FeedCache | None,
    fetch: Fetcher = fetch_url,
) -> tuple[list[Entry], list[Problem]]:
    """One feed's items as entries, with the configured timeout, languages and zone.

    `base` resolves a local feed path. Raises FeedError when the feed is unusable.
    """
    news = settings.newsletter
    return load_feed(
        location, base, settings.feeds.timeout, news.languages, news.language, cache, fetch,
        settings.tz, settings.feeds.name_map(),
    )  # fmt: skip


@dataclass(frozen=True)
class Collected:
    entries: tuple[Entry, ...]
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.is_error)


def collect_entries(
    settings: Settings,
    cache: FeedCache | None = None,
    published: Mapping[str, str] | None = None,
    for_issue: str | None = None,
    fetch: Fetcher = fetch_url,
) -> Collected:
    """Markdown entries, then feed entries; `published` maps feed keys to their issue."""
    entries, problems = markdown_entries(settings)
    taken = {e.guid for e in entries if e.guid}
    base = settings.path.resolve().parent
    for location in settings.feeds.urls:
        try:
            items, found = feed_entries(settings, location, base, cache, fetch)
        except FeedError as exc:
            problems.append(exc.problem("warning"))
            continue
        problems.extend(found)
        for item in items:
            if item.guid in taken:
                continue
            used_in = (published or {}).get(item.guid)
            if used_in is not None and used_in != for_issue:
                continue
            taken.add(item.guid)
            entries.append(item)
    return Collected(tuple(entries), tuple(problems))


def gather_entries(
    settings: Settings,
    day: dt.date | None = None,
    store: Store | None = None,
    fetch: Fetcher = fetch_url,
) -> Collected:
    """`collect_entries` with the store as feed cache and published-items record.

    Without feeds the store is not touched; with feeds and no store given, the configured
    store is opened for the duration of the read.
    """
    if not settings.feeds.urls:
        return collect_entries(settings)
    if store is None:
        with open_store(settings) as opened:
            return gather_entries(settings, day, opened, fetch)
    key = issue_key(day) if day is not None else None
    return collect_entries(settings, store, store.published_feed_items(), key, fetch)


def record_published(store: Store, issue: Issue) -> int:
    """Record the issue's feed items (by key) as used, before it is sent: the first issue
    that records an item keeps it, so it never appears in another one."""
    items = [(e.guid, e.source_name, e.title) for e in issue.entries if e.guid]
    return store.record_feed_items(issue.key, items) if items else 0
