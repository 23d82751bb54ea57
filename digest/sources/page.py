"""An HTML article page (saved, or fetched by URL) reduced to its main text and facts.

trafilatura, a maintained extractor, finds the article among navigation, cookie banners,
share bars and footers, and reads the title, date, author and site name from the page's
metadata; this is the only module that imports it. What survives of furniture inside the
article body (a "Share this article" line) is dropped by the pasted-text rules later.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from digest.errors import SourceError
from digest.sources.problems import Problem
from digest.sources.textfile import decode_text

_HTML_LANG = re.compile(
    rb"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)", re.I
)


@dataclass(frozen=True)
class Page:
    title: str
    paragraphs: tuple[str, ...]
    date: dt.date | None
    site_name: str
    language: str
    """As the page declares it (`<html lang>`), or ''."""
    encoding: Problem | None = None
    """The warning that the page, declaring no charset, was not UTF-8 and was read in the
    code page its text points to."""


_DECLARED_CHARSET = re.compile(rb"<meta\b[^>]*\bcharset\s*=", re.I)


def looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:512]


def extract_page(data: bytes, location: str) -> Page:
    """The page's article; SourceError naming `location` when it has no main text."""
    import trafilatura

    url = location if location.startswith(("http://", "https://")) else None
    markup: bytes | str = data
    note = None
    if not _DECLARED_CHARSET.search(data[:4096]) and not _is_utf8(data):
        # trafilatura would guess alone, and read a French page saved from Word as
        # cp1250 (`ŕ l’est`) without a word: the text files' language-aware choice instead
        markup, note = decode_text(data, location)
    document: Any = trafilatura.bare_extraction(
        markup, url=url, with_metadata=True, favor_precision=True, include_tables=False
    )
    if isinstance(document, dict):
        document = SimpleNamespace(**document)
    text = str(getattr(document, "text", "") or "") if document is not None else ""
    if document is None or len(text.strip()) < 40:
        raise SourceError(f"{location}: no main text found in this HTML page")
    title = " ".join(str(document.title or "").split())
    paragraphs = [" ".join(p.split()) for p in text.splitlines() if p.strip()]
    if paragraphs and title and paragraphs[0] == title:
        paragraphs = paragraphs[1:]  # the headline repeated as the article's first line
    date = None
    if document.date:
        try:
            date = dt.date.fromisoformat(str(document.date)[:10])
        except ValueError:
            date = None
    match = _HTML_LANG.search(data[:4096])
    language = match.group(1).decode("ascii") if match else ""
    site = " ".join(str(document.sitename or document.hostname or "").split())
    return Page(title, tuple(paragraphs), date, site.removeprefix("www."), language, note)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
