"""The desk's import box: what a pasted text or a URL would add, shown before writing.

One adapter over the importer (`digest.imports`), so the desk does not depend on its
internals: the import runs for real into a scratch copy of the entries folder, the
files it made are read back with the entry reader (titles, themes, problems), and only
when the editor accepts does the same import run against the real folder, which never
overwrites an existing file. When the importer gains its own preview-then-write entry
point, `import_drafts` is the one function to point at it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from digest import imports
from digest.config import Settings
from digest.errors import DigestError
from digest.sources.feed import is_url
from digest.sources.markdown import load_entries
from digest.themes import classify

MAX_PASTE_CHARS = 200_000


@dataclass(frozen=True)
class Draft:
    name: str
    title: str
    theme_id: str
    date: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ImportPreview:
    drafts: tuple[Draft, ...]
    problems: tuple[str, ...]
    """Problems of the import itself (a contradicted weekday, removed debris, a skip)."""


def _run(settings: Settings, folder: Path, text: str, day: dt.date | None) -> imports.ImportResult:
    entries = dataclasses.replace(settings.entries, dir=folder)
    target = dataclasses.replace(settings, entries=entries)
    location = text.strip()
    if is_url(location) and "\n" not in location:
        return imports.import_feed(target, location)
    with tempfile.TemporaryDirectory(prefix="digest-paste-") as scratch:
        pasted = Path(scratch) / "pasted.txt"
        pasted.write_text(text, encoding="utf-8")
        return imports.import_pasted(target, pasted, day)


def import_drafts(settings: Settings, text: str, day: dt.date | None, write: bool) -> ImportPreview:
    """The entries `text` (a pasted press text, or a feed URL) would create; written to
    the entries folder only when `write` is true."""
    if not text.strip():
        raise DigestError("paste a text or a feed URL first")
    if len(text) > MAX_PASTE_CHARS:
        raise DigestError(f"the pasted text is over {MAX_PASTE_CHARS:,} characters")
    news = settings.newsletter
    with tempfile.TemporaryDirectory(prefix="digest-import-") as scratch:
        folder = Path(scratch) / "entries"
        if settings.entries.dir.is_dir():  # so a feed item already imported is skipped
            shutil.copytree(settings.entries.dir, folder, ignore=shutil.ignore_patterns(".*"))
        else:
            folder.mkdir()
        result = _run(settings, settings.entries.dir if write else folder, text, day)
        made = {w.path.name for w in result.written}
        read_from = settings.entries.dir if write else folder
        entries, found = load_entries(
            read_from, [t.id for t in settings.themes], news.languages, news.language
        )
    drafts = []
    for entry in entries:
        if entry.path is None or entry.path.name not in made:
            continue
        theme = classify(entry, settings.themes).theme_id
        mine = tuple(p.message for p in found if Path(p.path).name == entry.path.name)
        drafts.append(Draft(entry.path.name, entry.title, theme, entry.date.isoformat(), mine))
    problems = [f"{p.severity}: {p.message}" for p in result.problems]
    problems += [f"skipped: {s}" for s in result.skipped]
    return ImportPreview(tuple(drafts), tuple(problems))
