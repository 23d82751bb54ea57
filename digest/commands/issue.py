"""`digest build` and `digest send`."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import click

from digest import pipeline
from digest.commands import config_option, date_option, edition_for, settings_from_context
from digest.config import Settings
from digest.delivery.outbox import SendSummary
from digest.errors import DigestError
from digest.store import Store

EX_TEMPFAIL = 75
"""sysexits: try again later (rows are still pending)."""


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
@click.option("--dry-run", is_flag=True, help="List who would get which variant; send nothing.")
def send(day: dt.datetime | None, dry_run: bool) -> None:
    """Send the week's issue to every active subscriber through the configured transport.

    Running it again for the same week resumes: nobody already mailed is mailed twice.
    Exits 1 if a message failed permanently, 75 if some stay pending (rerun to retry).

    \b
    Example:
      digest send --date 2025-12-01 --dry-run
      DIGEST_DELIVERY_TRANSPORT=smtp digest send --date 2025-12-01
    """
    settings = settings_from_context()
    edition = edition_for(settings, day)
    if dry_run:
        with Store(settings.store.path) as store:
            show_plan(edition.issue.key, pipeline.plan(edition, store))
        return
    with Store(settings.store.path) as store:
        summary = send_with_progress(settings, edition, store)
        counts = store.counts(edition.issue.key)
    report_send(settings, summary, counts)


def show_plan(issue_key: str, planned: list[pipeline.PlannedDelivery]) -> None:
    for item in planned:
        click.echo(f"{item.email}\t{item.variant or '-'}\t{item.status}")
    would = sum(1 for p in planned if p.status == "pending")
    click.echo(f"issue {issue_key} dry run: {would} would be sent, nothing was sent")


def send_with_progress(settings: Settings, edition: pipeline.Edition, store: Store) -> SendSummary:
    """A progress bar with rate and ETA on a terminal; silent when piped or logged."""
    transport = pipeline.make_transport(settings)
    kwargs = pipeline.send_edges(settings)
    if not sys.stdout.isatty():
        return pipeline.send(edition, store, transport, **kwargs)
    total = store.counts(edition.issue.key).get("pending") or len(store.subscribers("active"))
    started = time.monotonic()
    done = 0

    def rate(_: object) -> str:
        elapsed = max(time.monotonic() - started, 1e-6)
        return f"{done / elapsed:.1f} msg/s"

    with click.progressbar(
        length=total, label="sending", show_eta=True, item_show_func=rate
    ) as bar:

        def tick(email: str, reply: str) -> None:
            nonlocal done
            done += 1
            bar.update(1, email)

        return pipeline.send(edition, store, transport, tick, **kwargs)


def report_send(settings: Settings, summary: SendSummary, counts: dict[str, int]) -> None:
    verb = "resumed" if summary.resumed else "sent"
    click.echo(
        f"issue {summary.issue_key} {verb}: {summary.sent} sent, {summary.failed} failed, "
        f"{summary.skipped} skipped this run; {counts.get('sent', 0)} sent in all"
    )
    if summary.retries or summary.deferred:
        click.echo(f"{summary.retries} retried, {summary.deferred} deferred (still pending)")
    if summary.no_content:
        click.echo(
            f"{len(summary.no_content)} subscriber(s) got no email: none of their themes "
            "has an entry this week"
        )
    if settings.delivery.transport == "file":
        click.echo(f"messages in {settings.delivery.outbox_dir}")
    for address in summary.bounced:
        click.echo(f"bounced: {address} (hard-bounce limit reached; no more mail)")
    for address, reason in summary.failures:
        click.echo(f"failed: {address}: {reason}", err=True)
    if summary.paused:
        click.echo(f"error: {summary.paused}", err=True)
    if summary.failed:
        raise click.exceptions.Exit(1)
    if summary.paused or summary.deferred:
        raise click.exceptions.Exit(EX_TEMPFAIL)
