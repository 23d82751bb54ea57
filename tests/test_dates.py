"""Dates as press texts and feeds really write them, French and English, with the
weekday check kept."""

from __future__ import annotations

import datetime as dt

import pytest

from digest.sources.dates import find_dates, parse_written_datetime
from digest.sources.feed import item_date

NEAR = dt.date(2025, 12, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05 Jun. 2025 -", dt.date(2025, 6, 5)),  # NATO's date line
        ("Last updated: 05 Jun. 2025 21:06", dt.date(2025, 6, 5)),
        ("le 5 juin 2025, à Bruxelles", dt.date(2025, 6, 5)),
        ("June 5, 2025", dt.date(2025, 6, 5)),
        ("Sept. 4, 2025", dt.date(2025, 9, 4)),
        ("5 déc. 2025", dt.date(2025, 12, 5)),
        ("Thursday, 4 December 2025", dt.date(2025, 12, 4)),
        ("lundi 1er décembre 2025", dt.date(2025, 12, 1)),
        ("mardi 2 décembre, les ministres", dt.date(2025, 12, 2)),  # no year: the weekday's
        ("published 2025-06-05", dt.date(2025, 6, 5)),
    ],
)
def test_press_date_formats(text: str, expected: dt.date) -> None:
    (found,) = find_dates(text, NEAR, iso=True)
    assert found.date == expected and not found.contradicts


def test_weekday_check_is_kept() -> None:
    (wrong,) = find_dates("lundi 2 décembre 2025", NEAR)
    assert wrong.contradicts
    (wrong_en,) = find_dates("Friday, Dec. 2, 2025", NEAR)
    assert wrong_en.contradicts and wrong_en.date == dt.date(2025, 12, 2)


def test_iso_dates_only_when_asked() -> None:
    """An entry body's URLs and ids are not dates for the editorial checks."""
    assert find_dates("see https://example.org/2025-13-45/report") == []
    assert find_dates("published 2025-06-05")[:1] == []


def test_no_date_without_year_or_weekday() -> None:
    assert find_dates("the 5 mars meeting", NEAR) == []
    assert find_dates("mardi 2 décembre", None) == []  # no reference: no guess


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("Qua, 03 Dez 2025 10:00:00 -0300", dt.date(2025, 12, 3)),  # Portuguese RFC 822
        ("Mi, 03 Dez 2025 10:00:00 +0100", dt.date(2025, 12, 3)),  # German
        ("mer., 03 déc. 2025 10:00:00 +0100", dt.date(2025, 12, 3)),  # French
        ("3 December 2025 10:00 GMT", dt.date(2025, 12, 3)),
    ],
)
def test_feed_dates_in_other_locales(written: str, day: dt.date) -> None:
    assert item_date({"published": written, "published_parsed": None}, dt.UTC) == day


def test_unreadable_feed_date_is_none() -> None:
    assert parse_written_datetime("sometime soon") is None
    assert item_date({"published": "sometime soon", "published_parsed": None}, dt.UTC) is None
