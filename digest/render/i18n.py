"""Message catalogs and localized dates.

Catalogs are gettext `.po` files under `templates/locale/<lang>/LC_MESSAGES/`, read with
babel and compiled in memory, so adding a language means adding a catalog and no build
step. Source strings are English, so English needs no catalog.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
import re
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from digest.errors import RenderError

DOMAIN = "messages"
READER = "reader"
"""The greeting's name for a subscriber who gave none; translated by each catalog."""
CODE_MESSAGES = (READER,)
_SOURCE_LANGUAGE = gettext.NullTranslations()
"""Shared, so a language without a catalog (English) reuses one cached environment."""
"""Messages translated from code rather than from templates (the catalog test reads it)."""


def translations(locale_dir: Path, language: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    """The language's catalog; re-read when the file changes, so the preview sees edits.

    `domain` "messages" holds the email templates' strings, "web" the web pages'.
    """
    po = locale_dir / language / "LC_MESSAGES" / f"{domain}.po"
    try:
        mtime = po.stat().st_mtime_ns
    except OSError:
        return _SOURCE_LANGUAGE
    return _load(po, language, mtime)


@cache
def _load(po: Path, language: str, mtime: int) -> gettext.NullTranslations:
    try:
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=language)
    except (OSError, ValueError, UnknownLocaleError) as exc:
        raise RenderError(f"{po}: cannot read catalog: {exc}") from None
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


ORDINAL_DAY = "ordinal day"
"""Context of the catalog entry that writes an ordinal day of CLDR category "one"
(French: `%(day)ser`, "1er décembre"). A language without it writes the bare number."""
_DAY = re.compile(r"(?<![0-9])([0-9]{1,2})(?![0-9])")


def long_date(day: dt.date, language: str, locale_dir: Path | None) -> str:
    """E.g. '1er décembre 2025' / 'December 1, 2025'.

    Babel gives the long date and the day's CLDR ordinal category; where the language's
    catalog (`messages`, context "ordinal day") writes that category as an ordinal, the
    day number becomes one. No CLDR date pattern carries ordinals.
    """
    locale = _locale(language)
    text = format_date(day, format="long", locale=locale)
    if locale_dir is None or locale.ordinal_form(day.day) != "one":
        return text
    pattern = translations(locale_dir, language).pgettext(ORDINAL_DAY, "%(day)s")
    if pattern == "%(day)s":
        return text
    return _DAY.sub(lambda m: pattern % {"day": m.group(1)}, text, count=1)


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        raise RenderError(f"unknown language {language!r}") from None


def language_name(language: str) -> str:
    """A language's name as its speakers write it, for menus: "Français", "English"."""
    try:
        name = Locale.parse(language).get_display_name(language) or language
    except (UnknownLocaleError, ValueError):
        return language
    return name[:1].upper() + name[1:]


def reader_name(locale_dir: Path, language: str) -> str:
    return translations(locale_dir, language).gettext(READER)
