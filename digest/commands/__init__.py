"""What every command shares: the error-mapping group, `--config`, `--date`, settings."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from digest import pipeline
from digest.config import Settings, default_config_path, load_settings
from digest.errors import DigestError

F = TypeVar("F", bound=Callable[..., Any])


class DigestGroup(click.Group):
    """Turns DigestError into `error: ...` on stderr and the error's exit code, and
    click's own usage errors (a bad option value, an unknown option) into one such line
    too, instead of click's three (`Usage:`, `Try ...`, `Error: ...`)."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # a bare `digest` or `digest subscribers` shows its help
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(usage_error_line(exc), err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DigestError as exc:
            for line in str(exc).splitlines() or ["unknown error"]:
                click.echo(f"error: {line}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            # A send stops after the messages in flight, with every outcome committed.
            click.echo("error: interrupted; run the same command again to resume", err=True)
            ctx.exit(130)  # 128 + SIGINT, as shells report it


def usage_error_line(exc: click.ClickException) -> str:
    """`error: digest send: Invalid value for '--date': ...` on one line."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        return f"error: {ctx.command_path}: {message} (see {ctx.command_path} --help)"
    return f"error: {message}"


def config_option(func: F) -> F:
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


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Day(click.DateTime):
    """YYYY-MM-DD whose whole ISO week is a valid date range (0001-01-01 has no Monday
    before it, 9999-12-31 no Sunday after it: both would overflow, not fail cleanly)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        day = super().convert(value, param, ctx)
        if not 1 < day.year < 9999:
            self.fail(f"{value!r} is out of range (years 2 to 9998)", param, ctx)
        return day


DATE = _Day(formats=["%Y-%m-%d"])
PORT = click.IntRange(0, 65535)
"""A TCP port; 0 lets the system choose. Out of range is a usage error, not a bind on
some other port (99999 wrapped around) or an OverflowError."""
date_option = click.option(
    "--date",
    "day",
    type=DATE,
    default=None,
    help="Any day of the week to use, YYYY-MM-DD (default: today in the configured zone).",
)


def warn(problem: object) -> None:
    click.echo(f"warning: {problem}", err=True)


def edition_for(settings: Settings, day: dt.datetime | None) -> pipeline.Edition:
    return pipeline.edition_for(settings, day.date() if day else None, utc_now(), warn)
