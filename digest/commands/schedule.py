"""`digest schedule`: the weekly send as a foreground daemon (systemd, containers)."""

from __future__ import annotations

import logging

import click

from digest.commands import config_option, settings_from_context
from digest.schedule import run_daemon


@click.command()
@config_option
def schedule() -> None:
    """Stay in the foreground and send each weekly issue on time, exactly once.

    The time comes from [schedule] in config.toml, in [newsletter] timezone. On start
    it prints the next run and sends a run missed while it was down, if that is within
    misfire_grace_seconds; later than that, the issue waits for an editor. SIGTERM or
    Ctrl-C lets the message in flight finish, then stops (exit 0); a restart resumes.
    Running it next to cron's `digest send --if-due`, or twice, sends nothing twice.

    \b
    Example:
      digest schedule --config /etc/digest/config.toml
    """
    settings = settings_from_context()
    # APScheduler reports missed or failed runs through logging: keep them visible.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    run_daemon(settings, echo=click.echo, warn=lambda line: click.echo(line, err=True))
