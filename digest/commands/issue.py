"""`digest build` and `digest send`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from digest import jobs, pipeline
from digest.commands import (
    config_option,
    date_option,
    edition_for,
    settings_from_context,
    utc_now,
)
from digest.commands.check import stop_on_check_errors
from digest.commands.proof import send_test_proof
from digest.errors import DigestError
from digest.schedule import next_fire_for


@click.command()
@config_option
@date_option
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
    edition = edition_for(settings, day)
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


@click.command()
@config_option
@date_option
@click.option("--force", is_flag=True, help="Send even if editorial checks find errors.")
@click.option(
    "--if-due",
    is_flag=True,
    help="For cron: send the current period's issue only if [schedule] says it is due "
    "and it was not sent yet; otherwise print why and exit 0.",
)
@click.option(
    "--test-to",
    "test_to",
    default=None,
    metavar="ADDRESS",
    help="Send one proof to ADDRESS through the configured transport; the outbox is untouched.",
)
@click.option(
    "--variant",
    "variant_label",
    default=None,
    metavar="LANG:THEMES",
    help="Variant of the proof, e.g. en:all or fr:spending|ukraine (default: config language).",
)
def send(
    day: dt.datetime | None,
    force: bool,
    if_due: bool,
    test_to: str | None,
    variant_label: str | None,
) -> None:
    """Send the week's issue to every active subscriber through the configured transport.

    Running it again for the same week resumes: nobody already mailed is mailed twice.
    With --test-to, send only a proof to one address.

    \b
    Example:
      DIGEST_DELIVERY_TRANSPORT=smtp digest send --date 2025-12-01
      digest send --if-due    # from cron or a systemd timer
      digest send --test-to editor@example.org --variant en:ukraine
    """
    settings = settings_from_context()
    if variant_label is not None and test_to is None:
        raise DigestError("--variant only applies to a proof: add --test-to ADDRESS")
    if test_to is not None:
        if if_due:
            raise DigestError("--test-to sends a proof: drop --if-due")
        send_test_proof(settings, edition_for(settings, day), test_to, variant_label)
        return
    if if_due:
        if day is not None:
            raise DigestError("--if-due takes the week from [schedule]: drop --date")
        report = jobs.run_if_due(settings, utc_now(), next_fire_for(settings))
        click.echo(report.line)
        if report.result is None:
            return
        result = report.result
    else:
        edition = edition_for(settings, day)
        stop_on_check_errors(settings, edition, force)
        result = jobs.run_send(edition)
    summary, counts = result.summary, result.counts
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
