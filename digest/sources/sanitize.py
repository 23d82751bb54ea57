"""One place that turns untrusted HTML into HTML safe to put in an email or page.

Entry bodies can come from feeds written by strangers, so every body goes through
nh3 (the Ammonia sanitizer) with an allow-list, whatever its source.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import OrderedDict

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "em", "h3", "h4", "i",
    "li", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "q": {"cite"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


def clean_html(fragment: str) -> str:
    """Sanitized HTML: no script, handler, style, frame, form or non-http(s) link."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


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
    flattened first.

    Kept by content hash: an unchanged item is sanitized once per process, while the
    preview and the scheduler read the same feeds again and again. Only the hash and the
    clean result are held, at most CACHE_SIZE of them.
    """
    key = hashlib.sha256(fragment.encode("utf-8", "replace")).digest()
    found = _CACHE.get(key)
    if found is not None:
        _CACHE.move_to_end(key)
        CACHE_STATS["hits"] += 1
        return found
    CACHE_STATS["misses"] += 1
    notes = []
    if nesting_depth(fragment) > MAX_DEPTH:  # a linear scan, so before any cut
        text = " ".join(strip_tags(fragment).split())
        fragment = f"<p>{html.escape(text)}</p>"
        notes.append(f"HTML nested deeper than {MAX_DEPTH} levels; kept as plain text")
    if len(fragment) > MAX_ITEM_CHARS:
        fragment = fragment[:MAX_ITEM_CHARS]
        notes.append(f"body longer than {MAX_ITEM_CHARS:,} characters; cut")
    result = (clean_html(fragment), "; ".join(notes))
    _CACHE[key] = result
    if len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


CACHE_SIZE = 4096
_CACHE: OrderedDict[bytes, tuple[str, str]] = OrderedDict()
CACHE_STATS = {"hits": 0, "misses": 0}
