"""Render one variant (language x theme set) of an issue: compiled once, filled per reader."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from jinja2 import TemplateError

from digest.assemble import sections_for
from digest.config import NewsletterSettings
from digest.errors import RenderError
from digest.highlights import highlights as find_highlights
from digest.models import Entry, Issue, Section, Variant
from digest.render.colours import DARK_CARD, theme_colours
from digest.render.environment import make_environment
from digest.render.i18n import long_date
from digest.render.mjml import compile_mjml
from digest.render.slots import Skeleton, SlotMarkers, as_text, escape_html

HTML_TEMPLATE = "email/digest.mjml.j2"
TEXT_TEMPLATE = "email/digest.txt.j2"
HTML_WARN_BYTES = 90 * 1024
HTML_MAX_BYTES = 100 * 1024
"""Gmail clips messages past about 102 KB; stop below that."""
WORDS_PER_MINUTE = 200
_SENTENCE_END = re.compile(r"(?<=[.!?…])[»\"”’)]*\s+(?=[«\"“(]?\s*[A-ZÀ-ÖØ-Þ0-9])")


@dataclass(frozen=True)
class CompiledVariant:
    variant: Variant
    subject: str
    preheader: str
    sections: tuple[Section, ...]
    html: Skeleton
    text: Skeleton
    html_bytes: int
    warnings: tuple[str, ...] = ()


def summary(text: str, max_sentences: int = 3, max_chars: int = 360) -> str:
    """Two or three whole sentences of the entry, never cut mid-sentence."""
    first_paragraph = text.split("\n\n")
    flat = " ".join(" ".join(p.split()) for p in first_paragraph)
    sentences = _SENTENCE_END.split(flat)
    chosen: list[str] = []
    for sentence in sentences[:max_sentences]:
        if chosen and len(" ".join([*chosen, sentence])) > max_chars:
            break
        chosen.append(sentence)
    return " ".join(chosen)


def archive_path(issue_key: str, variant: Variant) -> str:
    """Where the archived copy of a variant lives, e.g. `/archive/2025-W49/fr/all` or
    `/archive/2025-W49/en/hybrid+ukraine` (theme ids are lowercase identifiers)."""
    return f"/archive/{issue_key}/{variant.language}/{'+'.join(sorted(variant.themes)) or 'all'}"


def reading_minutes(text: str) -> int:
    return max(1, round(len(text.split()) / WORDS_PER_MINUTE))


def render_variant(
    issue: Issue,
    variant: Variant,
    newsletter: NewsletterSettings,
    templates_dir: Path,
    *,
    archive: bool = False,
    view_online: bool = True,
) -> CompiledVariant:
    """Render and compile one variant; raise RenderError if a guard trips.

    `archive` renders the web copy of the same content: an archive header (issue, date,
    links to the archive and to subscribe) instead of the "view online" link and the
    subscriber footer. `view_online` false leaves the link out (the archive is off).
    """
    sections = sections_for(issue, variant.themes)
    language = variant.language
    slot = SlotMarkers()
    base = newsletter.base_url.rstrip("/")
    locale_dir = templates_dir / "locale"
    # Picked among this reader's sections: a one-theme reader still gets figures, and
    # never one from a section they did not choose.
    picked = find_highlights(replace(issue, sections=sections), language=language)
    figures, quote = list(picked.key_figures), picked.quote
    context = {
        "newsletter": newsletter,
        "key_figures": figures,
        "quote": quote,
        "issue": issue,
        "language": language,
        "sections": sections,
        "entry_count": sum(len(s.entries) for s in sections),
        "issue_date": long_date(issue.start, language, locale_dir),
        "issue_end": long_date(issue.end, language, locale_dir),
        "slot": slot,
        "summary": _summaries(issue),
        "reading_minutes": reading_minutes,
        "long_date": lambda d: long_date(d, language, locale_dir),
        "theme_title": lambda s: s.theme.title(language),
        "foreign": lambda e: _foreign(e, language),
        "theme_colours": {s.theme.id: theme_colours(s.theme.colour) for s in sections},
        "dark_card": DARK_CARD,
        "archive": archive,
        "view_online_url": base + archive_path(issue.key, variant) if view_online else "",
        "archive_url": f"{base}/archive",
        "subscribe_url": f"{base}/subscribe",
    }
    try:
        html_env = make_environment(templates_dir, language, html=True)
        text_env = make_environment(templates_dir, language, html=False)
        subject = _one_line(text_env.get_template("email/subject.txt.j2").render(context))
        preheader = _one_line(text_env.get_template("email/preheader.txt.j2").render(context))
        context |= {"subject": subject, "preheader": preheader}
        mjml_source = html_env.get_template(HTML_TEMPLATE).render(context)
        text = text_env.get_template(TEXT_TEMPLATE).render(context)
    except TemplateError as exc:
        where = getattr(exc, "filename", None) or getattr(exc, "name", None) or "template"
        line = getattr(exc, "lineno", None)
        raise RenderError(f"{where}{f':{line}' if line else ''}: {exc}") from None
    html = compile_mjml(mjml_source)
    if "{{" in html or "{%" in html:
        raise RenderError(f"variant {variant.label}: compiled HTML keeps an unrendered '{{{{'")
    size = len(html.encode("utf-8"))
    if size > HTML_MAX_BYTES:
        raise RenderError(
            f"variant {variant.label}: HTML is {size // 1024} KB, over the 100 KB limit "
            "(Gmail clips at about 102 KB): trim entries or split the issue"
        )
    warnings: tuple[str, ...] = ()
    if size > HTML_WARN_BYTES:
        warnings = (f"variant {variant.label}: HTML is {size // 1024} KB, close to Gmail's clip",)
    return CompiledVariant(
        variant=variant,
        subject=subject,
        preheader=preheader,
        sections=sections,
        html=slot.split(html, escape_html),
        text=slot.split(text, as_text),
        html_bytes=size,
        warnings=warnings,
    )


def _summaries(issue: Issue) -> Callable[[str], str]:
    """`summary(entry.text)` as the templates call it, giving an entry's own front matter
    `summary` when the editor wrote one (looked up by the entry's text)."""
    written = {e.text: e.summary for e in issue.entries if e.summary}
    return lambda text: written.get(text) or summary(text)


def _foreign(entry: Entry, language: str) -> str:
    """The entry's language tag when it differs from the reader's, else ''."""
    return entry.language.upper() if entry.language and entry.language != language else ""


def _one_line(text: str) -> str:
    """Subjects and preheaders: whitespace (and so any CR/LF) collapsed to spaces."""
    return " ".join(text.split())


def parse_variant(label: str, languages: Sequence[str], theme_ids: Sequence[str]) -> Variant:
    """`LANG:THEMES` as printed by Variant.label, e.g. `en:all` or `fr:spending|ukraine`.

    The inverse of Variant.label, so the preview switcher and `--variant` accept what the
    send summary and the outbox show.
    """
    language, _, themes = label.strip().partition(":")
    if language not in languages:
        raise RenderError(
            f"variant {label!r}: language {language!r} is not one of {', '.join(languages)}"
        )
    chosen = frozenset(t for t in themes.split("|") if t and t != "all")
    unknown = sorted(chosen - set(theme_ids))
    if unknown:
        raise RenderError(
            f"variant {label!r}: unknown theme {unknown[0]!r} (known: {', '.join(theme_ids)})"
        )
    if chosen == set(theme_ids):
        chosen = frozenset()
    return Variant(language=language, themes=chosen)
