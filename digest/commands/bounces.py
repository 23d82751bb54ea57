"""`digest bounces process`: apply returned mail (DSNs, complaints) to subscribers."""

from __future__ import annotations

from pathlib import Path

import click

from digest.commands import config_option, settings_from_context
from digest.delivery.bounces import process as process_bounces
from digest.pipeline import make_signer
from digest.store import open_store


@click.group()
@config_option
def bounces() -> None:
    """Handle bounces and complaints returned to the sender address.

    \b
    Example:
      digest bounces process ~/Maildir/.bounces
    """


@bounces.command("process")
@config_option
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def process(path: Path) -> None:
    """Read DSNs (RFC 3464), ARF complaints and unsubscribe requests from a Maildir or
    mbox at PATH.

    Hard bounces count towards [delivery] hard_bounce_limit, soft ones towards
    [bounces] soft_limit; a delay warning or a delivery notice is no bounce and is
    only counted in the summary; a complaint marks the subscriber complained; a mail to the
    List-Unsubscribe address with a valid token unsubscribes its reader. Running it
    again on the same mailbox counts nothing twice.

    \b
    Example:
      digest bounces process /var/mail/bounces.mbox
    """
    settings = settings_from_context()
    with open_store(settings) as store:
        summary = process_bounces(
            path,
            store,
            settings.bounces,
            settings.delivery.hard_bounce_limit,
            make_signer(settings),
        )
    click.echo(
        f"{summary.messages} message(s): {summary.hard} hard, {summary.soft} soft, "
        f"{summary.complaints} complaint(s), {summary.unsubscribed} unsubscribe request(s), "
        f"{summary.notices} delay/delivery notice(s) ignored, "
        f"{summary.repeated} already seen, "
        f"{summary.unmatched} unmatched, {summary.ignored} not a report"
    )
    for address, new_status in summary.changed:
        click.echo(f"{address}: now {new_status}")
