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
import re
import urllib.error
import urllib.request
import xml.sax
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import feedparser

from digest.errors import SourceError
from digest.models import Entry
from digest.sources.dates import parse_written_datetime
from digest.sources.language import declared_language, detect_language
from digest.sources.problems import Problem
from digest.sources.sanitize import (
    SanitizedStore,
    absolute_links,
    clean_feed_bodies,
    clean_html,
    html_to_text,
    strip_tags,
)

MAX_FEED_BYTES = 5 * 1024 * 1024
USER_AGENT = "digest-feed-reader/0.1"


class FeedError(SourceError):
    """A feed cannot be fetched or parsed; `line` is set for broken XML."""

    def __init__(self, location: str, message: str, line: int = 0) -> None:
        # One line always: urllib's message for a redirect loop has three.
        message = " ".join(message.split())
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


class FeedCache(SanitizedStore, Protocol):
    """Where validators, the last body and sanitized items live between runs (the Store
    implements it)."""

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
    """An http(s) URL with a host; a malformed one (`http://[::1`) is not a URL."""
    try:
        parts = urlsplit(location)
        return parts.scheme in {"http", "https"} and bool(parts.hostname)
    except ValueError:
        return False


def fetch_url(url: str, timeout: float, cache: FeedCache | None = None) -> bytes:
    """The feed's bytes, decoded when the server gzip- or deflate-compressed them unasked;
    sends If-None-Match / If-Modified-Since and reuses the cached body on 304 Not
    Modified. The 5 MB cap is on the decoded size."""
    cached = cache.feed_cache(url) if cache is not None else None
    # gzip asked for, since it is decoded anyway (`_read_body`): a feed is text that
    # shrinks to a fifth, and fetched every run
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip",
               "Accept": "application/rss+xml, application/atom+xml, */*"}  # fmt: skip
    if cached is not None:
        if cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
    request = urllib.request.Request(url, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length", "") or ""
            if declared.isdigit() and int(declared) > MAX_FEED_BYTES:
                raise FeedError(url, "larger than 5 MB; refused before reading")
            body = _read_body(response, url)
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


_DECODED_ENCODINGS = {"gzip", "x-gzip", "deflate"}
_CHUNK = 64 * 1024


def _read_body(response: Any, url: str) -> bytes:
    """At most MAX_FEED_BYTES + 1 bytes of the body, decoded when the server compressed it
    unasked (gzip, deflate): decompressed a piece at a time, so that a small gzip bomb
    stops at the cap."""
    encoding = (response.headers.get("Content-Encoding", "") or "").strip().lower()
    if encoding in {"", "identity"}:
        return bytes(response.read(MAX_FEED_BYTES + 1))
    if encoding not in _DECODED_ENCODINGS:
        raise FeedError(url, f"unsupported Content-Encoding {encoding!r}")
    name = "deflate" if encoding == "deflate" else "gzip"
    body, taken = bytearray(), 0
    inflate: Any = None  # zlib's Decompress type is private
    try:
        while chunk := response.read(_CHUNK):
            taken += len(chunk)
            if inflate is None:
                inflate = zlib.decompressobj(_window_bits(name, chunk))
            body += inflate.decompress(chunk, MAX_FEED_BYTES + 1 - len(body))
            if len(body) > MAX_FEED_BYTES or taken > MAX_FEED_BYTES:
                raise FeedError(url, "feed is larger than 5 MB")
            if inflate.eof:
                break
    except zlib.error as exc:
        raise FeedError(url, f"cannot decode the {name} body: {exc}") from None
    if inflate is not None and not inflate.eof:
        raise FeedError(url, f"cannot decode the {name} body: it is cut short")
    return bytes(body)


def _window_bits(encoding: str, head: bytes) -> int:
    """gzip; else HTTP's deflate, which is zlib-wrapped, though some servers send it raw."""
    if encoding == "gzip":
        return 16 + zlib.MAX_WBITS
    zlib_header = (
        len(head) >= 2 and head[0] & 0x0F == 8 and int.from_bytes(head[:2], "big") % 31 == 0
    )
    return zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS


def read_feed_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FEED_BYTES:
            raise FeedError(str(path), "feed is larger than 5 MB")
        return path.read_bytes()
    except OSError as exc:
        raise FeedError(str(path), f"cannot read: {exc.strerror}") from None


_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF|RDF)\b", re.IGNORECASE)


