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
_MONTH = "|".join(MONTHS)
_WEEKDAY = "|".join(WEEKDAYS)
# Matched on accent-free, lower-case text of the same length as the original.
_DAY_FIRST = re.compile(
    rf"\b(?:(?P<wd>{_WEEKDAY}),?\s+(?:the\s+)?)?(?P<day>\d{{1,2}})(?:er|st|nd|rd|th)?"
    rf"\s+(?:of\s+)?(?P<month>{_MONTH})\s+(?P<year>\d{{4}})\b"
)
_MONTH_FIRST = re.compile(
    rf"\b(?:(?P<wd>{_WEEKDAY}),?\s+)?(?P<month>{_MONTH})\s+(?P<day>\d{{1,2}})"
    rf"(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b"
)


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


def find_dates(text: str) -> list[WrittenDate]:
    """Every written-out date in `text`, in order."""
    folded = _fold(text)
    found: dict[int, WrittenDate] = {}
    for pattern in (_DAY_FIRST, _MONTH_FIRST):
        for match in pattern.finditer(folded):
            if any(w.offset <= match.start() < w.offset + len(w.text) for w in found.values()):
                continue
            try:
                date: dt.date | None = dt.date(
                    int(match["year"]), MONTHS[match["month"]], int(match["day"])
                )
            except ValueError:
                date = None
            weekday = WEEKDAYS[match["wd"]] if match["wd"] else None
            found[match.start()] = WrittenDate(
                text[match.start() : match.end()], match.start(), date, weekday
            )
    return [found[k] for k in sorted(found)]


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
