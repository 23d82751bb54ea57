"""The store's bounce rules as pure functions: the modules call them, tests read them
plainly. (Who may be mailed again, the consent rules, live in digest/consent.py.)

No SQL here and no clock: values in, decision out.
"""

from __future__ import annotations


def bounce_status(
    kind: str,
    hard_bounces: int,
    soft_bounces: int,
    *,
    hard_limit: int,
    soft_limit: int,
    on_complaint: str,
) -> str | None:
    """The status a counted bounce or complaint leads to, or None to leave it.

    `hard_bounces` and `soft_bounces` already include this event. A complaint
    unsubscribes at once (unless the desk chose to ignore them); bounces mark the
    address bounced at the limits (`soft_limit` 0: soft bounces never do).
    """
    if kind == "complaint":
        return "complained" if on_complaint == "complained" else None
    if hard_bounces >= hard_limit or (soft_limit > 0 and soft_bounces >= soft_limit):
        return "bounced"
    return None


def may_become(current: str) -> bool:
    """Only someone still receiving (active, or pending confirmation) is marked down."""
    return current in ("active", "pending")
