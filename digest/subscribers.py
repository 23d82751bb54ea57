"""Subscriber CSV files in and out: our format, and the exports of listmonk and Mailchimp.

Reading is all-or-nothing by default: every bad row is reported with its line number
and the caller gets no records to apply, so an import never half-applies. The format
is recognised from the header row; columns we have no field for become attributes, so
nothing in the source file is silently dropped.

Our format (what `export` writes and `import` reads back unchanged):
    email,name,language,themes,status,created_at,confirmed_at,unsubscribed_at,
    consent_source,attributes
Only `email` is required; `themes` holds theme ids separated by `|` (empty: all).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import email_validator
from email_validator import EmailNotValidError, validate_email

from digest.errors import SubscriberError
from digest.models import Subscriber
from digest.store import STATUSES, SubscriberRecord

MAX_ERRORS_SHOWN = 50
EXPORT_COLUMNS = (
    "email", "name", "language", "themes", "status", "created_at", "confirmed_at",
    "unsubscribed_at", "consent_source", "attributes",
)  # fmt: skip
FORMATS = ("auto", "digest", "listmonk", "mailchimp")

# listmonk's subscriber export: uuid,email,name,attributes,status,created_at,updated_at
# (its import takes email,name,attributes). Status enabled|disabled|blocklisted.
_LISTMONK_STATUS = {"enabled": "active", "disabled": "unsubscribed", "blocklisted": "unsubscribed"}
# Mailchimp's audience export: one CSV per status (subscribed, unsubscribed, cleaned);
# the status shows in which of UNSUB_TIME / CLEAN_TIME is filled.
_MAILCHIMP_KNOWN = {
    "email address", "first name", "last name", "optin_time", "confirm_time",
    "unsub_time", "clean_time", "language",
}  # fmt: skip


@dataclass(frozen=True)
class Vocabulary:
    """What a row may name: the configured themes and languages."""

    theme_ids: frozenset[str]
    languages: tuple[str, ...]
    default_language: str
    special_use_domains: bool = False
    """Accept addresses at special-use domains ([delivery] special_use_domains)."""


@dataclass(frozen=True)
class ParsedCsv:
    kind: str
    records: tuple[SubscriberRecord, ...]
    errors: tuple[str, ...]
    """One `path:line: reason` per bad row, in file order."""

    def raise_errors(self) -> None:
        if not self.errors:
            return
        shown = list(self.errors[:MAX_ERRORS_SHOWN])
        if len(self.errors) > MAX_ERRORS_SHOWN:
            shown.append(f"... and {len(self.errors) - MAX_ERRORS_SHOWN} more bad rows")
        shown.append(
            f"{len(self.errors)} bad row(s): nothing imported (--skip-invalid imports the rest)"
        )
        raise SubscriberError("\n".join(shown))


NEVER_DELIVERABLE = ("arpa", "invalid", "onion")
"""Special-use names refused even with [delivery] special_use_domains: no mail server
answers for them on any network."""
_SPECIAL_USE_LOCK = threading.Lock()


def normalize_address(address: str, special_use: bool = False) -> str:
    """The address as email-validator normalizes it, in ASCII (an internationalized
    domain as IDNA): the mailer does not use SMTPUTF8, so a non-ASCII local part is
    refused here rather than failing a send. Raises ValueError when invalid.

    Special-use and reserved domains (`.test`, `.local`, `.localhost`, ...) are refused,
    as email-validator does by default, unless `special_use` ([delivery]
    special_use_domains, for lab and intranet lists). email-validator reads its module
    list SPECIAL_USE_DOMAIN_NAMES on each call (its documented knob), so the list is
    swapped for the call under a lock, never left changed for other callers.
    """
    if any(c in address for c in "\r\n"):
        raise ValueError("address contains a line break")
    if not address.strip():
        raise ValueError("address is empty")
    try:
        with _SPECIAL_USE_LOCK:
            default = email_validator.SPECIAL_USE_DOMAIN_NAMES
            if special_use:
                email_validator.SPECIAL_USE_DOMAIN_NAMES = [
                    d for d in default if d in NEVER_DELIVERABLE
                ]
            try:
                valid = validate_email(
                    address.strip(), check_deliverability=False, allow_smtputf8=False,
                    test_environment=special_use,
                )  # fmt: skip
            finally:
                email_validator.SPECIAL_USE_DOMAIN_NAMES = default
        return valid.ascii_email or valid.normalized
    except EmailNotValidError as exc:
        hint = "" if special_use or "special-use" not in str(exc) else (
            " (set [delivery] special_use_domains = true to accept lab and intranet domains)"
        )  # fmt: skip
        raise ValueError(f"invalid address {address.strip()!r}: {exc}{hint}") from None


def parse_themes(value: str, theme_ids: Iterable[str]) -> frozenset[str]:
    known = set(theme_ids)
    themes = frozenset(t.strip() for t in value.split("|") if t.strip())
    unknown = sorted(themes - known)
    if unknown:
        raise ValueError(f"unknown theme id {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return themes


def check_language(value: str, vocabulary: Vocabulary) -> str:
    language = value.strip() or vocabulary.default_language
    if language not in vocabulary.languages:
        raise ValueError(f"language {language!r} is not one of {list(vocabulary.languages)}")
    return language


def parse_csv(path: Path, vocabulary: Vocabulary, kind: str = "auto") -> ParsedCsv:
    """Read and check every row; raise SubscriberError only for file-level faults."""
    text = _read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [c.strip() for c in reader.fieldnames or []]
    lowered = [c.lower() for c in header]
    if kind == "auto":
        kind = _detect(lowered)
    required = "email address" if kind == "mailchimp" else "email"
    if required not in lowered:
        raise SubscriberError(f"{path}:1: missing column {required!r} (header: {','.join(header)})")
    reader.fieldnames = lowered
    row_to_record = _ROW_READERS[kind]
    given = _given(kind, lowered)
    records: list[SubscriberRecord] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for row in _rows(reader, path):
        line = reader.line_num
        if None in row:
            errors.append(f"{path}:{line}: more fields than the header has columns")
            continue
        values = {k: (v or "") for k, v in row.items()}
        if kind == "digest":
            values = {k: _restore(v) for k, v in values.items()}
        try:
            record = dataclasses.replace(row_to_record(values, vocabulary), given=given)
            key = record.subscriber.email.casefold()
            if key in seen:
                raise ValueError(f"duplicate of line {seen[key]} ({record.subscriber.email})")
            seen[key] = line
        except ValueError as exc:
            errors.append(f"{path}:{line}: {exc}")
            continue
        records.append(record)
    return ParsedCsv(kind, tuple(records), tuple(errors))


def _rows(reader: csv.DictReader[str], path: Path) -> Iterator[dict[str, str]]:
    """The reader's rows; a row the csv module cannot read (a field over its 128 KB
    limit, a NUL byte) is a SubscriberError naming the line, not a traceback."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            where = f"{path}:{reader.line_num + 1}"  # the line being read when it failed
            raise SubscriberError(f"{where}: cannot read this row: {exc}") from None
        yield row


