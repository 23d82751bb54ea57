"""The `digest` command line. Each command parses its options, builds its edges, makes
one library call and prints; commands live in `digest.commands.*`, one module per area.
DigestError becomes a one-line message and a non-zero exit in DigestGroup and nowhere
else, so bad input never shows a traceback."""

from __future__ import annotations

import click

from digest import __version__
from digest.commands import DigestGroup, config_option
from digest.commands.bounces import bounces
from digest.commands.check import check
from digest.commands.entries import entries
from digest.commands.issue import build, send
from digest.commands.preview import preview
from digest.commands.schedule import schedule
from digest.commands.serve import serve
from digest.commands.status import status
from digest.commands.subscribers import subscribers
from digest.commands.themes import themes


@click.group(cls=DigestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="digest")
@config_option
def cli() -> None:
    """Build themed newsletter digests of briefing entries and mail them.

    \b
    Example:
      digest --config config.toml build --date 2025-12-01
    """


cli.add_command(build)
cli.add_command(send)
cli.add_command(subscribers)
cli.add_command(schedule)
cli.add_command(preview)
cli.add_command(entries)
cli.add_command(check)
cli.add_command(serve)
cli.add_command(status)
cli.add_command(bounces)
cli.add_command(themes)


def main() -> None:
    cli(prog_name="digest")
