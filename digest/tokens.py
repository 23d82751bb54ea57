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
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin

from digest.config import Settings
from digest.errors import ConfigError, TokenError

PURPOSES = ("unsubscribe", "preferences", "confirm")


class _Serializer(URLSafeTimedSerializer):
    """itsdangerous's URL-safe timed tokens, compressed (when it pays) with a small window.

    The stock serializer calls zlib.compress, which sets up a 256 KB deflate state for a
    50-byte payload: glibc serves that with mmap, so each call also faults in fresh
    pages, 20–80 µs depending on the allocator's state. Two tokens a message made the
    links the dearest part of building one. A 512-byte window with the smallest state
    takes ~4 µs and compresses these payloads as well; any zlib stream decompresses the
    same way, so tokens made either way load with either (a test checks both ways).
    """

    def dump_payload(self, obj: Any) -> bytes:
        json = super(URLSafeSerializerMixin, self).dump_payload(obj)
        packer = zlib.compressobj(9, zlib.DEFLATED, 9, 1)
        compressed = packer.compress(json) + packer.flush()
        if len(compressed) < len(json) - 1:
            return b"." + base64_encode(compressed)
        return base64_encode(json)


def secret_key(settings: Settings) -> str:
    """The signing key: from the configured environment variable, else a key file.

    Without the variable a random key is created once in a git-ignored file readable
    only by its owner, so links stay valid across runs and no key is ever committed.
    """
    env_name = settings.security.secret_key_env
    from_env = settings.secret(env_name)
    if from_env:
        _check_length(f"environment variable {env_name}", from_env)
        return from_env
    path: Path = settings.security.secret_key_file
    try:
        if not path.exists():
            _create_key_file(path)
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read or create the signing key: {exc}") from None
    _check_length(f"{path}", key)
    return key


MIN_KEY_BYTES = 32
"""A short key is guessed from one link (a 1-character key fell in 52 tries), and then
every preferences, data-download and erase link can be forged."""


def _check_length(where: str, key: str) -> None:
    size = len(key.encode("utf-8"))
    if size < MIN_KEY_BYTES:
        raise ConfigError(
            f"{where}: the signing key has {size} bytes, at least {MIN_KEY_BYTES} are needed "
            "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )


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


@dataclass(frozen=True)
class Claim:
    """What a verified token says: whose link it is, and for confirm links the status
    the link was sent for ("pending", or the opted-out status of someone coming back)."""

    subscriber_id: int
    address_hash: str
    state: str = ""


def _claim(value: Any) -> Claim:
    if (
        not isinstance(value, list)
        or len(value) not in (2, 3)
        or not isinstance(value[0], int)
        or not all(isinstance(v, str) for v in value[1:])
    ):
        raise TokenError("this link is not valid")
    return Claim(value[0], value[1], value[2] if len(value) == 3 else "")


class Signer:
    def __init__(self, key: str) -> None:
        self._serializers = {
            purpose: _Serializer(key, salt=f"digest.{purpose}") for purpose in PURPOSES
        }
        # A sub-key per use, so the key that signs links never serves as a bare HMAC key.
        self._hash_key = hmac.new(key.encode("utf-8"), b"digest.address", "sha256").digest()
        self.message_id_key = hmac.new(key.encode("utf-8"), b"digest.message-id", "sha256").digest()
        """Keys the Message-IDs of sent issues (`mime.message_id`): nobody without the
        secret can compute the ID of a message we sent and forge a bounce for it."""

    def sign(self, purpose: str, subscriber_id: int, email: str, state: str = "") -> str:
        payload: list[int | str] = [subscriber_id, self.address_hash(email)]
        if state:
            payload.append(state)
        return str(self._serializers[purpose].dumps(payload))

    def verify(self, purpose: str, token: str, max_age: int | None = None) -> Claim:
        """The token's claim; TokenError if forged, altered, expired or misused.

        The caller loads the subscriber and checks `binds(purpose, claim, email)`.
        """
        serializer = self._serializers[purpose]
        try:
            value = serializer.loads(token, max_age=max_age)
        except SignatureExpired as exc:
            # Authentic, only old: whose link it was still shows on the page in their
            # language (the payload was signed; nothing in it is acted upon).
            expired = TokenError("this link has expired")
            if isinstance(exc.payload, bytes):
                with contextlib.suppress(BadSignature, ValueError, TypeError):
                    expired.claim = _claim(serializer.load_payload(exc.payload))
            raise expired from None
        except BadSignature:
            raise TokenError("this link is not valid") from None
        return _claim(value)

    def address_hash(self, email: str) -> str:
        """HMAC of the address under the secret: a link proves nothing about a guessed
        address to anyone without the key (an unkeyed hash would confirm guesses)."""
        digest = hmac.new(self._hash_key, email.casefold().encode("utf-8"), "sha256")
        return digest.hexdigest()[:32]

    def binds(self, purpose: str, claim: Claim, email: str) -> bool:
        """Whether a verified claim's address hash belongs to `email`.

        Links made before the hash was keyed carry 16 hex digits of a bare SHA-256:
        those stay good for unsubscribing only (RFC 8058 links in old emails must keep
        working); their preferences links are refused, and the page offers a new one.
        """
        if hmac.compare_digest(claim.address_hash, self.address_hash(email)):
            return True
        return purpose == "unsubscribe" and hmac.compare_digest(
            claim.address_hash, legacy_address_hash(email)
        )


def legacy_address_hash(email: str) -> str:
    """The unkeyed hash in links made before the keyed one (issue 12); read, never written."""
    return hashlib.sha256(email.casefold().encode("utf-8")).hexdigest()[:16]
