"""The `digest` command line: each command parses, builds its edges, makes one library
call and prints. DigestError becomes a one-line message and a non-zero exit here and
nowhere else; bad input never shows a traceback."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from digest import __version__, pipeline
from digest.config import Settings, default_config_path, load_settings
from digest.errors import DigestError
from digest.store import Store
from digest.subscribers import read_csv

F = TypeVar("F", bound=Callable[..., Any])


class DigestGroup(click.Group):
    """Turns DigestError into `error: ...` on stderr and the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DigestError as exc:
            for line in str(exc).splitlines() or ["unknown error"]:
                click.echo(f"error: {line}", err=True)
            ctx.exit(exc.exit_code)


def _config_option(func: F) -> F:
    """`--config PATH` on every command as well as on the group."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="config.toml to use (default: ./config.toml or $DIGEST_CONFIG).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, config_path: Path | None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        if config_path is not None:
            ctx.meta["digest.config"] = config_path
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def settings_from_context() -> Settings:
    ctx = click.get_current_context()
    path = ctx.meta.get("digest.config") or default_config_path(os.environ)
    return load_settings(Path(path))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_DATE = click.DateTime(formats=["%Y-%m-%d"])
_date_option = click.option(
    "--date",
    "day",
    type=_DATE,
    default=None,
    help="Any day of the week to use, YYYY-MM-DD (default: today in the configured zone).",
)


def _edition(settings: Settings, day: dt.datetime | None) -> pipeline.Edition:
    now = _now()
    date = day.date() if day else pipeline.local_today(settings, now)
    issue = pipeline.assemble(settings, pipeline.read_entries(settings), date)
    return pipeline.Edition(settings, issue, pipeline.make_signer(settings), now)


@click.group(cls=DigestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="digest")
@_config_option
def cli() -> None:
    """Build themed newsletter digests of briefing entries and mail them.

    \b
    Example:
      digest --config config.toml build --date 2025-12-01
    """


@cli.command()
@_config_option
@_date_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for issue.html, issue.txt and issue.eml (default: [build] out_dir).",
)
@click.option("--language", default=None, help="Language of the built sample (default: config).")
def build(day: dt.datetime | None, out_dir: Path | None, language: str | None) -> None:
    """Render the week's issue to HTML, plain text and a sample .eml.

    \b
    Example:
      digest build --date 2025-12-01 --out build/
    """
    settings = settings_from_context()
    if language and language not in settings.newsletter.languages:
        raise DigestError(f"--language: {language!r} is not one of {settings.newsletter.languages}")
    edition = _edition(settings, day)
    result = pipeline.build(edition, out_dir or settings.build.out_dir, language)
    issue = result.issue
    click.echo(
        f"issue {issue.key} (vol. {issue.volume}, no. {issue.number}): "
        f"{len(issue.entries)} entries in {len(issue.sections)} sections, "
        f"HTML {result.html_bytes / 1024:.1f} KB"
    )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for path in result.files:
        click.echo(f"wrote {path}")


@cli.command()
@_config_option
@_date_option
def send(day: dt.datetime | None) -> None:
    """Send the week's issue to every active subscriber through the configured transport.

    Running it again for the same week resumes: nobody already mailed is mailed twice.

    \b
    Example:
      DIGEST_DELIVERY_TRANSPORT=smtp digest send --date 2025-12-01
    """
    settings = settings_from_context()
    edition = _edition(settings, day)
    transport = pipeline.make_transport(settings)
    with Store(settings.store.path) as store:
        summary = pipeline.send(edition, store, transport)
        counts = store.counts(edition.issue.key)
    verb = "resumed" if summary.resumed else "sent"
    click.echo(
        f"issue {summary.issue_key} {verb}: {summary.sent} sent, {summary.failed} failed, "
        f"{summary.skipped} skipped this run; {counts.get('sent', 0)} sent in all"
    )
    if summary.no_content:
        click.echo(
            f"{len(summary.no_content)} subscriber(s) got no email: none of their themes "
            "has an entry this week"
        )
    if settings.delivery.transport == "file":
        click.echo(f"messages in {settings.delivery.outbox_dir}")
    for address, reason in summary.failures:
        click.echo(f"failed: {address}: {reason}", err=True)
    if summary.failed:
        raise click.exceptions.Exit(1)


@cli.group()
def subscribers() -> None:
    """Manage the subscriber store."""


@subscribers.command("import")
@_config_option
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
@_config_option
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


def main() -> None:
    cli(prog_name="digest")
