"""Entries written as Markdown files with YAML (`---`) or TOML (`+++`) front matter.

Errors name the file and the line, because an editor fixes them in a text editor. A bad
file becomes a Problem and the other files are still read.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from markdown_it import MarkdownIt

from digest.models import Entry
from digest.sources.problems import EntryError, Problem
from digest.sources.sanitize import clean_html, html_to_text
from digest.sources.textfile import read_text

KNOWN_KEYS = {
    "title", "date", "source", "source_name", "language", "themes", "suggested_theme", "guid",
    "highlights",
}  # fmt: skip
DESK_KEYS = {"exclude", "order", "summary"}
"""Keys the editor's desk writes (digest/web/desk.py); read by `_desk_fields`."""
KNOWN_KEYS |= DESK_KEYS
# An entry may be in a language the newsletter is not written in (a German feed item): it
# keeps its own code, and the issue tags it. A code is what BCP 47 starts with.
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False})
_FINDS_HTML = MarkdownIt("commonmark", {"html": True, "linkify": False})
"""Only to find raw HTML in a body: rendering keeps it as text (html off), so that a
`<script>` or an HTML block cannot change how the rest of the Markdown is read."""


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text: PyYAML turns `2025-02-30` into a ValueError
    with no line, while `date` is validated below with its file and line."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_entries(
    folder: Path,
    theme_ids: Iterable[str],
    languages: Iterable[str],
    default_language: str,
    tz: dt.tzinfo | None = None,
) -> tuple[list[Entry], list[Problem]]:
    """Every usable `*.md` entry in `folder`, sorted by file name, and a problem per bad one.

    A date given with a time and an offset counts in `tz` (the newsletter's zone), as a
    feed item's does: 23:30 UTC on a Sunday is Monday morning in Paris, and next week."""
    if not folder.is_dir():
        return [], [Problem("entries-folder", "error", str(folder), 0, "entries folder not found")]
    known_themes, known_languages = set(theme_ids), set(languages)
    entries: list[Entry] = []
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.md")):
        try:
            entries.append(parse_entry(path, known_themes, known_languages, default_language, tz))
        except EntryError as exc:
            problems.append(exc.problem())
    return entries, problems


def parse_entry(
    path: Path,
    theme_ids: set[str],
    languages: set[str],
    default_language: str,
    tz: dt.tzinfo | None = None,
) -> Entry:
    source = read_text(path, "a Markdown entry")
    meta, body, body_line = _split_front_matter(path, source)
    meta.setdefault("language", default_language)
    return _entry_from(path, meta, body, theme_ids, languages, body_line, tz)