def looks_like_feed_document(data: bytes) -> bool:
    """An RSS, RSS 1.0 (RDF) or Atom document: its first element is one of their roots."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return False
    body = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", head, flags=re.DOTALL).lstrip()
    return bool(_FEED_ROOT.match(body))


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
    names: Mapping[str, str] | None = None,
    sanitized: SanitizedStore | None = None,
) -> tuple[list[Entry], list[Problem]]:
    """Entries of one feed document, and warnings about items that had to be left out.

    Item dates are UTC in feedparser; `tz` turns them into the newsletter's calendar day.
    The feed's declared language wins; without one each item's language is detected from
    its text, else the feed's, else `default_language`. `names` maps hosts or feed URLs to
    the source name to show (the `[feeds] names` setting). `sanitized` keeps sanitized
    bodies between runs, so an unchanged item is not sanitized again.
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
    problems: list[Problem] = []
    if error is not None:  # recoverable, e.g. a wrong declared encoding: read, but say so
        problems.append(Problem("feed-encoding", "warning", location, 0, _encoding_note(error)))
    site = source_name(
        str(parsed.feed.get("title", "") or ""),
        str(parsed.feed.get("link", "") or ""),
        location,
        names or {},
    )
    base = link_base(str(parsed.feed.get("link", "") or ""), location, parsed.version)
    read = [
        _read_item(item, number, location, tz, base)
        for number, item in enumerate(parsed.entries, 1)
    ]
    bodies = iter(clean_feed_bodies([r.raw_body for r, _ in read if r is not None], sanitized))
    items: list[_Item] = []
    for partial, problem in read:
        if partial is not None:
            body_html, note = next(bodies)
            if note:
                problem = partial.warn(note)
            items.append(partial.finish(absolute_links(body_html, partial.link or base)))
        if problem is not None:
            problems.append(problem)
    declared = declared_language(parsed.feed.get("language"))
    whole = declared or detect_language("\n".join(f"{i.title}\n{i.text}" for i in items[:20]))
    feed_language = whole or default_language
    entries: list[Entry] = []
    for found in items:
        language = (
            found.declared
            or declared
            or detect_language(f"{found.title}\n{found.text}")
            or feed_language
        )
        entries.append(
            Entry(
                id="feed-" + hashlib.sha256(found.key.encode()).hexdigest()[:12],
                title=found.title,
                date=found.date,
                language=language,
                source_url=found.link,
                source_name=site,
                body_html=found.body_html,
                text=found.text,
                guid=found.key,
            )
        )
    return entries, problems


def _encoding_note(error: Exception) -> str:
    """feedparser says "declared as utf-8" when nothing was declared: say what happened."""
    note = str(error)
    if isinstance(error, feedparser.CharacterEncodingOverride) and "parsed as" in note:
        return f"not UTF-8 as declared or implied; read as {note.rsplit(' ', 1)[-1]}"
    return note


@dataclass(frozen=True)
class _Item:
    key: str
    title: str
    date: dt.date
    link: str
    body_html: str
    text: str
    declared: str | None = None
    """The item's own `xml:lang`, when it has one (Atom)."""


_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_MEDIA_KEYS = ("media_content", "media_credit", "media_thumbnail", "media_player")


def item_body(item: dict[str, Any]) -> str:
    """The item's own text as raw HTML: its full HTML content when that says more than its
    summary, else the summary/description.

    Never a Media RSS caption or credit: feedparser files `media:description` under
    `content` (as text/plain), so plain-text content is taken only from items that carry
    no Media RSS at all.
    """
    summary = str(item.get("summary", "") or "")
    contents = [c for c in item.get("content") or [] if str(c.get("value", "")).strip()]
    has_media = any(item.get(key) for key in _MEDIA_KEYS)
    html = [str(c["value"]) for c in contents if c.get("type") in _HTML_TYPES]
    plain = (
        [] if has_media else [str(c["value"]) for c in contents if c.get("type") == "text/plain"]
    )
    full = (html or plain or [""])[0]
    if len(strip_tags(full)) > len(strip_tags(summary)):
        return full if full in html else _escape_plain(full)
    return summary


