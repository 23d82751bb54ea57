"""`digest store copy`: move the store to another engine or host."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click

from digest.commands import config_option, settings_from_context
from digest.store import Target, target_of
from digest.store.copy import copy_store


@click.group("store")
def store() -> None:
    """Manage the store itself (the database behind subscribers and the outbox)."""


@store.command("copy")
@config_option
@click.option(
    "--to", "to_url", required=True, metavar="URL",
    help="The empty store to fill, e.g. postgresql://digest@db.example.org/digest; "
    "its password comes from the variable named by [store] password_env.",
)  # fmt: skip
def copy(to_url: str) -> None:
    """Copy every table of the configured store into an empty one and verify the counts.

    The configured store is only read (a SQLite file is left untouched). Afterwards,
    point [store] url at the new store on every host.

    \b
    Example:
      DIGEST_STORE_PASSWORD=... digest store copy --to postgresql://digest@db/digest
    """
    settings = settings_from_context()
    source = target_of(settings)
    if to_url.startswith("sqlite:///"):
        target = Target(to_url, path=Path(to_url[len("sqlite:///") :]))
    elif to_url.startswith(("postgresql://", "postgres://")):
        if urlsplit(to_url).password is not None:
            raise click.UsageError(
                f"--to: holds a password; set ${settings.store.password_env} instead"
            )
        target = Target(to_url, password=settings.secret(settings.store.password_env))
    else:
        raise click.UsageError(
            f'--to: must start with "postgresql://" or "sqlite:///", got {to_url!r}'
        )
    copied = copy_store(source, target)
    for each in copied:
        click.echo(f"{each.table:<14} {each.rows:>8} rows copied, count verified")
    click.echo(f"copied {source.where} -> {target.where}")
