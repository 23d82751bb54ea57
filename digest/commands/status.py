"""`digest status`: where each recent issue's send stands, from the outbox rows."""

from __future__ import annotations

import json

import click

from digest.commands import config_option, settings_from_context
from digest.store import Store


@click.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=10, show_default=True,
    help="How many recent issues.",
)  # fmt: skip
def status(as_json: bool, limit: int) -> None:
    """Show the last issues with their sent, failed, pending and skipped counts, and how
    many of their recipients bounced or complained afterwards.

    An issue with pending rows was interrupted or deferred: `digest send` for the
    same week resumes it. Bounced and complained count the reports `digest bounces
    process` matched to the issue (a message the server accepted, then returned).

    \b
    Example:
      digest status
      digest status --json --limit 3
    """
    settings = settings_from_context()
    with Store(settings.store.path) as store:
        rows = store.issue_statuses(limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no issue sent yet")
        return
    click.echo(
        f"{'issue':<10} {'sent':>7} {'failed':>7} {'pending':>8} {'skipped':>8} "
        f"{'bounced':>8} {'complained':>11}  state"
    )
    for row in rows:
        state = "complete" if row["completed_at"] else "in progress (rerun send to resume)"
        click.echo(
            f"{row['issue']!s:<10} {row['sent']:>7} {row['failed']:>7} "
            f"{row['pending']:>8} {row['skipped']:>8} {row['bounced']:>8} "
            f"{row['complained']:>11}  {state}"
        )
