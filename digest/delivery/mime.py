"""Final message bytes for each subscriber, built from a template made once per variant.

Building every message with `email.message.EmailMessage` re-encodes the whole body and
re-folds every header for each reader. Here everything common to a variant (headers,
boundary, encoded subject) is prepared once; per reader only the To/Message-ID/
List-Unsubscribe headers are formatted and the two filled bodies quoted-printable
encoded in C (binascii). Output is CRLF throughout, as SMTP wants it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr

from digest.errors import RecipientRefusedError, RenderError
from digest.models import Message, Subscriber
from digest.render.variant import CompiledVariant

CRLF = "\r\n"


def header_safe(name: str, value: str) -> str:
    """Refuse CR/LF in a header value: header injection stops here, whatever the source."""
    if "\r" in value or "\n" in value:
        raise RenderError(f"header {name}: value contains a line break")
    return value


def encode_header(name: str, value: str) -> str:
    header_safe(name, value)
    if value.isascii() and len(name) + len(value) < 76:
        return f"{name}: {value}"
    encoded = Header(value, "utf-8", header_name=name).encode(linesep=CRLF)
    return f"{name}: {encoded}"


MAX_HEADER_LINE = 78
"""RFC 5322 2.1.1: lines SHOULD be at most 78 characters (and MUST be at most 998)."""


def address_header(name: str, display: str, address: str) -> str:
    """`Name: Display <address>`, folded so that no line passes 78 characters.

    A long or non-ASCII display name becomes several RFC 2047 encoded words, one per
    folded line, and the address goes on a line of its own: a 200-emoji name made a
    single 1,100-octet line that servers refuse (`500 Line too long`).
    """
    header_safe(name, display)
    header_safe(name, address)
    if not address.isascii():  # no SMTPUTF8: such an address cannot be carried
        raise RecipientRefusedError(f"{address}: not an ASCII address (SMTPUTF8 is not used)")
    line = f"{name}: {formataddr((display, address), charset='utf-8')}"
    if len(line) <= MAX_HEADER_LINE or not display:
        return line
    words = Header(display, "utf-8", maxlinelen=MAX_HEADER_LINE, header_name=name)
    return f"{name}: {words.encode(linesep=CRLF)}{CRLF} <{address}>"


def message_id(issue_key: str, subscriber: Subscriber, domain: str, key: bytes = b"") -> str:
    """Stable per (issue, subscriber), so a resumed send reuses the same Message-ID.

    With `key` (the sender's secret) the tag is an HMAC: a bounce report is believed
    only when it quotes the ID of a message we sent, so the ID must not be computable
    from the public issue key, a small id and the address."""
    text = f"{issue_key}\0{subscriber.id}\0{subscriber.email}".encode()
    tag = hmac.new(key, text, "sha256") if key else hashlib.sha256(text)
    return f"<{issue_key}.{subscriber.id}.{tag.hexdigest()[: 20 if key else 16]}@{domain}>"


@dataclass(frozen=True)
class ListHeaders:
    list_id: str
    unsubscribe_url: str
    unsubscribe_mailto: str


class MessageFactory:
    """Makes the final bytes of one variant's message for any number of readers."""

    def __init__(
        self,
        compiled: CompiledVariant,
        *,
        sender: str,
        reply_to: str,
        list_id: str,
        newsletter_name: str,
        date: dt.datetime,
        extra_headers: Mapping[str, str] | None = None,
        id_key: bytes = b"",
    ) -> None:
        self.compiled = compiled
        self.id_key = id_key
        sender_name, self.sender_address = parseaddr(sender)
        if not self.sender_address or "@" not in self.sender_address:
            raise RenderError(f"sender {sender!r} is not an email address")
        self.domain = self.sender_address.rsplit("@", 1)[1]
        self.boundary = f"=_digest_{secrets.token_hex(12)}"
        common = [
            address_header("From", sender_name, self.sender_address),
            encode_header("Subject", compiled.subject),
            f"Date: {format_datetime(date)}",
            "MIME-Version: 1.0",
            encode_header("List-Id", f"{newsletter_name} <{list_id}>"),
            "Precedence: bulk",
            "Auto-Submitted: auto-generated",
            f"Content-Language: {header_safe('Content-Language', compiled.variant.language)}",
        ]
        if reply_to:
            name, address = parseaddr(reply_to)
            common.append(address_header("Reply-To", name, address))
        for key, value in (extra_headers or {}).items():
            common.append(encode_header(key, value))
        common.append(f'Content-Type: multipart/alternative; boundary="{self.boundary}"')
        self._head = CRLF.join(common).encode("ascii") + CRLF.encode()
        part = "--{b}\r\nContent-Type: text/{kind}; charset=utf-8\r\n"
        part += "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        self._text_open = part.format(b=self.boundary, kind="plain").encode()
        self._html_open = ("\r\n" + part.format(b=self.boundary, kind="html")).encode()
        self._close = f"\r\n--{self.boundary}--\r\n".encode()

    def build(
        self,
        subscriber: Subscriber,
        issue_key: str,
        values: Mapping[str, str],
        lists: ListHeaders,
    ) -> Message:
        mid = message_id(issue_key, subscriber, self.domain, self.id_key)
        unsubscribe = f"<{header_safe('List-Unsubscribe', lists.unsubscribe_url)}>"
        if lists.unsubscribe_mailto:
            mailto = header_safe("List-Unsubscribe", lists.unsubscribe_mailto)
            unsubscribe += f",{CRLF} <{mailto}>"  # folded, to keep header lines short
        personal = CRLF.join(
            [
                address_header("To", subscriber.name, subscriber.email),
                f"Message-ID: {mid}",
                f"List-Unsubscribe: {unsubscribe}",
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            ]
        )
        data = b"".join(
            [
                personal.encode("utf-8"),
                b"\r\n",
                self._head,
                b"\r\n",
                self._text_open,
                self.compiled.text.fill_qp(values),
                self._html_open,
                self.compiled.html.fill_qp(values),
                self._close,
            ]
        )
        return Message(
            sender=self.sender_address, recipient=subscriber.email, message_id=mid, data=data
        )