def _escape_plain(text: str) -> str:
    return "".join(f"<p>{escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())


@dataclass(frozen=True)
class _Read:
    """An item read up to its raw body: bodies are sanitized a whole feed at a time."""

    key: str
    title: str
    date: dt.date
    link: str
    raw_body: str
    declared: str | None
    label: str
    location: str

    def warn(self, message: str) -> Problem:
        return _item_problem(self.location, self.label, message)

    def finish(self, body_html: str) -> _Item:
        text = html_to_text(body_html)
        return _Item(self.key, self.title, self.date, self.link, body_html, text, self.declared)


def link_base(channel_link: str, location: str, version: str) -> str:
    """What a relative item link is resolved against (an http(s) URL, or '').

    feedparser has already applied Atom's `xml:base`. Otherwise, as feed readers do: in
    RSS the channel's `<link>`, the site the items belong to (the feed is often served
    from another host), else the feed's own URL; in Atom the document's URL (RFC 4287),
    else its `alternate` link. A relative channel link is itself resolved against the
    feed's URL; a feed read from a file has no URL.
    """
    document = location if is_url(location) else ""
    try:
        channel = urljoin(document, channel_link) if channel_link else ""
    except ValueError:
        channel = ""
    order = (document, channel) if version.startswith("atom") else (channel, document)
    return next((url for url in order if is_url(url)), "")


def _absolute_link(raw_link: str, base: str) -> str:
    """The item's link as an http(s) URL, resolved against `base` when relative; else ''."""
    if is_url(raw_link):
        return raw_link
    try:
        resolved = urljoin(base, raw_link) if base and raw_link else ""
    except ValueError:  # "http://[::1"
        return ""
    return resolved if is_url(resolved) else ""


def _read_item(
    item: dict[str, Any], number: int, location: str, tz: dt.tzinfo, base: str = ""
) -> tuple[_Read | None, Problem | None]:
    """One item (its body still raw), or None with the warning saying why it was left
    out. A relative link is resolved against `base`; a link that still is not http(s)
    is a warning, and the item is kept without it."""
    title = " ".join(html_to_text(clean_html(str(item.get("title", "") or ""))).split())
    label = f"item {number} ({title[:40]})" if title else f"item {number}"

    def warn(message: str) -> Problem:
        return _item_problem(location, label, message)

    if not title:
        return None, warn("no title; skipped")
    when = item_date(item, tz)
    if when is None:
        return None, warn("no readable date; skipped")
    raw_link = str(item.get("link", "") or "").strip()
    # feedparser also fills `link` from a <guid> that is a permalink by default, often a
    # bare id ("wire-0042"): only a real <link> is resolved, or warned about when unusable.
    own_link = any(
        k.get("rel") == "alternate" and str(k.get("href", "")).strip() == raw_link
        for k in item.get("links") or []
    )
    link = _absolute_link(raw_link, base if own_link else "")
    problem = None
    if raw_link and not link and (own_link or raw_link.lower().startswith(("http:", "https:"))):
        problem = warn(f"link {raw_link[:80]!r} is not a usable http(s) URL; kept without it")
    raw_body = item_body(item)
    key = feed_key(str(item.get("id", "") or ""), link or raw_link, title, raw_body)
    details = [item.get("title_detail"), item.get("summary_detail"), *(item.get("content") or [])]
    own = next((d.get("language") for d in details if d and d.get("language")), None)
    found = _Read(key, title, when, link, raw_body, declared_language(own), label, location)
    return found, problem


def _item_problem(location: str, label: str, message: str) -> Problem:
    return Problem("feed-item", "warning", location, 0, f"{label}: {message}")


def item_date(item: dict[str, Any], tz: dt.tzinfo) -> dt.date | None:
    """The item's calendar day in `tz`: feedparser's reading of RFC 822 / ISO 8601, else the
    date as written (another locale's day and month names, e.g. `Qua, 03 Dez 2025`)."""
    # dict.get: FeedParserDict maps a missing `updated` to `published` with a warning.
    parsed = dict.get(item, "published_parsed") or dict.get(item, "updated_parsed")
    if parsed is not None:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), tz).date()
    for key in ("published", "updated", "dc_date", "created"):
        written = str(dict.get(item, key, "") or "").strip()
        moment = parse_written_datetime(written) if written else None
        if moment is not None:
            return (moment.astimezone(tz) if moment.tzinfo else moment).date()
    return None


