"""Who may be mailed again: the rules that keep an opt-out standing, as pure functions.

An address that unsubscribed, complained or bounced stays out whatever a web form or an
old CSV says; only the person's own double opt-in click brings it back. After an
erasure the address itself is gone, so the store keeps a keyed hash of it (a
suppression list, as the big senders keep): enough to recognise the address when it
comes back, not enough to list who was erased. Each store engine applies these same
rules, so they live here and not in the SQL.
"""

from __future__ import annotations

import hashlib
import hmac

OPTED_OUT = ("unsubscribed", "complained", "bounced")
"""Statuses that only the person's own confirmation may turn back into a recipient."""

RECIPIENT = ("active", "pending")


def may_change_status(old: str | None, new: str, by_confirmation: bool) -> bool:
    """Whether a row in status `old` (None: no row) may become `new`.

    Going from an opted-out status back to active or pending needs the person's own
    confirmation click; everything else (a bounce, an unsubscribe, a first sign-up) may.
    """
    if old == new or old is None:
        return True
    if old in OPTED_OUT and new in RECIPIENT:
        return by_confirmation
    return True


def keeps_out(stored: str | None, suppressed: bool) -> bool:
    """Whether a form or an import must leave this address exactly as it is.

    True for a stored opted-out row, and for an erased address (on the suppression
    list) that has not confirmed a new sign-up since (no row, or a pending one).
    """
    if stored in OPTED_OUT:
        return True
    return suppressed and stored != "active"


def suppression_hash(key: bytes, email: str) -> str:
    """The keyed hash an erased address is remembered by (HMAC-SHA256, case-folded)."""
    return hmac.new(key, email.strip().casefold().encode("utf-8"), hashlib.sha256).hexdigest()
