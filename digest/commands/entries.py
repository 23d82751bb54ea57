"""`digest entries import` and `digest entries list`: bring entries in, and see how the
classifier files them."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Any

import click

from digest.commands import DATE, config_option, settings_from_context, warn
from digest.entries import gather_entries
from digest.imports import ImportResult, OptionError, preview_import, write_import
from digest.sources.feed import is_url
from digest.sources.language import declared_language
from digest.store import Store
from digest.themes import classify


@click.group()
def entries() -> None:
    """Import and inspect briefing entries."""


@entries.command("import")
@config_option
@click.argument("source_file", metavar="FILE|URL")
@click.option("--date", "day", type=DATE, default=None, help="Date of the entries, YYYY-MM-DD "
              "(default: the date the text or page gives).")  # fmt: skip
@click.option("--source", default=None, help="Source URL, or a source name, for every entry.")
@click.option("--language", default=None, help="Language of a text or page, e.g. fr "
              "(default: the page's own, else detected, else config).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show the entries it would write; write nothing.")
def import_entries(
    source_file: str,
    day: dt.datetime | None,
    source: str | None,
    language: str | None,
    dry_run: bool,
) -> None:
    """Turn a text, an article page or a feed (file or URL) into Markdown entries.

    The importer says which shape it saw: a structured briefing (a lead, then sections
    under short heading lines), one article (its first line is the headline), Markdown
    (`#` headings, lists), a numbered list of topics, an HTML article page (its main text,
    title, date, language and site name), or an RSS/Atom feed. Page furniture (update
    lines, bylines, share and cookie lines, lone dates, image credits) and leftover markup
    are dropped and reported with their line. The classifier's guess is written as
    `suggested_theme`; `themes` stays the editor's. Existing files are never overwritten,
    and feed items already imported or published are skipped.

    \b
    Example:
      digest entries import pasted/rutte.txt --source https://www.nato.int/ --date 2025-12-02
      digest entries import https://example.org/2025/06/article.html
      digest entries import https://example.org/feed.xml --dry-run
    """
    settings = settings_from_context()
    if language and not declared_language(language):
        raise click.BadParameter(f"{language!r} is not a language code such as fr or en")
    with Store(settings.store.path) as store:
        try:
            plan = preview_import(
                settings,
                source_file,
                day.date() if day else None,
                source,
                language,
                cache=store if is_url(source_file) else None,
                published=store.published_feed_items(),
            )
        except OptionError as exc:
            raise click.UsageError(str(exc)) from None
    languages = sorted({str(d.meta.get("language", "")) for d in plan.drafts})
    said = f" in {', '.join(languages)}" if languages else ""
    click.echo(f"{source_file}: read as {plan.shape}{said}")
    if dry_run:
        for problem in plan.problems:
            warn(problem)
        for draft in plan.drafts:
            written = draft.written
            click.echo(f"would write {draft.path} [{written.theme_id} {written.score}] "
                       f"{written.title}")  # fmt: skip
        for skipped in plan.skipped:
            click.echo(f"skipped {skipped}")
        click.echo(f"{len(plan.drafts)} entr{'y' if len(plan.drafts) == 1 else 'ies'} "
                   "would be written")  # fmt: skip
        return
    _report(write_import(plan))


def _report(result: ImportResult) -> None:
    for problem in result.problems:
        warn(problem)
    for written in result.written:
        click.echo(f"wrote {written.path} [{written.theme_id} {written.score}] {written.title}")
    for skipped in result.skipped:
        click.echo(f"skipped {skipped}")
    click.echo(f"{len(result.written)} entr{'y' if len(result.written) == 1 else 'ies'} written")
    if any(p.id == "weekday-date" for p in result.problems):
        click.echo("run `digest check` after fixing the date in the entry text")


@entries.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--date", "day", type=DATE, default=None, help="Only the week of this day.")
def list_entries(as_json: bool, day: dt.datetime | None) -> None:
    """List entries with the theme each goes to and its score, so editors see why.

    The score counts keyword matches, a title match weighing 3; `why` lists the evidence
    (each term, where it was found, and the context words). `chosen_by` is `editor` when
    the front matter's `themes` chose, `classifier` otherwise; `brief` means no theme
    qualified.

    \b
    Example:
      digest entries list --date 2025-12-02 --json
    """
    settings = settings_from_context()
    collected = gather_entries(settings, day.date() if day else None)
    rows = []
    for entry in sorted(collected.entries, key=lambda e: (e.date, e.id)):
        if day is not None and entry.date.isocalendar()[:2] != day.date().isocalendar()[:2]:
            continue
        found = classify(entry, settings.themes)
        rows.append(
            {
                "id": entry.id,
                "date": entry.date.isoformat(),
                "title": entry.title,
                "theme": found.theme_id,
                "score": found.score,
                "chosen_by": found.chosen_by,
                "scores": found.scores,
                "evidence": {theme_id: asdict(e) for theme_id, e in found.evidence.items()},
                "origin": str(entry.path) if entry.path else f"feed {entry.guid}",
            }
        )  # fmt: skip
    for problem in collected.problems:
        click.echo(f"{problem.severity}: {problem}", err=True)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['date']}  {row['theme']:<10} {row['score']:>3} {row['chosen_by']:<10} "
            f"{row['title']}"
        )
        click.echo(f"{'':12}why: {_why(row)}")


def _why(row: dict[str, Any]) -> str:
    """The evidence behind the row's theme, or why no theme took it."""
    evidence = row["evidence"]
    if row["theme"] in evidence:
        return str(evidence[row["theme"]]["reason"])
    found = [f"{t}: {e['reason']}" for t, e in evidence.items() if e["score"]]
    return "; ".join(found) or "no theme's term found"
