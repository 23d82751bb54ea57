"""DKIM signing of finished messages: the only importer of dkimpy.

dkimpy's default header list leaves out List-Unsubscribe-Post, which RFC 8058 needs
covered for one-click unsubscribe to be trusted, so the list is given explicitly. A
name listed but absent from a message is still signed (as empty), which stops anyone
adding that header later.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dkim

from digest.config import Settings
from digest.errors import ConfigError, DeliverySetupError
from digest.models import Message

SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"feedback-id",
)


class DkimSigner:
    """Prepends a DKIM-Signature header made with one key, selector and domain."""

    def __init__(self, selector: str, domain: str, private_key: bytes) -> None:
        self.selector = selector.encode("ascii")
        self.domain = domain.encode("ascii")
        self.private_key = private_key

    def sign(self, message: Message) -> Message:
        try:
            header = dkim.sign(
                message.data,
                self.selector,
                self.domain,
                self.private_key,
                include_headers=list(SIGNED_HEADERS),
                canonicalize=(b"relaxed", b"relaxed"),
            )
        except dkim.DKIMException as exc:
            reason = " ".join(str(exc).split())
            raise DeliverySetupError(f"DKIM signing failed: {reason}") from None
        return replace(message, data=header + message.data)


def load_signer(settings: Settings) -> DkimSigner | None:
    """The configured signer, or None when [dkim] has no selector.

    The key comes from the variable named by `key_env` if set, else from `key_file`;
    it is tried once here so a bad key stops the send before anyone is mailed.
    """
    conf = settings.dkim
    if not conf.selector:
        return None
    where = f"{settings.path}: [dkim]"
    key = settings.secret(conf.key_env)
    if key is not None:
        pem, source = key.encode("ascii", "replace"), f"${conf.key_env}"
    elif conf.key_file:
        path = settings.path.resolve().parent / Path(conf.key_file).expanduser()
        try:
            pem, source = path.read_bytes(), str(path)
        except OSError as exc:
            raise ConfigError(f"{where} key_file: cannot read {path}: {exc.strerror}") from None
    else:
        raise ConfigError(f"{where}: set key_file, or the variable named by key_env")
    try:
        signer = DkimSigner(conf.selector, conf.domain, pem)
    except UnicodeEncodeError:
        raise ConfigError(f"{where}: selector and domain must be ASCII") from None
    probe = Message("a@" + conf.domain, "b@" + conf.domain, "<probe@x>", b"From: a\r\n\r\nx\r\n")
    try:
        signer.sign(probe)
    except DeliverySetupError as exc:
        raise ConfigError(f"{where}: key from {source} is not usable: {exc}") from None
    return signer


def verify(data: bytes, txt_records: dict[bytes, bytes]) -> bool:
    """Check a signature against DNS TXT records given as a mapping (no DNS lookups)."""

    def lookup(name: bytes, timeout: float = 5) -> bytes | None:
        return txt_records.get(name.rstrip(b"."))

    return bool(dkim.verify(data, dnsfunc=lookup))
