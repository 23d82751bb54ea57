"""Reading returned mail: delivery status notifications (RFC 3464) and ARF complaints
(RFC 5965) from a Maildir or an mbox, matched to the recipient and issue they concern,
and the requests mail clients send to the `mailto:` of List-Unsubscribe.

Parsing is pure (bytes in, `Report`s out); applying the rules goes through the store,
one transaction per event, each event logged once by a fingerprint so processing the
same mailbox twice counts nothing twice.
"""

from __future__ import annotations

import hashlib
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message as EmailMessage
from email.utils import parseaddr
from pathlib import Path

from digest.config import BouncesSettings
from digest.errors import SourceError, TokenError
from digest.store import DeliveryRow, Store
from digest.tokens import Signer

_UNSUBSCRIBE_SUBJECT = re.compile(r"^\s*unsubscribe\s+(?P<token>[\w.-]+)\s*$", re.IGNORECASE)

_NOT_FAILURES = frozenset({"delayed", "relayed", "expanded", "delivered"})
"""DSN actions (RFC 3464 §2.3.3) that say the message has not failed: a delay warning
(the MTA is still trying) or news of a delivery. Read and counted, never a bounce."""


@dataclass(frozen=True)
class Report:
    """One recipient's bounce, delay or delivery notice, or one complaint, as read from
    a returned message."""

    kind: str  # "hard", "soft", "complaint", or "notice" (a DSN that is no failure)
    email: str
    status: str
    """DSN status code (e.g. "5.1.1"), or the ARF feedback type."""
    original_message_id: str
    fingerprint: str
    detail: str = ""


def parse(data: bytes, soft_statuses: tuple[str, ...] = ()) -> list[Report]:
    """The reports in one returned message; [] for anything that is neither a DSN
    nor an ARF report (autoreplies, spam), which the caller counts as ignored."""
    msg = message_from_bytes(data, policy=policy.compat32)
    if msg.get_content_type() != "multipart/report":
        return []
    report_type = str(msg.get_param("report-type") or "").lower()
    own_id = (msg.get("Message-ID") or hashlib.sha256(data).hexdigest()).strip()
    original = _original_headers(msg)
    original_id = (original.get("Message-ID", "") if original else "").strip()
    if report_type == "delivery-status":
        return _dsn(msg, own_id, original_id, original, soft_statuses)
    if report_type == "feedback-report":
        return _arf(msg, own_id, original_id, original)
    return []


def unsubscribe_token(data: bytes) -> str | None:
    """The token of a List-Unsubscribe `mailto:` request (subject `unsubscribe <token>`,
    as `Edition.message_for` writes it), or None for any other message."""
    msg = message_from_bytes(data, policy=policy.default)
    match = _UNSUBSCRIBE_SUBJECT.match(str(msg.get("Subject", "")))
    return match["token"] if match else None


