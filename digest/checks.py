"""Editorial checks: what a careful sub-editor would catch before the issue goes out.

Each finding has an id, a severity and the file and line. Errors (a weekday that
contradicts its date, a broken link or image) stop `digest send` unless `--force`;
warnings (no source, the same story twice, an empty theme, an odd date) are shown.
Pure: entries, issue and `now` are arguments; the preview and `digest send` call the
same `run_checks`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Sequence
from itertools import combinations

from digest.config import Settings
from digest.models import Entry, Issue
from digest.sources.dates import find_dates, weekday_message
from digest.sources.markdown import line_of, raw_html
from digest.sources.pasted import is_debris
from digest.sources.problems import Problem, Severity
from digest.themes import normalize

Check = Problem
"""A check result has the same shape as a source problem: id, severity, path, line."""

TITLE_SIMILARITY = 0.85
BODY_OVERLAP = 0.7
MIN_BODY_WORDS = 15
FAR_DAYS = 31
"""A date written in the text further than this from the entry's date is suspect."""
_LINK_RE = re.compile(r"(?P<bang>!?)\[(?P<label>[^\]]*)\]\((?P<url>[^)\s]*)(?:\s+\"[^\"]*\")?\)")
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_GOOD_URL = re.compile(r"^(?:https?://[^\s/]+|mailto:[^\s@]+@\S+)", re.IGNORECASE)


def _where(entry: Entry) -> str:
    return str(entry.path) if entry.path else entry.source_url or entry.guid or entry.id


def _check(entry: Entry, check_id: str, severity: Severity, line: int, message: str) -> Problem:
    return Problem(check_id, severity, _where(entry), line, message)


def _lines(entry: Entry) -> list[tuple[int, str]]:
    """(file line, text) of the body; feed entries have no file, so line 0."""
    if entry.markdown:
        return [(entry.body_line + i, t) for i, t in enumerate(entry.markdown.splitlines())]
    return [(0, p) for p in entry.text.split("\n\n")]


def check_dates(entry: Entry, today: dt.date, first_year: int) -> list[Problem]:
    found: list[Problem] = []
    for line, text in _lines(entry):
        for mention in find_dates(text):
            if mention.date is None:
                found.append(_check(entry, "date-invalid", "error", line, f"{mention.text!r} "
                                    "is not a real date"))  # fmt: skip
            elif mention.contradicts:
                found.append(_check(entry, "weekday-date", "error", line, weekday_message(mention)))
            elif abs((mention.date - entry.date).days) > FAR_DAYS:
                found.append(
                    _check(entry, "date-far", "warning", line,
                           f"the text says {mention.text!r} but the entry is dated "
                           f"{entry.date.isoformat()}: is the front matter date right?")
                )  # fmt: skip
    if entry.date > today:
        found.append(_check(entry, "date-future", "warning", 0,
                            f"dated {entry.date.isoformat()}, in the future"))  # fmt: skip
    elif entry.date.year < first_year:
        found.append(_check(entry, "date-far", "warning", 0,
                            f"dated {entry.date.isoformat()}, before volume 1"))  # fmt: skip
    return found


def check_links(entry: Entry) -> list[Problem]:
    found: list[Problem] = []
    for line, text in _lines(entry) if entry.markdown else []:
        links = list(_LINK_RE.finditer(text))
        if not links and is_debris(text):
            found.append(_check(entry, "broken-markup", "error", line,
                                f"leftover of broken markup {text.strip()!r}"))  # fmt: skip
        for match in links:
            url, label = match["url"], match["label"].strip()
            if match["bang"]:
                found.append(_check(entry, "broken-image", "error", line,
                                    f"image {url or '(empty)'!r}: images in entries are not "
                                    "shown in the email; remove it"))  # fmt: skip
            elif not url:
                found.append(_check(entry, "broken-link", "error", line,
                                    f"link {label!r} has an empty address"))  # fmt: skip
            elif not _GOOD_URL.match(url):
                found.append(_check(entry, "broken-link", "error", line,
                                    f"link {label!r} goes to {url!r}: not a URL"))  # fmt: skip
            elif not label:
                found.append(_check(entry, "empty-link", "warning", line,
                                    f"link to {url} has no text"))  # fmt: skip
    return found


