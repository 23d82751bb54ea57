"""Reading an editor's text file (a Markdown entry, a pasted press text) with the errors
an editor can act on: too large, binary, not UTF-8 (with the line), unreadable."""

from __future__ import annotations

from pathlib import Path

from digest.errors import SourceError
from digest.sources.problems import EntryError, Problem

MAX_BYTES = 5 * 1024 * 1024


def read_text(path: Path, kind: str = "a text") -> str:
    """The file as str (a UTF-8 BOM dropped); EntryError names the file and line.

    `kind` says what the file should have been, for the binary-file message.
    """
    try:
        if path.stat().st_size > MAX_BYTES:
            raise EntryError(path, 0, "file is larger than 5 MB", "entry-too-large")
        raw = path.read_bytes()
    except OSError as exc:
        raise EntryError(path, 0, f"cannot read: {exc.strerror}", "entry-unreadable") from None
    if b"\x00" in raw:
        raise EntryError(path, 0, f"binary file, not {kind}", "entry-binary")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise EntryError(path, line, "not valid UTF-8", "entry-encoding") from None


def read_bytes(path: Path, limit: int) -> bytes:
    """A file to import, refused before it is read when over `limit` bytes."""
    try:
        if path.stat().st_size > limit:
            raise SourceError(f"{path}: file is larger than {limit // (1024 * 1024)} MB")
        if not path.is_file():
            raise SourceError(f"{path}: not a file")
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror}") from None


def decode_text(raw: bytes, location: str) -> tuple[str, Problem | None]:
    """Text of an imported file: UTF-8 when it is, else the encoding charset-normalizer
    finds (this is the only module that imports it), with a warning saying which.

    A binary file is refused with a SourceError naming `location`.
    """
    if b"\x00" in raw[:8192]:
        raise SourceError(f"{location}: binary file, not a text, page or feed")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise SourceError(f"{location}: binary file, not a text, page or feed")
    note = Problem("import-encoding", "warning", location, 0, f"not UTF-8; read as {best.encoding}")
    return str(best), note
