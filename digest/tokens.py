"""Signed, purpose-bound link tokens (itsdangerous) for unsubscribe and preferences.

A token carries the subscriber's id and a short hash of the address (never the address
itself: links end up in logs), signed with a salt per purpose, so an unsubscribe token
cannot confirm anyone, an altered token fails the signature, and a token outlives
neither an address change nor an erasure followed by a new sign-up under the same id.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from digest.config import Settings
from digest.errors import ConfigError, TokenError

PURPOSES = ("unsubscribe", "preferences", "confirm")


def secret_key(settings: Settings) -> str:
    """The signing key: from the configured environment variable, else a key file.

    Without the variable a random key is created once in a git-ignored file readable
    only by its owner, so links stay valid across runs and no key is ever committed.
    """
    from_env = settings.secret(settings.security.secret_key_env)
    if from_env:
        return from_env
    path: Path = settings.security.secret_key_file
    try:
        if not path.exists():
            _create_key_file(path)
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read or create the signing key: {exc}") from None
    if len(key) < 32:
        raise ConfigError(f"{path}: signing key is shorter than 32 characters")
    return key


def _create_key_file(path: Path) -> None:
    """Write a fresh key to a temp file, then hard-link it into place.

    The link appears complete or not at all, so two processes starting at once never
    read a half-written key; the loser of the race just uses the winner's key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


class Signer:
    def __init__(self, key: str) -> None:
        self._serializers = {
            purpose: URLSafeTimedSerializer(key, salt=f"digest.{purpose}") for purpose in PURPOSES
        }

    def sign(self, purpose: str, subscriber_id: int, email: str) -> str:
        return str(self._serializers[purpose].dumps([subscriber_id, address_hash(email)]))

    def verify(self, purpose: str, token: str, max_age: int | None = None) -> tuple[int, str]:
        """(subscriber id, address hash); TokenError if forged, altered, expired or misused.

        The caller loads the subscriber and checks `binds(hash, subscriber.email)`.
        """
        try:
            value = self._serializers[purpose].loads(token, max_age=max_age)
        except SignatureExpired:
            raise TokenError("this link has expired") from None
        except BadSignature:
            raise TokenError("this link is not valid") from None
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not isinstance(value[0], int)
            or not isinstance(value[1], str)
        ):
            raise TokenError("this link is not valid")
        return value[0], value[1]


def address_hash(email: str) -> str:
    return hashlib.sha256(email.casefold().encode("utf-8")).hexdigest()[:16]


def binds(token_hash: str, email: str) -> bool:
    """Whether a verified token's address hash belongs to `email`."""
    return hmac.compare_digest(token_hash, address_hash(email))
