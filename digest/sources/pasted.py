"""Pasted press texts: a lead paragraph, then short heading lines, each followed by its
paragraphs, "- " bullet lists and « quotes », turned into one Markdown body per section.

Text copied out of a web page or a document carries debris of broken markup (a dangling
image tail such as `%20(1).png)`, a lone `![`, stray tags). Such lines are removed and
reported, never published. Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

    def markdown(self) -> str:
        """The section's body as Markdown: paragraphs, grouped bullets, quotes as blockquotes."""
        blocks: list[str] = []
        for _, text in self.paragraphs:
            bullet = _BULLET_RE.match(text)
            if bullet:
                item = "- " + escape_markdown(text[bullet.end() :])
                if blocks and blocks[-1].startswith("- "):
                    blocks[-1] += "\n" + item
                else:
                    blocks.append(item)
            elif _is_quote(text):
                blocks.append("> " + escape_markdown(text))
            else:
                blocks.append(escape_markdown(text))
        return "\n\n".join(blocks) + "\n"


@dataclass(frozen=True)
class PastedText:
    lead: tuple[int, str] | None
    """(line, text) of the lead paragraph, before the first heading."""
    sections: tuple[PastedSection, ...]
    dates: tuple[tuple[int, WrittenDate], ...]
    """(line, date) of each date written in the text."""
    removed: tuple[Problem, ...]
    """Debris lines removed, as warnings naming the file and line."""


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


def parse_pasted(text: str, path: str) -> PastedText:
    """Split a pasted text into its lead and sections; report and drop debris lines."""
    removed: list[Problem] = []
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if is_debris(line):
            removed.append(
                Problem("pasted-debris", "warning", path, number, f"removed leftover {line!r}")
            )
            continue
        lines.append((number, line))
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
    dates = tuple((number, d) for number, line in lines for d in find_dates(line))
    return PastedText(lead, tuple(sections), dates, tuple(removed))
