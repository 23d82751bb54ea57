"""Dates written out in French or English prose ("lundi 2 décembre 2025",
"Tuesday, 2 December 2025", "December 2, 2025"), with the weekday when the text gives one.

Pasted texts take their date from here, and the editorial checks use it to catch a
weekday that contradicts its date. Pure functions.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
WEEKDAYS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5,
    "dimanche": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
}  # fmt: skip
# Abbreviations as press sites print them: "05 Jun. 2025", "5 déc. 2025", "Sept. 4".
ABBREVIATIONS = {
    "jan": 1, "janv": 1, "feb": 2, "fev": 2, "fevr": 2, "mar": 3, "apr": 4, "avr": 4,
    "jun": 6, "jul": 7, "juil": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11,
    "dec": 12,
}  # fmt: skip
_MONTHS = {**MONTHS, **ABBREVIATIONS}
_MONTH = (
    "|".join(sorted(MONTHS, key=len, reverse=True))
    + "|"
    + "|".join(rf"{a}\.?" for a in sorted(ABBREVIATIONS, key=len, reverse=True))
)
_WEEKDAY = "|".join(WEEKDAYS)
# Matched on accent-free, lower-case text of the same length as the original. The year
# may be left out after a weekday ("mardi 2 décembre"): the weekday then fixes the year.
_DAY_FIRST = re.compile(
    rf"\b(?:(?P<wd>{_WEEKDAY}),?\s+(?:the\s+)?)?(?P<day>\d{{1,2}})(?:er|st|nd|rd|th)?"
    rf"\s+(?:of\s+)?(?P<month>{_MONTH})(?:\s+(?P<year>\d{{4}})\b|(?=[\s,.;:)]|$))"
)
_MONTH_FIRST = re.compile(
    rf"\b(?:(?P<wd>{_WEEKDAY}),?\s+)?(?P<month>{_MONTH})\s+(?P<day>\d{{1,2}})"
    rf"(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}})\b|(?=[\s,.;:)]|$))"
)
_ISO = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b")


@dataclass(frozen=True)
class WrittenDate:
    text: str
    """The date as written, e.g. "lundi 2 décembre 2025"."""
    offset: int
    date: dt.date | None
    """None when the day does not exist (31 November)."""
    weekday: int | None
    """The weekday the text names (Monday = 0), or None."""

    @property
    def contradicts(self) -> bool:
        if self.date is None or self.weekday is None:
            return False
        return self.date.weekday() != self.weekday


def _fold(text: str) -> str:
    """Lower-case, accents removed, one character per original character."""
    return "".join(unicodedata.normalize("NFKD", c)[0] if c.isalpha() else c for c in text.lower())


def find_dates(text: str, near: dt.date | None = None, iso: bool = False) -> list[WrittenDate]:
    """Every written-out date in `text` (and ISO date with `iso`), in order.

    ISO dates are opt-in: in an entry body they are mostly parts of URLs and ids, which
    the editorial checks must not read as dates; an imported text's date line may be one.

    A date without a year counts only with a weekday ("mardi 2 décembre") and `near`
    given: it takes the year next to `near` whose calendar has that weekday, else
    `near`'s year (so the weekday check still reports it).
    """
    folded = _fold(text)
    found: dict[int, WrittenDate] = {}
    for pattern in (_DAY_FIRST, _MONTH_FIRST, _ISO) if iso else (_DAY_FIRST, _MONTH_FIRST):
        for match in pattern.finditer(folded):
            if any(w.offset <= match.start() < w.offset + len(w.text) for w in found.values()):
                continue
            weekday = WEEKDAYS[match["wd"]] if "wd" in match.re.groupindex and match["wd"] else None
            month_text = match["month"].rstrip(".")
            month = int(month_text) if month_text.isdigit() else _MONTHS[month_text]
            if match["year"] is not None:
                years = [int(match["year"])]
            elif weekday is not None and near is not None:
                years = [near.year, near.year - 1, near.year + 1]
            else:
                continue
            date = _first_date(years, month, int(match["day"]), weekday)
            found[match.start()] = WrittenDate(
                text[match.start() : match.end()], match.start(), date, weekday
            )
    return [found[k] for k in sorted(found)]


def _first_date(years: list[int], month: int, day: int, weekday: int | None) -> dt.date | None:
    """The date in the first of `years` whose weekday matches; else in the first year."""
    dates = []
    for year in years:
        try:
            dates.append(dt.date(year, month, day))
        except ValueError:
            continue
    matching = [d for d in dates if weekday is None or d.weekday() == weekday]
    if matching:
        return matching[0]
    return dates[0] if dates and dates[0].year == years[0] else None


def parse_written_datetime(text: str) -> dt.datetime | None:
    """A date and time as a feed or page writes it, in any language dateparser knows
    (`Qua, 03 Dez 2025 10:00:00 -0300`, `5 juin 2025`), or None.

    dateparser is imported here only, and only when feedparser could not read the date.
    """
    import dateparser

    try:
        parsed = dateparser.parse(
            text, settings={"STRICT_PARSING": True, "REQUIRE_PARTS": ["day", "month", "year"]}
        )
    except (ValueError, OverflowError):
        return None
    return parsed if isinstance(parsed, dt.datetime) else None


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def weekday_message(mention: WrittenDate) -> str:
    """E.g. "'lundi 2 décembre 2025' says Monday, but 2025-12-02 is a Tuesday"."""
    said = _DAY_NAMES[mention.weekday] if mention.weekday is not None else "?"
    if mention.date is None:
        return f"{mention.text!r} is not a date"
    return (
        f"{mention.text!r} says {said}, but {mention.date.isoformat()} is a "
        f"{_DAY_NAMES[mention.date.weekday()]}"
    )