def read_csv(
    path: Path, theme_ids: Iterable[str], languages: Iterable[str], default_language: str
) -> list[Subscriber]:
    """Our CSV as plain Subscriber values; SubscriberError listing every bad row."""
    vocabulary = Vocabulary(frozenset(theme_ids), tuple(languages), default_language)
    parsed = parse_csv(path, vocabulary, "digest")
    parsed.raise_errors()
    return [r.subscriber for r in parsed.records]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet run a cell as a formula (OWASP "CSV injection")."""


def _defuse(value: str) -> str:
    """A cell a spreadsheet shows as text: names and addresses come from the public form."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _restore(value: str) -> str:
    """Undo `_defuse` on import, so export then import gives the same values back."""
    return value[1:] if value.startswith("'") and value[1:].startswith(_FORMULA_START) else value


def export_csv(records: Iterable[SubscriberRecord]) -> str:
    """Our format, UTF-8 text that `parse_csv` reads back into the same records. A cell
    that a spreadsheet would run as a formula is written with a leading `'`."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for rec in records:
        sub = rec.subscriber
        writer.writerow(
            _defuse(cell) for cell in
            [sub.email, sub.name, sub.language, "|".join(sorted(sub.themes)),
             rec.status or sub.status, rec.created_at or "", rec.confirmed_at or "",
             rec.unsubscribed_at or "", rec.consent_source,
             json.dumps(rec.attributes, ensure_ascii=False, sort_keys=True)
             if rec.attributes else ""]
        )  # fmt: skip
    return out.getvalue()


def record_data(record: SubscriberRecord) -> dict[str, Any]:
    """A subscriber as JSON-ready data: `show --json`, `list --json`, the data download."""
    sub = record.subscriber
    return {
        "id": sub.id,
        "email": sub.email,
        "name": sub.name,
        "language": sub.language,
        "themes": sorted(sub.themes),
        "status": record.status or sub.status,
        "created_at": record.created_at,
        "confirmed_at": record.confirmed_at,
        "unsubscribed_at": record.unsubscribed_at,
        "consent_source": record.consent_source,
        "attributes": record.attributes,
    }


# -- formats -----------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SubscriberError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    bad = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(f"{path}:{number}: not valid UTF-8 (save the CSV as UTF-8)")
    raise SubscriberError("\n".join(bad[:MAX_ERRORS_SHOWN]))


def _given(kind: str, columns: Sequence[str]) -> frozenset[str]:
    """The preference fields a file of this header actually carries."""
    if kind == "digest":
        return frozenset(c for c in ("name", "language", "themes") if c in columns)
    given = {"name"}
    if kind == "mailchimp" and "language" in columns:
        given.add("language")
    return frozenset(given)


def _detect(columns: Sequence[str]) -> str:
    if "email address" in columns:
        return "mailchimp"
    if "uuid" in columns or (
        "attributes" in columns and "language" not in columns and "themes" not in columns
    ):
        return "listmonk"
    return "digest"


def _timestamp(field: str, value: str) -> str | None:
    """ISO 8601 in UTC, from ISO or the `YYYY-MM-DD HH:MM:SS` the other tools write."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field}: not a date and time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="seconds")


