"""A proof: one variant of the issue sent to one address, outside the outbox.

Editors check the real message in a real mail client before the send. The proof goes
through the configured transport like any message, but no store row is written, so it
never counts as a delivery and never keeps anyone from receiving the issue.
"""

from __future__ import annotations

from digest.delivery.transport import Transport
from digest.errors import DigestError
from digest.models import Message, Subscriber, Variant
from digest.pipeline import Edition
from digest.subscribers import normalize_address


def send_proof(edition: Edition, transport: Transport, address: str, variant: Variant) -> Message:
    try:
        email = normalize_address(address, edition.settings.delivery.special_use_domains)
    except ValueError as exc:
        raise DigestError(f"--test-to {address!r}: {exc}") from None
    if not edition.has_content(variant):
        raise DigestError(
            f"variant {variant.label}: none of its themes has an entry in {edition.issue.key}, "
            "so its readers get no email"
        )
    reader = Subscriber(
        email=email, name="", language=variant.language, themes=variant.themes, id=0
    )
    message = edition.message_for(reader, variant)
    try:
        transport.send(message)
    finally:
        transport.close()
    return message