def _original_headers(msg: EmailMessage) -> EmailMessage | None:
    """The returned original (message/rfc822 or text/rfc822-headers), if included."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                inner = payload[0]
                return inner if isinstance(inner, EmailMessage) else None
        if kind == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                return message_from_bytes(raw, policy=policy.compat32)
    return None


def _field_address(value: str | None) -> str:
    """`rfc822; someone@example.org` → someone@example.org."""
    if not value:
        return ""
    text = value.split(";", 1)[1] if ";" in value else value
    return parseaddr(text.strip())[1].lower()


def _dsn(
    msg: EmailMessage,
    own_id: str,
    original_id: str,
    original: EmailMessage | None,
    soft_statuses: tuple[str, ...],
) -> list[Report]:
    reports: list[Report] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1:]:  # the first block is per-message, the rest per-recipient
            if not isinstance(block, EmailMessage):
                continue
            action = (block.get("Action") or "").strip().lower()
            status = (block.get("Status") or "").strip().split()[0:1]
            code = status[0] if status else ""
            email = _field_address(block.get("Final-Recipient")) or _field_address(
                block.get("Original-Recipient")
            )
            if not (action == "failed" or action in _NOT_FAILURES) or not email:
                continue
            if action == "failed":
                hard = code.startswith("5") and code not in soft_statuses
                kind = "hard" if hard else "soft"
            else:
                kind = "notice"
            diagnostic = (block.get("Diagnostic-Code") or "").strip()
            reports.append(
                Report(
                    kind=kind,
                    email=email,
                    status=code,
                    original_message_id=original_id,
                    fingerprint=f"dsn:{own_id}:{email}",
                    detail=" ".join(f"{action} {code} {diagnostic}".split()),
                )
            )
    return reports


def _arf(
    msg: EmailMessage, own_id: str, original_id: str, original: EmailMessage | None
) -> list[Report]:
    feedback_type, email = "abuse", ""
    for part in msg.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        fields = _report_fields(part)
        feedback_type = fields.get("feedback-type", feedback_type).lower()
        email = _field_address(fields.get("original-rcpt-to"))
    if not email and original is not None:
        email = parseaddr(original.get("To", ""))[1].lower()
    if not email and not original_id:
        return []
    return [
        Report(
            kind="complaint",
            email=email,
            status=feedback_type,
            original_message_id=original_id,
            fingerprint=f"arf:{own_id}:{email or original_id}",
            detail=f"complaint ({feedback_type})",
        )
    ]


def _report_fields(part: EmailMessage) -> dict[str, str]:
    """Fields of a message/feedback-report part, however the parser stored them."""
    payload = part.get_payload()
    if isinstance(payload, list):
        fields: dict[str, str] = {}
        for block in payload:
            if not isinstance(block, EmailMessage):
                continue
            for name, value in block.items():
                fields.setdefault(name.lower(), str(value).strip())
        return fields
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
    parsed = message_from_bytes(text.strip().encode() + b"\n\n", policy=policy.compat32)
    return {name.lower(): str(value).strip() for name, value in parsed.items()}


def read_mailbox(path: Path) -> Iterator[tuple[str, bytes]]:
    """(key, bytes) of each message in a Maildir folder or an mbox file."""
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise SourceError(f"{path}: not a Maildir (no cur/ or new/ folder)")
        box: mailbox.Mailbox[mailbox.Message] = mailbox.Maildir(path, create=False)
    elif path.is_file():
        with path.open("rb") as handle:
            first = handle.read(5)
        if first and first != b"From ":
            raise SourceError(f"{path}: not an mbox file (does not start with 'From ')")
        box = mailbox.mbox(path, create=False)
    else:
        raise SourceError(f"{path}: no such Maildir or mbox")
    try:
        for key in sorted(box.keys()):
            yield str(key), box.get_bytes(key)
    finally:
        box.close()


@dataclass
class BounceSummary:
    messages: int = 0
    ignored: int = 0
    hard: int = 0
    soft: int = 0
    notices: int = 0
    """DSNs that are no failure (delayed, relayed, expanded, delivered): read, not stored."""
    complaints: int = 0
    unmatched: int = 0
    repeated: int = 0
    unsubscribed: int = 0
    """Valid `mailto:` unsubscribe requests (each reader counted once)."""
    changed: list[tuple[str, str]] = field(default_factory=list)
    """(address, new status) for each subscriber whose status this run changed."""


def process(
    path: Path,
    store: Store,
    rules: BouncesSettings,
    hard_limit: int,
    signer: Signer | None = None,
) -> BounceSummary:
    """Read every message at `path`, match each report, apply the rules; with `signer`,
    also honour unsubscribe requests whose signed token names a current subscriber."""
    summary = BounceSummary()
    for _key, data in read_mailbox(path):
        summary.messages += 1
        reports = parse(data, rules.soft_statuses)
        if not reports and not (signer and _unsubscribe(data, store, signer, summary)):
            summary.ignored += 1
        for report in reports:
            _apply(report, store, rules, hard_limit, summary, source=path.name)
    return summary


def _unsubscribe(data: bytes, store: Store, signer: Signer, summary: BounceSummary) -> bool:
    """Apply a `mailto:` unsubscribe request; False if the message is none or its token
    is forged, altered or no longer matches (then it is counted as not a report)."""
    token = unsubscribe_token(data)
    if token is None:
        return False
    try:
        claim = signer.verify("unsubscribe", token)
    except TokenError:
        return False
    record = store.record(claim.subscriber_id)
    if record is None or not signer.binds("unsubscribe", claim, record.subscriber.email):
        return False
    if store.unsubscribe(claim.subscriber_id):
        summary.unsubscribed += 1
        summary.changed.append((record.subscriber.email, "unsubscribed"))
    return True


def references_our_message(report: Report, row: DeliveryRow | None) -> bool:
    """Whether a report is about a message we sent to the address it names.

    Anyone can mail a DSN or an ARF report to the public bounce address, so a report is
    believed only when its returned headers carry the Message-ID of a message we sent
    (a keyed ID nobody can compute, `mime.message_id`), and, when a DSN names a
    recipient, that message went to that recipient. An address alone proves nothing.

    A complaint's address is not compared: feedback loops redact or rewrite the
    complainer's address (RFC 6590; `To: redacted@...`), so the keyed Message-ID is the
    proof and the delivery row says who complained.
    """
    if row is None or row.status != "sent" or not row.email:
        return False
    if report.kind == "complaint":
        return True
    return not report.email or report.email.casefold() == row.email.casefold()


def _apply(
    report: Report,
    store: Store,
    rules: BouncesSettings,
    hard_limit: int,
    summary: BounceSummary,
    source: str,
) -> None:
    if report.kind == "notice":
        summary.notices += 1  # not a bounce: counts towards no limit and no issue
        return
    row = (
        store.delivery_by_message_id(report.original_message_id)
        if report.original_message_id
        else None
    )
    if not references_our_message(report, row):
        summary.unmatched += 1  # forged, or about mail we never sent: changes nothing
        return
    assert row is not None
    subscriber_id, email = row.subscriber_id, row.email
    before = store.db.total_changes
    changed = store.record_bounce(
        email=email,
        kind=report.kind,
        fingerprint=report.fingerprint,
        subscriber_id=subscriber_id,
        issue_key=row.issue_key if row else "",
        detail=report.detail,
        source=source,
        hard_limit=hard_limit,
        soft_limit=rules.soft_limit,
        on_complaint=rules.on_complaint,
    )
    if store.db.total_changes == before:
        summary.repeated += 1
        return
    if report.kind == "hard":
        summary.hard += 1
    elif report.kind == "soft":
        summary.soft += 1
    else:
        summary.complaints += 1
    if changed:
        summary.changed.append((email, changed))
