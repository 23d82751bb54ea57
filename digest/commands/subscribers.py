"""`digest subscribers ...`: the subscriber store from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from digest.commands import config_option, settings_from_context
from digest.store import Store
from digest.subscribers import read_csv


@click.group()
def subscribers() -> None:
    """Manage the subscriber store."""


@subscribers.command("import")
@config_option
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
def import_subscribers(csv_file: Path) -> None:
    """Load subscribers from a CSV with columns email,name,language,themes.

    Themes are theme ids separated by `|`; empty means every theme. The import is
    all-or-nothing: any bad row is reported with its line and nothing is changed.

    \b
    Example:
      digest subscribers import subscribers/sample.csv
    """
    settings = settings_from_context()
    rows = read_csv(
        csv_file,
        (t.id for t in settings.themes),
        settings.newsletter.languages,
        settings.newsletter.language,
    )
    with Store(settings.store.path) as store:
        count = store.upsert_subscribers(rows, source=f"import:{csv_file.name}")
    click.echo(f"imported {count} subscriber(s) from {csv_file} into {settings.store.path}")


@subscribers.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_subscribers(as_json: bool) -> None:
    """List subscribers with their language, themes and status.

    \b
    Example:
      digest subscribers list --json
    """
    settings = settings_from_context()
    with Store(settings.store.path) as store:
        rows = store.subscribers()
    if as_json:
        data = [
            {"id": s.id, "email": s.email, "name": s.name, "language": s.language,
             "themes": sorted(s.themes), "status": s.status}
            for s in rows
        ]  # fmt: skip
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for s in rows:
        themes = "|".join(sorted(s.themes)) or "(all)"
        click.echo(f"{s.id:>4}  {s.email:<32} {s.language:<3} {s.status:<12} {themes}  {s.name}")
    click.echo(f"{len(rows)} subscriber(s)")
