"""Pasted press texts: a lead paragraph, then short heading lines, each followed by its
paragraphs, "- " bullet lists and « quotes », turned into one Markdown body per section.

Text copied out of a web page or a document carries debris of broken markup (a dangling
image tail such as `%20(1).png)`, a lone `![`, stray tags). Such lines are removed and
reported, never published. Pure functions.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from digest.sources.dates import WrittenDate, find_dates
from digest.sources.problems import Problem

MAX_HEADING_CHARS = 90
_BULLET_RE = re.compile(r"^\s*[-–•*]\s+")
_IMAGE_EXT = r"(?:png|jpe?g|gif|webp|svg|bmp|tiff?)"
_DEBRIS = (
    re.compile(rf"^\S*\.{_IMAGE_EXT}\)?\]?$", re.IGNORECASE),  # dangling image file tail
    re.compile(r"^!\[[^\]]*\](?:\(.*)?$"),  # a Markdown image: never shown in the email
    re.compile(r"^!?\[[^\]]*$"),  # an unclosed bracket
    re.compile(r"^</?[a-zA-Z][^>]*>$"),  # a stray HTML tag on its own line
    re.compile(r"^\S*%[0-9A-Fa-f]{2}\S*$"),  # a URL-encoded fragment with no words
    re.compile(r"^[\W_]+$"),  # punctuation only: ")", "]]", "-->"
)
# Characters that Markdown would read as markup in plain prose.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


@dataclass(frozen=True)
class PastedSection:
    title: str
    line: int
    """Line of the heading in the pasted file."""
    paragraphs: tuple[tuple[int, str], ...]
    """(line, text) of each paragraph, bullet or quote line, as pasted."""
    markdown_source: bool = False
    """The paragraphs are Markdown already (a Markdown text): kept, not escaped."""

    def markdown(self) -> str:
        """The section's body as Markdown: paragraphs, grouped bullets and numbered items,
        quotes as blockquotes."""
        if self.markdown_source:
            return "\n\n".join(text for _, text in self.paragraphs) + "\n"
        blocks: list[str] = []
        for _, text in self.paragraphs:
            bullet = _BULLET_RE.match(text)
            numbered = _NUMBERED_RE.match(text)
            marker = bullet or numbered
            if marker is not None:
                prefix = "- " if bullet else f"{marker[1]}. "
                item = prefix + escape_markdown(text[marker.end() :])
                if blocks and re.match(r"^(- |\d+\. )", blocks[-1]):
                    blocks[-1] += "\n" + item
                else:
                    blocks.append(item)
            elif _is_quote(text):
                blocks.append("> " + escape_markdown(text))
            else:
                blocks.append(escape_markdown(text))
        return "\n\n".join(blocks) + "\n"


Shape = Literal["briefing", "article", "markdown", "numbered list"]


@dataclass(frozen=True)
class PastedText:
    lead: tuple[int, str] | None
    """(line, text) of the lead paragraph, before the first heading."""
    sections: tuple[PastedSection, ...]
    dates: tuple[tuple[int, WrittenDate], ...]
    """(line, date) of each date written in the text, datelines first."""
    removed: tuple[Problem, ...]
    """Debris and furniture lines removed, as warnings naming the file and line."""
    shape: Shape = "briefing"


def escape_markdown(text: str) -> str:
    """Plain prose as Markdown that renders as the same text, on one line."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    escaped = re.sub(r"^(\d+)([.)])(?=\s)", r"\1\\\2", escaped)  # "1. " would start a list
    return re.sub(r"^([+-])(?=\s)", r"\\\1", escaped)


def _is_quote(text: str) -> bool:
    stripped = text.strip()
    return (stripped.startswith("«") and stripped.endswith("»")) or (
        stripped[:1] in {"“", '"'} and stripped[-1:] in {"”", '"'}
    )


def is_debris(line: str) -> bool:
    """A line that is leftover markup rather than prose."""
    stripped = line.strip()
    return bool(stripped) and any(p.match(stripped) for p in _DEBRIS)


def _is_heading(line: str, next_line: str | None) -> bool:
    """Short, unpunctuated at the end, not a bullet or quote, and followed by text."""
    text = line.strip()
    if not text or len(text) > MAX_HEADING_CHARS or next_line is None:
        return False
    if _BULLET_RE.match(text) or _is_quote(text) or text[-1] in '.:;,!?»"”…)':
        return False
    return bool(re.search(r"[^\W\d_]{2}", text))


