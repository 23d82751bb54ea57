"""RSS and Atom feeds: fetched with a timeout and conditional requests, parsed with
feedparser (the only module that imports it), every body sanitized before it goes on.

A feed that cannot be fetched or parsed becomes a warning and is skipped: one broken
feed must not stop the week's issue. A feed half-read from broken XML is skipped whole,
because its items would otherwise be published, recorded as used, and lost.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import io
import urllib.error
import urllib.request
import xml.sax
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import feedparser

from digest.errors import SourceError
from digest.models import Entry
from digest.sources.problems import Problem
from digest.sources.sanitize import clean_html, html_to_text

MAX_FEED_BYTES = 5 * 1024 * 1024
USER_AGENT = "digest-feed-reader/0.1"


class FeedError(SourceError):
    """A feed cannot be fetched or parsed; `line` is set for broken XML."""

    def __init__(self, location: str, message: str, line: int = 0) -> None:
        self.location, self.line, self.detail = location, line, message
        where = f"{location}:{line}" if line else location
        super().__init__(f"{where}: {message}")

    def problem(self, severity: Any = "warning") -> Problem:
        return Problem("feed-failed", severity, self.location, self.line, self.detail)


@dataclass(frozen=True)
class CachedFeed:
    etag: str
    last_modified: str
    body: bytes


class FeedCache(Protocol):
    """Where validators and the last body live between runs (the Store implements it)."""

    def feed_cache(self, url: str) -> Any: ...

    def save_feed_cache(self, url: str, etag: str, last_modified: str, body: bytes) -> None: ...


Fetcher = Callable[[str, float, "FeedCache | None"], bytes]


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only: never to ftp: or file: from a feed server."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        if not is_url(newurl):
            raise urllib.error.HTTPError(newurl, code, "redirect to a non-http URL", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in {"http", "https"}


def fetch_url(url: str, timeout: float, cache: FeedCache | None = None) -> bytes:
    """The feed's bytes; sends If-None-Match / If-Modified-Since and reuses the cached body
    on 304 Not Modified."""
    cached = cache.feed_cache(url) if cache is not None else None
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, */*"}
    if cached is not None:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    request = urllib.request.Request(url, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(MAX_FEED_BYTES + 1)
            etag = response.headers.get("ETag", "") or ""
            modified = response.headers.get("Last-Modified", "") or ""
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and cached is not None:
            return bytes(cached.body)
        raise FeedError(url, f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FeedError(url, f"cannot fetch: {reason}") from None
    if len(body) > MAX_FEED_BYTES:
        raise FeedError(url, "feed is larger than 5 MB")
    if cache is not None:
        cache.save_feed_cache(url, etag, modified, body)
    return bytes(body)


def read_feed_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FEED_BYTES:
            raise FeedError(str(path), "feed is larger than 5 MB")
        return path.read_bytes()
    except OSError as exc:
        raise FeedError(str(path), f"cannot read: {exc.strerror}") from None


def feed_key(guid: str, link: str, title: str, content: str) -> str:
    """A feed item's identity: its GUID, else its link, else a hash of its content."""
    if guid.strip():
        return f"guid:{guid.strip()}"
    if link.strip():
        return f"link:{link.strip()}"
    digest = hashlib.sha256(f"{title}\n{content}".encode()).hexdigest()
    return f"sha256:{digest}"


def parse_feed(
    data: bytes,
    location: str,
    languages: Iterable[str],
    default_language: str,
    tz: dt.tzinfo = dt.UTC,
) -> tuple[list[Entry], list[Problem]]:
    """Entries of one feed document, and warnings about items that had to be left out.

    Item dates are UTC in feedparser; `tz` turns them into the newsletter's calendar day.
    Raises FeedError when the document is not a well-formed feed.
    """
    if b"\x00" in data[:1024] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FeedError(location, "binary file, not a feed")
    parsed = feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)
    error = parsed.get("bozo_exception")
    if isinstance(error, xml.sax.SAXParseException):
        raise FeedError(
            location, f"malformed XML: {error.getMessage()}", error.getLineNumber() or 0
        )
    if not parsed.get("version"):
        raise FeedError(location, "not an RSS or Atom feed")
    known = set(languages)
    feed_language = str(parsed.feed.get("language", "") or "")[:2].lower()
    language = feed_language if feed_language in known else default_language
    feed_name = html_to_text(clean_html(str(parsed.feed.get("title", "") or "")))
    entries: list[Entry] = []
    problems: list[Problem] = []
    if error is not None:  # recoverable, e.g. a wrong declared encoding: read, but say so
        problems.append(Problem("feed-encoding", "warning", location, 0, f"{error}"))
    for number, item in enumerate(parsed.entries, start=1):
        title = " ".join(html_to_text(clean_html(str(item.get("title", "") or ""))).split())
        link = str(item.get("link", "") or "")
        link = link if is_url(link) else ""
        contents = item.get("content") or []
        raw_body = str(contents[0].get("value", "")) if contents else ""
        raw_body = raw_body or str(item.get("summary", "") or "")
        body_html = clean_html(raw_body)
        when = item.get("published_parsed") or item.get("updated_parsed")
        if not title:
            problems.append(
                Problem("feed-item", "warning", location, 0, f"item {number}: no title; skipped")
            )
            continue
        if when is None:
            problems.append(
                Problem(
                    "feed-item", "warning", location, 0,
                    f"item {number} ({title[:40]}): no readable date; skipped",
                )
            )  # fmt: skip
            continue
        key = feed_key(str(item.get("id", "") or ""), link, title, raw_body)
        entries.append(
            Entry(
                id="feed-" + hashlib.sha256(key.encode()).hexdigest()[:12],
                title=title,
                date=dt.datetime.fromtimestamp(calendar.timegm(when), tz).date(),
                language=language,
                source_url=link,
                source_name=feed_name or (urlsplit(link).hostname or "").removeprefix("www."),
                body_html=body_html,
                text=html_to_text(body_html),
                guid=key,
            )
        )
    return entries, problems


def load_feed(
    location: str,
    base: Path,
    timeout: float,
    languages: Iterable[str],
    default_language: str,
    cache: FeedCache | None = None,
    fetch: Fetcher = fetch_url,
    tz: dt.tzinfo = dt.UTC,
) -> tuple[list[Entry], list[Problem]]:
    """One configured feed (URL, or file path relative to `base`); raises FeedError."""
    if is_url(location):
        data = fetch(location, timeout, cache)
    elif urlsplit(location).scheme in {"", "file"}:
        data = read_feed_file(base / Path(location.removeprefix("file://")))
    else:
        raise FeedError(location, "feeds must be http(s) URLs or local files")
    return parse_feed(data, location, languages, default_language, tz)
