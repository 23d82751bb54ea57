"""Per-subscriber values spliced into a variant that was rendered and compiled once.

Templates emit an unguessable sentinel for each per-subscriber value; after the MJML
compile the output is split around the sentinels into a Skeleton. Filling it is a join
of escaped strings: no Jinja runs over compiled HTML (entry text could hold `{{`), and
no entry text can forge a sentinel because the nonce is fresh for every render.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

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


def escape_html(value: str) -> str:
    return html.escape(value, quote=True)


def as_text(value: str) -> str:
    return value