_FOLD = str.maketrans("àâäéèêëîïôöùûüçœ’", "aaaeeeeiioouuuco'")
# Each rule is narrow on purpose: a news sentence may start with "Updated", "Share" or
# "Photos", so a line is furniture only when it is nothing else (an update line carries a
# date or time, a share bar is only share words, a cookie notice speaks to the reader).
_FURNITURE: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("update line", re.compile(
        r"^(last updated|updated|last modified|mis a jour|derniere mise a jour|modifie le|"
        r"publie le|published|posted)\b.*(\d{4}|\d{1,2}[:h]\d{2})"), 120),
    ("byline", re.compile(r"^(?:[Bb]y|BY|[Pp]ar|PAR)\s+[A-Z][\w'.-]+(\s+[A-Z][\w'.-]+){0,3}"
                          r"(\s*(,|and|et|&)\s*[A-Z][\w'.-]+(\s+[A-Z][\w'.-]+){0,3})*\s*$"), 80),
    ("subscribe line", re.compile(
        r"^(subscribe|s'abonner|abonnez-vous|sign up|inscrivez-vous|follow us|suivez-nous|"
        r"read more|lire aussi|a lire aussi|lire la suite|related articles|see also|"
        r"voir aussi)\b"), 150),
    ("cookie notice", re.compile(
        r"\b(we use cookies|this (web)?site uses cookies|nous utilisons des cookies|"
        r"ce site utilise des cookies|accept (all )?cookies|accepter (les |tous les )?cookies|"
        r"cookie (settings|preferences|policy)|(politique|parametres) (de |des )?cookies)\b"),
     400),
    ("image credit", re.compile(
        r"^(photo|photos|image|credit|credits|illustration|picture)\s*(:|©|/|by\b)|"
        r"^(©|\(c\)\s)|\b(afp|reuters|getty images|ap) ?photo\b|/ ?(afp|reuters|getty images)$"),
     150),
)  # fmt: skip
_SHARE_WORDS = {
    "share", "partager", "partagez", "this", "cet", "cette", "article", "page", "story", "on",
    "sur", "facebook", "twitter", "x", "linkedin", "whatsapp", "email", "e-mail", "mail",
    "print", "imprimer", "copy", "link", "copier", "le", "lien", "tweet", "reddit",
    "telegram", "bluesky", "mastodon", "envoyer", "par", "via",
}  # fmt: skip
_SHARE_VERBS_AND_SITES = _SHARE_WORDS - {"this", "cet", "cette", "article", "page", "story",
                                         "on", "sur", "le", "par", "via"}  # fmt: skip
# Openings of a speech transcript, cut from the start of a line: the summary must start
# with what was said, not with "(As delivered) Good afternoon."
_OPENINGS = re.compile(
    r"^(\((as delivered|check against delivery|seul le prononce fait foi|"
    r"seul le texte prononce fait foi|verifier au prononce)\)|"
    r"(good (morning|afternoon|evening)|bonjour|bonsoir)\b[^.!?]{0,40}[.!])\s*",
    re.IGNORECASE,
)


def furniture_kind(line: str) -> str | None:
    """What kind of page furniture the line is ('byline', 'share line'...), or None."""
    folded = line.strip().lower().translate(_FOLD)
    words = set(re.findall(r"[\w'-]+", folded))
    if 0 < len(words) <= 8 and words <= _SHARE_WORDS and words & _SHARE_VERBS_AND_SITES:
        return "share line"
    for kind, pattern, longest in _FURNITURE:
        if len(folded) <= longest and pattern.search(folded if kind != "byline" else line.strip()):
            return kind
    dates = find_dates(line, iso=True)
    if dates:
        rest = line
        for found in dates:
            rest = rest.replace(found.text, " ")
        if not re.search(r"[^\W\d_]{2}", rest):
            return "lone date"
    return None