def _split_front_matter(path: Path, source: str) -> tuple[dict[str, Any], str, int]:
    """Front matter as a dict, the Markdown body, and the line the body starts on."""
    lines = source.splitlines(keepends=True)
    fence = lines[0].strip() if lines else ""
    if fence not in {"---", "+++"}:
        raise EntryError(path, 1, "missing front matter (start the file with --- or +++)")
    for index in range(1, len(lines)):
        if lines[index].strip() == fence:
            break
    else:
        raise EntryError(path, 1, f"front matter is not closed by {fence}")
    header = "".join(lines[1:index])
    body = "".join(lines[index + 1 :])
    try:
        meta = yaml.load(header, Loader=_YamlLoader) if fence == "---" else tomllib.loads(header)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise EntryError(path, line, f"front matter: {problem}") from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) + 1 if match else 1
        raise EntryError(path, line, f"front matter: {exc}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise EntryError(path, 2, "front matter must be a mapping of keys to values")
    return meta, body, index + 2


def line_of(path: Path, key: str) -> int:
    """The line of `key:` / `key =` in the front matter, for error messages."""
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.match(rf"^\s*{re.escape(key)}\s*[:=]", line):
                return number
    except (OSError, UnicodeDecodeError):
        pass
    return 1


def _entry_from(
    path: Path,
    meta: dict[str, Any],
    body: str,
    theme_ids: set[str],
    languages: set[str],
    body_line: int = 1,
    tz: dt.tzinfo | None = None,
) -> Entry:
    def fail(key: str, message: str) -> EntryError:
        return EntryError(path, line_of(path, key), f"{key}: {message}")

    unknown = sorted(set(meta) - KNOWN_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown front matter key (known: {', '.join(sorted(KNOWN_KEYS))})")
    title = meta.get("title")
    if title is not None and not isinstance(title, str):  # `title: 123`, `title: [1, 2]`
        raise fail("title", f"must be text, got {title!r} (put it in quotes)")
    if not title or not title.strip():
        raise fail("title", "missing or empty")
    if any(c in title for c in "\r\n"):
        raise fail("title", "must be a single line")
    date = _parse_date(meta.get("date"), tz)
    if date is None:
        given = meta.get("date")
        raise EntryError(
            path,
            line_of(path, "date"),
            "date: missing (use YYYY-MM-DD)"
            if given is None
            else f"date: missing or unreadable {given!r} (use YYYY-MM-DD)",
            "entry-date",
        )
    language = meta.get("language")
    if not isinstance(language, str) or not (
        language in languages or _LANGUAGE_CODE.match(language)
    ):
        raise fail(
            "language",
            f"{language!r} is not a language code such as {', '.join(sorted(languages))}",
        )
    source_url = meta.get("source", "") or ""
    if source_url and not _is_http_url(source_url):
        raise fail("source", f"{source_url!r} is not an http(s) URL")
    themes = meta.get("themes", []) or []
    if isinstance(themes, str):
        themes = [themes]
    if not isinstance(themes, list) or not all(isinstance(t, str) for t in themes):
        raise fail("themes", "must be a list of theme ids")
    for theme_id in themes:
        if theme_id not in theme_ids:
            raise fail("themes", f"unknown theme id {theme_id!r}")
    source_name = meta.get("source_name") or host_of(source_url)
    if not isinstance(source_name, str):
        raise fail("source_name", f"must be text, got {source_name!r}")
    source_name = source_name.removeprefix("www.")
    suggested = meta.get("suggested_theme", "") or ""
    if not isinstance(suggested, str):
        raise fail("suggested_theme", "must be a theme id")

    guid = meta.get("guid", "") or ""
    if not isinstance(guid, str):
        raise fail("guid", "must be a string")
    pins, drops = _highlights(meta.get("highlights"), fail)
    body_html = clean_html(_MARKDOWN.render(body))
    return Entry(
        id=path.stem,
        title=" ".join(title.split()),
        date=date,
        language=str(language),
        source_url=source_url,
        source_name=str(source_name),
        body_html=body_html,
        text=html_to_text(body_html),
        themes=tuple(themes),
        path=path,
        guid=guid,
        markdown=body,
        body_line=body_line,
        pins=pins,
        drops=drops,
        **_desk_fields(meta, fail),
    )


def _desk_fields(meta: dict[str, Any], fail: Callable[[str, str], EntryError]) -> dict[str, Any]:
    """`exclude: true`, `order: 2`, `summary: "..."`, as the editor's desk writes them."""
    exclude, order, summary = meta.get("exclude", False), meta.get("order"), meta.get("summary")
    if not isinstance(exclude, bool):
        raise fail("exclude", "must be true or false")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
        raise fail("order", "must be a whole number (lower comes first in its section)")
    if summary is not None and not isinstance(summary, str):
        raise fail("summary", "must be a text")
    return {"exclude": exclude, "order": order, "summary": " ".join((summary or "").split())}


def _highlights(
    value: Any, fail: Callable[[str, str], EntryError]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`highlights: {pin: [...], drop: [...]}`: texts of figures or quotes to force or hide."""
    if value is None:
        return (), ()
    if not isinstance(value, dict) or set(value) - {"pin", "drop"}:
        raise fail("highlights", "must be a mapping with 'pin' and/or 'drop' lists")
    lists: list[tuple[str, ...]] = []
    for key in ("pin", "drop"):
        items = value.get(key, []) or []
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise fail("highlights", f"{key} must be a list of texts")
        lists.append(tuple(" ".join(i.split()) for i in items))
    return lists[0], lists[1]


def raw_html(body: str) -> list[tuple[int, str]]:
    """(line in `body` from 0, tag) of each piece of raw HTML, which readers would see as
    typed; what a code span or block shows on purpose is not raw HTML, and is left out."""
    found: list[tuple[int, str]] = []
    lines = body.splitlines()
    for token in _FINDS_HTML.parse(body):
        if token.type == "html_block" and token.map:
            found.append((token.map[0], token.content.strip().splitlines()[0]))
        elif token.type == "inline" and token.map and token.children:
            first, end = token.map
            for child in token.children:
                if child.type == "html_inline":
                    line = next((i for i in range(first, end) if child.content in lines[i]), first)
                    found.append((line, child.content))
    return found


def render_markdown(body: str) -> str:
    """Sanitized HTML of a Markdown body, exactly as an entry file's body is rendered."""
    return clean_html(_MARKDOWN.render(body))


def entry_file_text(meta: dict[str, Any], body: str) -> str:
    """A Markdown entry file: YAML front matter (quoted safely by the YAML library) and body."""
    header = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{header}---\n{body.rstrip()}\n"


def _parse_date(value: Any, tz: dt.tzinfo | None = None) -> dt.date | None:
    if isinstance(value, str):
        try:  # YAML leaves dates as text; a time with an offset is an instant
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            try:
                return dt.date.fromisoformat(value.strip()[:10])
            except ValueError:
                return None
    if isinstance(value, dt.datetime):
        return (value.astimezone(tz) if value.tzinfo and tz else value).date()
    if isinstance(value, dt.date):
        return value
    return None


def _is_http_url(url: Any) -> bool:
    """An http(s) URL with a host that parses (`http://[::1` raises in urlsplit)."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in {"http", "https"} and bool(parts.hostname)
    except ValueError:
        return False


def host_of(url: str) -> str:
    """The URL's host name, or '' when there is none or the URL does not parse."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""
