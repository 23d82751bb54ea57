"""Reading an editor's text file (a Markdown entry, a pasted press text) with the errors
an editor can act on: too large, binary, not UTF-8 (with the line), unreadable."""

from __future__ import annotations

from pathlib import Path

from digest.sources.problems import EntryError

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