def parse_pasted(text: str, path: str, near: dt.date | None = None) -> PastedText:
    """Split a pasted text into its lead and sections, deciding its shape; report and drop
    debris and furniture lines.

    Shapes: Markdown (`#` headings), a numbered list of topics, a structured briefing
    (a lead, then at least two sections under short heading lines), else one article
    whose first line is the headline, whatever its length or final punctuation.
    """
    removed: list[Problem] = []
    lines: list[tuple[int, str]] = []
    datelines: list[tuple[int, WrittenDate]] = []
    markdown = any(_MD_HEADING.match(raw) for raw in text.splitlines())
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if is_debris(line) and not (markdown and _MD_LIST.match(line)):
            removed.append(
                Problem("pasted-debris", "warning", path, number, f"removed leftover {line!r}")
            )
            continue
        while opening := _OPENINGS.match(line.lower().translate(_FOLD)):
            said = line[: opening.end()].strip()
            removed.append(
                Problem("pasted-furniture", "warning", path, number, f"removed opening {said!r}")
            )
            line = line[opening.end() :].strip()
        if not line:
            continue
        kind = furniture_kind(line)
        if kind is not None:
            if kind == "lone date":
                datelines.extend((number, d) for d in find_dates(line, near, iso=True))
            removed.append(Problem("pasted-furniture", "warning", path, number,
                                   f"removed {kind} {line!r}"))  # fmt: skip
            continue
        lines.append((number, line))
    dates = tuple(datelines) + tuple(
        (number, d) for number, line in lines for d in find_dates(line, near)
    )
    if markdown:
        lead, sections = _markdown_sections(lines)
        shape: Shape = "markdown"
    else:
        lead, sections = _heading_sections(lines)
        shape = "briefing"
        one_section = (lead, sections) if len(sections) == 1 and lead is not None else None
        if sum(bool(_NUMBERED_RE.match(s.title)) for s in sections) >= 2:
            lead, sections = _numbered_headings(lead, sections)
            shape = "numbered list"
        if len(sections) < 2:
            lead, sections = _numbered_sections(lines)
            shape = "numbered list"
        if len(sections) < 2 and one_section is not None and not is_headline(lines[0][1]):
            (lead, sections), shape = one_section, "briefing"  # a lead, then one section
        elif len(sections) < 2 and lines:
            lead, sections = None, [_article(lines)]
            shape = "article"
    return PastedText(lead, tuple(sections), dates, tuple(removed), shape)


def _heading_sections(
    lines: list[tuple[int, str]],
) -> tuple[tuple[int, str] | None, list[PastedSection]]:
    """The structured briefing: a lead, then sections under short heading lines."""
    lead: tuple[int, str] | None = None
    sections: list[PastedSection] = []
    current: tuple[str, int, list[tuple[int, str]]] | None = None
    for index, (number, line) in enumerate(lines):
        following = lines[index + 1][1] if index + 1 < len(lines) else None
        if _is_heading(line, following):
            if current is not None:
                sections.append(PastedSection(current[0], current[1], tuple(current[2])))
            current = (line, number, [])
        elif current is None:
            lead = (number, line) if lead is None else (lead[0], f"{lead[1]}\n\n{line}")
        else:
            current[2].append((number, line))
    if current is not None:
        sections.append(PastedSection(current[0], current[1], tuple(current[2])))
    return lead, sections


def _numbered_headings(
    lead: tuple[int, str] | None, sections: list[PastedSection]
) -> tuple[tuple[int, str] | None, list[PastedSection]]:
    """Numbered heading lines are the topics: a short unnumbered line above them (the
    briefing's own title) joins the lead, one below them joins the topic before it."""
    topics: list[PastedSection] = []
    for section in sections:
        number = _NUMBERED_RE.match(section.title)
        if number:
            topics.append(replace(section, title=section.title[number.end() :].strip()))
            continue
        lines = ((section.line, section.title), *section.paragraphs)
        if topics:
            last = topics[-1]
            topics[-1] = replace(last, paragraphs=last.paragraphs + tuple(lines))
        else:
            text = "\n\n".join(t for _, t in lines)
            lead = (section.line, f"{lead[1]}\n\n{text}" if lead else text)
    return lead, topics


