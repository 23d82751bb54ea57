"""Reading an editor's text file (a Markdown entry, a pasted press text) with the errors
an editor can act on: too large, binary, not UTF-8 (with the line), unreadable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from digest.errors import SourceError
from digest.sources.language import detect_language
from digest.sources.problems import EntryError, Problem

if TYPE_CHECKING:
    from charset_normalizer import CharsetMatches

MAX_BYTES = 5 * 1024 * 1024

# The code pages a text in each language is likely to have been saved in, Windows' own
# first: a desk's non-UTF-8 file comes from Word, Outlook or Notepad far more often than
# from an ISO 8859 or KOI8 system. Keys are the codes py3langid answers.
_CODE_PAGES: dict[str, tuple[str, ...]] = {
    language: pages
    for languages, pages in (
        (
            "en fr de nl it es pt ca gl eu oc da sv no nn fi is fo ga lb af id ms",
            ("cp1252", "latin_1", "iso8859_15"),
        ),
        ("pl cs sk hu sl hr bs sq ro", ("cp1250", "iso8859_2")),
        ("ru bg mk be", ("cp1251", "koi8_r", "iso8859_5", "mac_cyrillic", "cp866")),
        ("uk", ("cp1251", "koi8_u", "koi8_r", "iso8859_5", "mac_cyrillic", "cp866")),
        ("sr", ("cp1251", "cp1250", "iso8859_5", "iso8859_2")),
        ("et lt lv", ("cp1257", "iso8859_13", "iso8859_4")),
        ("el", ("cp1253", "iso8859_7")),
        ("tr az", ("cp1254", "iso8859_9")),
    )
    for language in languages.split()
}
_PREFERRED = ("cp1252", "cp1250", "cp1251")
"""This desk's likeliest code pages, in order, when the language does not tell."""
_LANGUAGE_CONFIDENCE = 0.2
"""Lower than an entry's language needs: the model's doubts are between neighbours that
share a code page (hr/bs/sr, cs/sk, es/gl), and a doubtful language still beats none."""
_CHAOS_MARGIN = 0.05
"""How much more "mess" than charset-normalizer's best guess a decoding in the text's
language may show (`EU’s €150` in cp1252 measures 0.02 while a DOS code page gets 0)."""
_SAMPLE = 10_000
"""Characters of the text the language is told from: plenty, and a 5 MB file stays quick."""


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
    finds (this is the only module that imports it) and the text's language confirms,
    with a warning saying which.

    A binary file is refused with a SourceError naming `location`.
    """
    if b"\x00" in raw[:8192]:
        raise SourceError(f"{location}: binary file, not a text, page or feed")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    found = _legacy_decoding(raw)
    if found is None:
        raise SourceError(f"{location}: binary file, not a text, page or feed")
    text, encoding = found
    note = Problem("import-encoding", "warning", location, 0, f"not UTF-8; read as {encoding}")
    return text, note


def _legacy_decoding(raw: bytes) -> tuple[str, str] | None:
    """(text, code page) of bytes that are not UTF-8, or None when they are no text.

    charset-normalizer alone cannot tell cp1252 from cp1250 on a French or a Polish text:
    both decode it without "mess", and its coherence score ties or leans either way (see
    docs/design.md, "Legacy encodings"). Every candidate decoding shows the language,
    though, since only a few letters differ; so among the decodings about as clean as its
    best guess, the one in a code page of that language is taken, Windows' first.
    """
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    best = matches.best()
    if best is None:
        return None
    if best.bom:
        return str(best), best.encoding
    language = detect_language(str(best)[:_SAMPLE], _LANGUAGE_CONFIDENCE)
    pages = _CODE_PAGES.get(language or "", ())
    if pages:
        limit = best.chaos + _CHAOS_MARGIN
        chosen = _in_pages(matches, pages, limit)
        if chosen is None:  # the open search may have skipped them early: ask for them alone
            chosen = _in_pages(from_bytes(raw, cp_isolation=list(pages)), pages, limit)
        if chosen is not None:
            return chosen
    # No language to go by (under 40 letters) or none of its pages fits: of the decodings as
    # clean as the best guess, the likeliest on this desk (which also names a text that
    # cp1250 and cp1252 decode alike, `EU’s` with no accent, cp1252).
    return _in_pages(matches, _PREFERRED, best.chaos) or (str(best), best.encoding)


def _in_pages(
    matches: CharsetMatches, pages: tuple[str, ...], max_chaos: float
) -> tuple[str, str] | None:
    """(text, code page) of the match from the earliest of `pages`, if any is clean enough."""
    found = [
        (pages.index(name), name, match)
        for match in matches
        if match.chaos <= max_chaos
        for name in match.could_be_from_charset
        if name in pages
    ]
    if not found:
        return None
    _, name, match = min(found, key=lambda item: item[0])
    return str(match), name