def _name(value: str) -> str:
    return " ".join(value.split())


def _extras(row: dict[str, str], known: Iterable[str]) -> dict[str, Any]:
    skip = set(known)
    return {k: v for k, v in row.items() if k not in skip and v.strip()}


def _json_attributes(value: str) -> dict[str, Any]:
    if not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"attributes: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise ValueError(f"attributes: nested more than {MAX_ATTRIBUTE_DEPTH} levels") from None
    if not isinstance(parsed, dict):
        raise ValueError("attributes: must be a JSON object")
    if _depth(parsed) > MAX_ATTRIBUTE_DEPTH:
        raise ValueError(f"attributes: nested more than {MAX_ATTRIBUTE_DEPTH} levels")
    return parsed


MAX_ATTRIBUTE_DEPTH = 32
"""Attributes are a few labels, not documents: a deep nesting only makes json and the
exports recurse (5,000 levels raised RecursionError)."""


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (iterative: no recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level > MAX_ATTRIBUTE_DEPTH:
                break
            stack.extend((child, level + 1) for child in item)
    return deepest


def _digest_row(row: dict[str, str], vocabulary: Vocabulary) -> SubscriberRecord:
    email = normalize_address(row.get("email", ""), vocabulary.special_use_domains)
    language = check_language(row.get("language", ""), vocabulary)
    themes = parse_themes(row.get("themes", ""), vocabulary.theme_ids)
    status = row.get("status", "").strip() or None
    if status is not None and status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {list(STATUSES)}")
    attributes = _json_attributes(row.get("attributes", ""))
    attributes |= _extras(row, EXPORT_COLUMNS)
    return SubscriberRecord(
        subscriber=Subscriber(email, _name(row.get("name", "")), language, themes),
        status=status,
        created_at=_timestamp("created_at", row.get("created_at", "")),
        confirmed_at=_timestamp("confirmed_at", row.get("confirmed_at", "")),
        unsubscribed_at=_timestamp("unsubscribed_at", row.get("unsubscribed_at", "")),
        consent_source=row.get("consent_source", "").strip(),
        attributes=attributes,
    )


def _listmonk_row(row: dict[str, str], vocabulary: Vocabulary) -> SubscriberRecord:
    email = normalize_address(row.get("email", ""), vocabulary.special_use_domains)
    attributes = _json_attributes(row.get("attributes", ""))
    raw_status = row.get("status", "").strip().lower()
    if raw_status and raw_status not in _LISTMONK_STATUS:
        raise ValueError(f"status {raw_status!r} is not a listmonk status")
    language = check_language(str(attributes.get("language", "")), vocabulary)
    if row.get("uuid", "").strip():
        attributes["listmonk_uuid"] = row["uuid"].strip()
    known = ("uuid", "email", "name", "attributes", "status", "created_at", "updated_at")
    attributes |= _extras(row, known)
    status = _LISTMONK_STATUS.get(raw_status, "active")
    created = _timestamp("created_at", row.get("created_at", ""))
    return SubscriberRecord(
        subscriber=Subscriber(email, _name(row.get("name", "")), language, frozenset()),
        status=status,
        created_at=created,
        unsubscribed_at=_timestamp("updated_at", row.get("updated_at", ""))
        if status == "unsubscribed"
        else None,
        consent_source="listmonk",
        attributes=attributes,
    )


def _mailchimp_row(row: dict[str, str], vocabulary: Vocabulary) -> SubscriberRecord:
    email = normalize_address(row.get("email address", ""), vocabulary.special_use_domains)
    name = _name(f"{row.get('first name', '')} {row.get('last name', '')}")
    language = check_language(row.get("language", ""), vocabulary)
    unsubscribed = _timestamp("UNSUB_TIME", row.get("unsub_time", ""))
    cleaned = _timestamp("CLEAN_TIME", row.get("clean_time", ""))
    status = "unsubscribed" if unsubscribed else "bounced" if cleaned else "active"
    return SubscriberRecord(
        subscriber=Subscriber(email, name, language, frozenset()),
        status=status,
        created_at=_timestamp("OPTIN_TIME", row.get("optin_time", "")),
        confirmed_at=_timestamp("CONFIRM_TIME", row.get("confirm_time", "")),
        unsubscribed_at=unsubscribed,
        consent_source="mailchimp",
        attributes=_extras(row, _MAILCHIMP_KNOWN),
    )


_ROW_READERS: dict[str, Callable[[dict[str, str], Vocabulary], SubscriberRecord]] = {
    "digest": _digest_row,
    "listmonk": _listmonk_row,
    "mailchimp": _mailchimp_row,
}
