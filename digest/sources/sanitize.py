"""One place that turns untrusted HTML into HTML safe to put in an email or page.

Entry bodies can come from feeds written by strangers, so every body goes through
nh3 (the Ammonia sanitizer) with an allow-list, whatever its source.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Protocol
from urllib.parse import urljoin

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "em", "h3", "h4", "i",
    "li", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "q": {"cite"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"


def clean_html(fragment: str) -> str:
    """Sanitized HTML: no script, handler, style, frame, form or non-http(s) link."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


_HREF = re.compile(r'(\s)href="([^"]*)"')


def absolute_links(fragment: str, base: str) -> str:
    """Sanitized HTML with each relative `href` resolved against `base` (an http(s) URL).

    A feed body's `<a href="/2026/12/x">More</a>` is relative to the site it came from;
    in an email it goes nowhere. A link that cannot be made http(s) loses its address
    and stays as text. Works on nh3's output, whose attributes are always double-quoted."""

    def resolve(match: re.Match[str]) -> str:
        href = match[2].strip()  # as browsers read it: " https://x" is absolute
        if re.match(r"(?i)https?://|mailto:", href):
            return match[0]
        try:
            joined = urljoin(base, html.unescape(href)) if base else ""
        except ValueError:
            joined = ""
        if not re.match(r"(?i)https?://[^/\s]", joined):
            return ""
        return f'{match[1]}href="{html.escape(joined, quote=True)}"'

    return _HREF.sub(resolve, fragment) if "href=" in fragment else fragment


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, paragraphs kept as blank-line breaks."""
    marked = fragment
    for tag in ("</p>", "<br>", "<br/>", "<br />", "</li>", "</h3>", "</h4>", "</blockquote>"):
        marked = marked.replace(tag, tag + "\n\n" if tag.startswith("</") else "\n")
    stripped = nh3.clean(marked, tags=set(), strip_comments=True)
    text = html.unescape(stripped)
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


MAX_ITEM_CHARS = 200_000
"""A feed item's body is cut here before sanitizing: real items are a few KB, and nh3's
time grows faster than the input on hostile markup (a 2.9 MB feed took 51 s)."""
MAX_DEPTH = 100
"""Deeper nesting is flattened to text before nh3 (40k nested <div> took it 5 s, 80k 23 s)."""
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*?(/?)>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr", "param"}  # fmt: skip


def nesting_depth(fragment: str) -> int:
    """The deepest element nesting in `fragment`, by a linear scan of its tags."""
    depth = deepest = 0
    for closing, name, self_closing in _TAG.findall(fragment):
        if name.lower() in _VOID or self_closing:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def strip_tags(fragment: str) -> str:
    """Text of HTML by removing tags: linear, for size checks and flattening only."""
    return html.unescape(re.sub(r"<[^>]*>", " ", fragment))


def clean_feed_html(fragment: str) -> tuple[str, str]:
    """A feed item's body sanitized, and a note ('' if none) when it had to be cut or
    flattened first (held in this process only; see `clean_feed_bodies`)."""
    return clean_feed_bodies([fragment])[0]


class SanitizedStore(Protocol):
    """Where sanitized bodies outlive the process (the Store implements it): keys are
    hex SHA-256 of the raw bodies, and only results of `version` count."""

    def sanitized_html(self, version: str, keys: Sequence[str]) -> Mapping[str, tuple[str, str]]:
        """The stored (html, note) of those of `keys` it holds, marking them used."""
        ...

    def save_sanitized_html(self, version: str, results: Mapping[str, tuple[str, str]]) -> None:
        """Keep new results, pruning the table to its bound."""
        ...


def clean_feed_bodies(
    fragments: Sequence[str], store: SanitizedStore | None = None
) -> list[tuple[str, str]]:
    """`clean_feed_html` of each fragment, in order, sanitizing only what was never seen.

    Kept by content hash in two layers: this process's LRU (the preview and the scheduler
    read the same feeds again and again), then, given a `store`, a table that outlives
    the process, since each `digest build`, `check` or `send` is a new one and nh3 is the
    slow part of reading a feed. One lookup per call, and one write when some body is
    new, however many items a feed has. Only hashes and clean results are held.
    """
    keys = [hashlib.sha256(f.encode("utf-8", "replace")).digest() for f in fragments]
    found: dict[bytes, tuple[str, str]] = {}
    for key in keys:
        if key in found:
            continue
        held = _CACHE.get(key)
        if held is not None:
            _CACHE.move_to_end(key)
            CACHE_STATS["hits"] += 1
            found[key] = held
    wanted = [k for k in dict.fromkeys(keys) if k not in found]
    if store is not None and wanted:
        stored = store.sanitized_html(SANITIZER_VERSION, [k.hex() for k in wanted])
        for key in wanted:
            result = stored.get(key.hex())
            if result is not None:
                CACHE_STATS["stored"] += 1
                found[key] = _remember(key, (result[0], result[1]))
    fresh: dict[str, tuple[str, str]] = {}
    for fragment, key in zip(fragments, keys, strict=True):
        if key not in found:
            CACHE_STATS["misses"] += 1
            found[key] = fresh[key.hex()] = _remember(key, _sanitize_feed_body(fragment))
    if store is not None and fresh:
        store.save_sanitized_html(SANITIZER_VERSION, fresh)
    return [found[key] for key in keys]


def _sanitize_feed_body(fragment: str) -> tuple[str, str]:
    notes = []
    if nesting_depth(fragment) > MAX_DEPTH:  # a linear scan, so before any cut
        text = " ".join(strip_tags(fragment).split())
        fragment = f"<p>{html.escape(text)}</p>"
        notes.append(f"HTML nested deeper than {MAX_DEPTH} levels; kept as plain text")
    if len(fragment) > MAX_ITEM_CHARS:
        fragment = fragment[:MAX_ITEM_CHARS]
        notes.append(f"body longer than {MAX_ITEM_CHARS:,} characters; cut")
    return clean_html(fragment), "; ".join(notes)


def _remember(key: bytes, result: tuple[str, str]) -> tuple[str, str]:
    _CACHE[key] = result
    if len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


CACHE_SIZE = 4096
_CACHE: OrderedDict[bytes, tuple[str, str]] = OrderedDict()
CACHE_STATS = {"hits": 0, "stored": 0, "misses": 0}
"""hits: from this process's LRU; stored: from the store; misses: sanitized by nh3."""

_REVISION = 1
"""Bump when this module changes what `clean_feed_bodies` returns in a way the policy
fingerprint below cannot see (new note wording, a new step before nh3)."""


def _fingerprint() -> str:
    policy = (
        sorted(ALLOWED_TAGS),
        sorted((tag, sorted(names)) for tag, names in ALLOWED_ATTRIBUTES.items()),
        sorted(ALLOWED_SCHEMES),
        LINK_REL,
        MAX_ITEM_CHARS,
        MAX_DEPTH,
    )
    nh3_version = getattr(nh3, "__version__", "unknown")
    policy_hash = hashlib.sha256(repr(policy).encode()).hexdigest()[:12]
    return f"{_REVISION}:nh3-{nh3_version}:{policy_hash}"


SANITIZER_VERSION = _fingerprint()
"""What a stored sanitized body was made by: a result is reused only under the same
version, so changing the allow-lists, the caps or nh3 itself re-sanitizes every item."""
