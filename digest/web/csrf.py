"""CSRF protection for the subscriber forms: a double-submit token kept in Flask's
signed session cookie. The RFC 8058 unsubscribe endpoint is exempt by design: mail
providers POST to it without cookies, and its signed token is the credential."""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

from digest.web.context import fail

FIELD = "csrf_token"


def csrf_token() -> str:
    """The session's token, created on first use; templates put it in a hidden field."""
    token = session.get(FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[FIELD] = token
    return token


def check_csrf() -> None:
    sent = request.form.get(FIELD, "")
    expected = session.get(FIELD, "")
    if not sent or not isinstance(expected, str) or not expected:
        fail(400, "Form expired", "This form has expired. Reload the page and try again.")
    if not hmac.compare_digest(sent, expected):
        fail(400, "Form expired", "This form has expired. Reload the page and try again.")