def check_raw_html(entry: Entry) -> list[Problem]:
    """HTML typed into a Markdown body, or an entity into a title, reaches readers as the
    characters typed (`<abbr title="...">`, `5&nbsp;%`): the body is rendered with HTML
    off, so that no markup in a file can run or reshape the email."""
    found = [
        _check(entry, "raw-html", "error", entry.body_line + line,
               f"HTML {tag[:60]!r} is shown to readers as typed: write Markdown or plain "
               "text instead")
        for line, tag in (raw_html(entry.markdown) if entry.markdown else [])
    ]  # fmt: skip
    entity = _ENTITY.search(entry.title)
    if entity and entry.path is not None:
        found.append(_check(entry, "raw-html", "error", line_of(entry.path, "title"),
                            f"title: {entity.group()!r} is shown to readers as typed: type "
                            "the character itself"))  # fmt: skip
    return found


def check_source(entry: Entry) -> list[Problem]:
    if entry.source_url or entry.source_name:
        return []
    return [_check(entry, "no-source", "warning", 1, "no source: add `source:` (a URL)")]


def check_duplicates(entries: Sequence[Entry]) -> list[Problem]:
    """Near-identical titles, or bodies sharing most of their words."""
    found: list[Problem] = []
    titles = {e.id: " ".join(normalize(e.title)) for e in entries}
    words = {e.id: set(normalize(e.text)) for e in entries}
    for first, second in combinations(entries, 2):
        matcher = difflib.SequenceMatcher(None, titles[first.id], titles[second.id])
        close_title = (
            matcher.real_quick_ratio() >= TITLE_SIMILARITY
            and matcher.quick_ratio() >= TITLE_SIMILARITY
            and matcher.ratio() >= TITLE_SIMILARITY
        )
        a, b = words[first.id], words[second.id]
        smaller = min(len(a), len(b))
        close_text = smaller >= MIN_BODY_WORDS and len(a & b) / smaller >= BODY_OVERLAP
        if close_title or close_text:
            what = "title" if close_title else "text"
            found.append(
                _check(second, "duplicate", "warning", 1,
                       f"same story twice? its {what} is close to {_where(first)}")
            )  # fmt: skip
    return found


def check_sections(settings: Settings, issue: Issue) -> list[Problem]:
    if not issue.sections:  # one finding for the week, not one per theme
        outcome = (
            "every active reader gets the quiet-week issue ([schedule] send_empty = true)"
            if settings.schedule.send_empty
            else "nothing is sent ([schedule] send_empty = false)"
        )
        return [Problem("empty-issue", "warning", str(settings.path), 0,
                        f"no entry in {issue.key}: {outcome}")]  # fmt: skip
    filled = {s.theme.id for s in issue.sections}
    return [
        Problem("empty-section", "warning", str(settings.path), 0,
                f"theme {t.id!r} has no entry in {issue.key}: readers who chose only it "
                "get no email")
        for t in settings.themes
        if t.id not in filled
    ]  # fmt: skip


def run_checks(
    settings: Settings,
    entries: Iterable[Entry],
    issue: Issue,
    now: dt.datetime,
    problems: Iterable[Problem] = (),
) -> list[Check]:
    """Every finding about `entries` and `issue`, source `problems` first, errors first."""
    today = now.astimezone(settings.tz).date()
    chosen = list(entries)
    found: list[Problem] = list(problems)
    for entry in chosen:
        found += check_dates(entry, today, settings.newsletter.first_year)
        found += check_links(entry)
        found += check_raw_html(entry)
        found += check_source(entry)
    found += check_duplicates(chosen)
    found += check_sections(settings, issue)
    return sorted(found, key=lambda c: (not c.is_error, c.path, c.line))


def issue_checks(settings: Settings, issue: Issue, now: dt.datetime) -> list[Check]:
    """The checks of the issue's own entries: what `digest send`, an automatic send and
    the preview each run before showing or sending it."""
    return run_checks(settings, issue.entries, issue, now)


def check_line(check: Check) -> str:
    """`severity: [id] file:line: message`, the one way checks are printed and shown."""
    return f"{check.severity}: [{check.id}] {check}"
