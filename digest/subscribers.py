"""Reading subscriber CSV files (`email,name,language,themes`) into Subscriber values.

All-or-nothing: every bad row is reported with its line number, and nothing is
returned unless every row is valid, so an import never half-applies.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from digest.errors import SubscriberError
from digest.models import Subscriber

REQUIRED_COLUMNS = ("email",)
MAX_ERRORS_SHOWN = 50


def normalize_address(address: str) -> str:
    """The address as email-validator normalizes it; raises ValueError when invalid."""
    if any(c in address for c in "\r\n"):
        raise ValueError("address contains a line break")
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def parse_themes(value: str, theme_ids: Iterable[str]) -> frozenset[str]:
    known = set(theme_ids)
    themes = frozenset(t.strip() for t in value.split("|") if t.strip())
    unknown = sorted(themes - known)
    if unknown:
        raise ValueError(f"unknown theme id {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return themes


def read_csv(
    path: Path, theme_ids: Iterable[str], languages: Iterable[str], default_language: str
) -> list[Subscriber]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SubscriberError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SubscriberError(f"{path}:{line}: not valid UTF-8 (save the CSV as UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise SubscriberError(f"{path}:1: missing column {missing[0]!r}")
    reader.fieldnames = columns
    known_themes, known_languages = set(theme_ids), set(languages)
    subscribers: list[Subscriber] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        try:
            email = normalize_address(row.get("email") or "")
            key = email.casefold()
            if key in seen:
                raise ValueError(f"duplicate of line {seen[key]}")
            seen[key] = line
            language = (row.get("language") or "").strip() or default_language
            if language not in known_languages:
                raise ValueError(f"language {language!r} is not one of {sorted(known_languages)}")
            themes = parse_themes(row.get("themes") or "", known_themes)
            name = " ".join((row.get("name") or "").split())
        except ValueError as exc:
            errors.append(f"{path}:{line}: {exc}")
            continue
        subscribers.append(Subscriber(email=email, name=name, language=language, themes=themes))
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        if len(errors) > MAX_ERRORS_SHOWN:
            shown.append(f"{path}: ... and {len(errors) - MAX_ERRORS_SHOWN} more bad rows")
        raise SubscriberError("\n".join(shown))
    return subscribers