def _numbered_sections(
    lines: list[tuple[int, str]],
) -> tuple[tuple[int, str] | None, list[PastedSection]]:
    """Topics numbered `1.`/`1)`: each number opens a section; its title is the item's
    text when short, else its first sentence, the rest then opens the body."""
    numbered = [i for i, (_, line) in enumerate(lines) if _NUMBERED_RE.match(line)]
    if len(numbered) < 2:
        return None, []
    lead_lines = lines[: numbered[0]]
    lead = (lead_lines[0][0], "\n\n".join(t for _, t in lead_lines)) if lead_lines else None
    sections: list[PastedSection] = []
    bounds = [*numbered, len(lines)]
    for start, end in itertools.pairwise(bounds):
        number, line = lines[start]
        item = line[_NUMBERED_RE.match(line).end() :].strip()  # type: ignore[union-attr]
        title, rest = item, ""
        if len(item) > MAX_HEADING_CHARS or item[-1:] in ".;":
            head = re.match(r"^(.{8,}?[^\s.][.:!?])\s+(\S.*)$", item)
            if head and len(head[1]) <= 2 * MAX_HEADING_CHARS:
                title, rest = head[1].rstrip(".:"), head[2]
        body = ([(number, rest)] if rest else []) + lines[start + 1 : end]
        sections.append(PastedSection(title, number, tuple(body)))
    return lead, sections


MAX_HEADLINE_CHARS = 250


def is_headline(text: str) -> bool:
    """Could be an article's headline: any length up to a long one, any final punctuation
    but the end of a sentence of prose (a period, a colon, a comma)."""
    stripped = text.strip()
    return 0 < len(stripped) <= MAX_HEADLINE_CHARS and stripped[-1] not in ".;:,…"


def _article(lines: list[tuple[int, str]]) -> PastedSection:
    """One article: the first line is its headline, the rest its body. A text that starts
    with a paragraph instead takes its first sentence as the title and keeps the rest."""
    (number, first), body = lines[0], lines[1:]
    if is_headline(first) or len(first) <= MAX_HEADING_CHARS:
        return PastedSection(first, number, tuple(body))
    sentence = re.match(r"^(.{20,200}?[.!?])\s+(\S.*)$", first)
    if sentence is None:
        return PastedSection(first, number, tuple(body))
    return PastedSection(sentence[1], number, ((number, sentence[2]), *body))


def _markdown_sections(
    lines: list[tuple[int, str]],
) -> tuple[tuple[int, str] | None, list[PastedSection]]:
    """Sections under the text's section headings (`##` when the text has any, else `#`);
    a lone `#` title above `##` sections is the document's title, not a section."""
    levels = [len(m[1]) for _, line in lines if (m := _MD_HEADING.match(line))]
    top = min(levels)
    level = top + 1 if levels.count(top) == 1 and any(lv > top for lv in levels) else top
    lead_parts: list[tuple[int, str]] = []
    sections: list[PastedSection] = []
    current: tuple[str, int, list[tuple[int, str]]] | None = None
    for number, line in lines:
        match = _MD_HEADING.match(line)
        if match and len(match[1]) == level:
            if current is not None:
                sections.append(PastedSection(current[0], current[1], tuple(current[2]), True))
            current = (markdown_title(match[2]), number, [])
        elif match and len(match[1]) < level:
            continue  # the document's title
        elif current is None:
            lead_parts.append((number, line))
        else:
            current[2].append((number, line if not match else f"**{match[2].strip()}**"))
    if current is not None:
        sections.append(PastedSection(current[0], current[1], tuple(current[2]), True))
    sections = [replace(s, paragraphs=_blocks(s.paragraphs)) for s in sections]
    lead = None
    if lead_parts:
        lead = (lead_parts[0][0], "\n\n".join(_plain(t) for _, t in _blocks(lead_parts)))
    return lead, sections


def _blocks(lines: Iterable[tuple[int, str]]) -> tuple[tuple[int, str], ...]:
    """Markdown lines back into blocks: lines that followed each other in the file (a
    hard-wrapped paragraph, a list) stay one block; a blank line starts the next."""
    blocks: list[tuple[int, str]] = []
    previous = -1
    for number, line in lines:
        if blocks and number == previous + 1 and not line.startswith("**"):
            blocks[-1] = (blocks[-1][0], f"{blocks[-1][1]}\n{line}")
        else:
            blocks.append((number, line))
        previous = number
    return tuple(blocks)


def markdown_title(text: str) -> str:
    """A Markdown heading's text without markup: `**Ukraine**: [aid](u)` -> `Ukraine: aid`."""
    plain = _MD_LINK.sub(r"\1", text)
    plain = re.sub(r"(\*\*|__|\*|_|`)(.+?)\1", r"\2", plain)
    return " ".join(plain.strip().rstrip("#").split())


def _plain(text: str) -> str:
    return markdown_title(_MD_LIST.sub("", text))


_NUMBERED_RE = re.compile(r"^\s*(\d{1,2})[.)]\s+")
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*$")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,2}[.)])\s+")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
