"""Per-subscriber values spliced into a variant that was rendered and compiled once.

Templates emit an unguessable sentinel for each per-subscriber value; after the MJML
compile the output is split around the sentinels into a Skeleton. Filling it is a join
of escaped strings: no Jinja runs over compiled HTML (entry text could hold `{{`), and
no entry text can forge a sentinel because the nonce is fresh for every render.
"""

from __future__ import annotations

import binascii
import html
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

from digest.errors import RenderError

SLOT_NAMES = ("name", "unsubscribe_url", "preferences_url")


class SlotMarkers:
    """Sentinels for one render, handed to templates as `slot.<name>`."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(8)
        self._pattern = re.compile(rf"SLOT{self.nonce}([A-Z_]+)END")

    def __getattr__(self, name: str) -> str:
        if name not in SLOT_NAMES:
            raise AttributeError(name)
        return f"SLOT{self.nonce}{name.upper()}END"

    def split(self, rendered: str, escape: Callable[[str], str]) -> Skeleton:
        parts = self._pattern.split(rendered)
        names = tuple(p.lower() for p in parts[1::2])
        unknown = set(names) - set(SLOT_NAMES)
        if unknown:
            raise RenderError(f"template uses an unknown slot {sorted(unknown)[0]!r}")
        return Skeleton(literals=tuple(parts[0::2]), names=names, escape=escape)


@dataclass(frozen=True)
class Skeleton:
    literals: tuple[str, ...]
    names: tuple[str, ...]
    escape: Callable[[str], str]

    def fill(self, values: Mapping[str, str]) -> str:
        out = [self.literals[0]]
        for name, literal in zip(self.names, self.literals[1:], strict=True):
            out.append(self.escape(values[name]))
            out.append(literal)
        return "".join(out)

    @cached_property
    def _qp_literals(self) -> tuple[bytes, ...]:
        return tuple(quoted_printable_piece(literal) for literal in self.literals)

    def fill_qp(self, values: Mapping[str, str]) -> bytes:
        """The filled text, UTF-8 and quoted-printable with CRLF lines, as `fill` would give.

        Quoted-printable encoding of a whole 80 KB body costs more than everything else
        done per reader, so the literal parts are encoded once per variant and only the
        short values are encoded per reader. Each piece ends with a soft line break, so
        the pieces join into valid quoted-printable that decodes to `fill(values)`.
        """
        literals = self._qp_literals
        out = [literals[0]]
        for name, literal in zip(self.names, literals[1:], strict=True):
            out.append(quoted_printable_piece(self.escape(values[name])))
            out.append(literal)
        return b"".join(out)


def quoted_printable_piece(text: str) -> bytes:
    """Quoted-printable of `text` (CRLF lines), ending at a line boundary so pieces concatenate.

    Soft breaks are normalized to CRLF too: binascii uses a bare LF for them when its
    input holds no CRLF to copy. A piece that does not end in a line break gets a soft
    one; its last line is split first if the `=` would take it past 76 characters.
    """
    if not text:
        return b""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    encoded = binascii.b2a_qp(normalized.encode("utf-8"), istext=True)
    encoded = encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if encoded.endswith(b"\r\n"):
        return encoded
    head, _, last = encoded.rpartition(b"\r\n")
    lines = [head + b"\r\n"] if head or encoded.startswith(b"\r\n") else []
    while len(last) >= QP_LINE:
        cut = _qp_cut(last, QP_LINE - 1)
        lines.append(last[:cut] + b"=\r\n")
        last = last[cut:]
    lines.append(last + b"=\r\n")
    return b"".join(lines)


QP_LINE = 76
"""Longest encoded line, soft-break `=` included (RFC 2045)."""


def _qp_cut(line: bytes, limit: int) -> int:
    """The longest prefix of at most `limit` bytes that does not split an `=XX` escape."""
    at = 0
    while at < len(line):
        step = 3 if line[at : at + 1] == b"=" else 1
        if at + step > limit:
            break
        at += step
    return at


def escape_html(value: str) -> str:
    return html.escape(value, quote=True)


def as_text(value: str) -> str:
    return value
