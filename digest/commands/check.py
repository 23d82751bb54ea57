"""`digest check`: the editorial checks, as the editor runs them before a send."""

from __future__ import annotations

import datetime as dt

import click

from digest import pipeline
from digest.checks import check_line, issue_checks, run_checks
from digest.commands import config_option, date_option, settings_from_context, utc_now
from digest.config import Settings
from digest.entries import gather_entries
from digest.errors import DigestError


@click.command()
@config_option
@date_option
@click.option("--all", "check_all", is_flag=True, help="Check every entry, not only the week's.")
def check(day: dt.datetime | None, check_all: bool) -> None:
    """Run the editorial checks on the week's entries and exit non-zero on any error.

    Errors (a weekday that contradicts its date, a broken link or image, an unusable
    entry file) stop `digest send` unless `--force`; warnings (no source, the same story
    twice, an empty theme, an odd date, a feed that failed) are for the editor to judge.

    \b
    Example:
      digest check --date 2025-12-02
    """
    settings = settings_from_context()
    now = utc_now()
    date = day.date() if day else pipeline.local_today(settings, now)
    collected = gather_entries(settings, date)
    issue = pipeline.week_issue(settings, collected.entries, date)
    entries = collected.entries if check_all else issue.entries
    checks = run_checks(settings, entries, issue, now, collected.problems)
    for found in checks:
        click.echo(check_line(found))
    errors = sum(1 for c in checks if c.is_error)
    click.echo(
        f"{issue.key}: {len(entries)} entries checked, {errors} error(s), "
        f"{len(checks) - errors} warning(s)"
    )
    if errors:
        raise click.exceptions.Exit(1)


def stop_on_check_errors(settings: Settings, edition: pipeline.Edition, force: bool) -> None:
    """Print the issue's check errors; raise unless `force` (then send anyway)."""
    errors = [c for c in issue_checks(settings, edition.issue, edition.now) if c.is_error]
    for found in errors:
        line = check_line(found)
        click.echo(line.replace("error:", "warning:", 1) if force else line, err=True)
    if errors and not force:
        raise DigestError(
            f"{len(errors)} editorial check error(s) in {edition.issue.key}: fix them "
            "(see `digest check`) or send with --force"
        )