def source_name(title: str, link: str, location: str, names: Mapping[str, str]) -> str:
    """The site's short name: a configured name for the feed or its host, else the
    channel title when it is short and clearly the site's name, else the host.

    Channel titles are often a section and a slogan ("International : Toute l'actualité
    sur Le Monde.fr."): a meta line of 86 characters. Such a title is split at its
    separators and a part is kept only if it names the host ("The Guardian" for
    theguardian.com).
    """
    host = host_name(link) or host_name(location)
    for key in (location, host, _registered(host)):
        if key and key in names:
            return names[key]
    clean = " ".join(html_to_text(clean_html(title)).split()).strip(" .")
    parts = [p.strip(" .") for p in _TITLE_SEPARATORS.split(clean) if p.strip(" .")]
    label = _main_label(host)
    if len(parts) == 1 and len(parts[0]) <= MAX_SOURCE_NAME:
        return parts[0]
    for part in parts:
        named = _naming_span(part, label) if label else None
        if named is not None:
            return named
    return host or clean[:MAX_SOURCE_NAME]


def _letters(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def _naming_span(part: str, label: str) -> str | None:
    """`part` when it is a short name of the site (`BBC News`, `The Guardian`), else the
    shortest run of its words that names the site (`Toute l'actualité sur Le Monde.fr`
    -> `Le Monde`), else None."""
    words = part.split()
    if len(words) <= 3 and len(part) <= MAX_SOURCE_NAME:
        letters = _letters(part)
        if label in letters or (len(letters) >= 3 and letters in label):
            return part
    spans = [
        " ".join(words[i:j])
        for i in range(len(words))
        for j in range(i + 1, min(i + 5, len(words)) + 1)
        if label in _letters(" ".join(words[i:j]))
    ]
    if not spans:
        return None
    best = min(spans, key=len)
    trimmed = re.sub(r"\.[a-z]{2,4}$", "", best)
    return trimmed if label in _letters(trimmed) else best


MAX_SOURCE_NAME = 40
_TITLE_SEPARATORS = re.compile(r"\s+[:|\-–—»·]\s+|:\s+")
_SECOND_LEVEL = {"co", "com", "org", "net", "gov", "ac", "edu", "gouv"}


def host_name(url: str) -> str:
    """The URL's host without `www.`, or '' (also for a malformed URL)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def _registered(host: str) -> str:
    """`feeds.example.co.uk` -> `example.co.uk` (enough for matching configured names)."""
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def _main_label(host: str) -> str:
    labels = _registered(host).split(".")
    return labels[0] if labels and labels[0] else ""


def load_feed(
    location: str,
    base: Path,
    timeout: float,
    languages: Iterable[str],
    default_language: str,
    cache: FeedCache | None = None,
    fetch: Fetcher = fetch_url,
    tz: dt.tzinfo = dt.UTC,
    names: Mapping[str, str] | None = None,
) -> tuple[list[Entry], list[Problem]]:
    """One configured feed (URL, or file path relative to `base`); raises FeedError."""
    if is_url(location):
        data = fetch(location, timeout, cache)
    elif urlsplit(location).scheme in {"", "file"}:
        data = read_feed_file(base / Path(location.removeprefix("file://")))
    else:
        raise FeedError(location, "feeds must be http(s) URLs or local files")
    return parse_feed(data, location, languages, default_language, tz, names, cache)
