"""One place that turns untrusted HTML into HTML safe to put in an email or page.

Entry bodies can come from feeds written by strangers, so every body goes through
nh3 (the Ammonia sanitizer) with an allow-list, whatever its source.
"""

from __future__ import annotations

import html

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
