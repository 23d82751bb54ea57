"""`digest build` and `digest send`."""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

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
from digest.commands.proof import proof_variant, send_test_proof
from digest.config import Settings
from digest.delivery.outbox import SendSummary
from digest.schedule import next_fire_for
from digest.store import open_store

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
    languages = settings.newsletter.languages
    if language and language not in languages:
        raise click.BadParameter(
            f"{language!r} is not one of {', '.join(languages)}", param_hint="'--language'"
        )
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
@click.option("--force", is_flag=True, help="Send even if editorial checks find errors.")
@click.option(
    "--if-due",
    is_flag=True,
    help="For cron: send the current period's issue only if [schedule] says it is due "
    "and it was not sent yet; otherwise print why and exit 0, or exit 3 when it waits "
    "for an editor (missed, or editorial-check errors).",
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
    dry_run: bool,
    force: bool,
    if_due: bool,
    test_to: str | None,
    variant_label: str | None,
) -> None:
    """Send the week's issue to every active subscriber through the configured transport.

    Running it again for the same week resumes: nobody already mailed is mailed twice.
    Exits 75 if some stay pending (rerun to retry), even if others failed; else 1 if a
    message failed permanently.
    With --test-to, send only a proof to one address.

    \b
    Example:
      digest send --date 2025-12-01 --dry-run
      DIGEST_DELIVERY_TRANSPORT=smtp digest send --date 2025-12-01
      digest send --if-due    # from cron or a systemd timer
      digest send --test-to editor@example.org --variant en:ukraine
    """
    if variant_label is not None and test_to is None:
        raise click.UsageError("--variant only applies to a proof: add --test-to ADDRESS")
    if sum((dry_run, if_due, test_to is not None)) > 1:
        raise click.UsageError("--dry-run, --if-due and --test-to do not go together: pick one")
    if if_due and day is not None:
        raise click.UsageError("--if-due takes the week from [schedule]: drop --date")
    settings = settings_from_context()
    if test_to is not None:
        variant = proof_variant(settings, test_to, variant_label)  # before reading the week
        send_test_proof(settings, edition_for(settings, day), test_to, variant)
        return
    if if_due:
        report = jobs.run_if_due(settings, utc_now(), next_fire_for(settings))
        click.echo(report.line)
        if report.result is None:
            return
        summary, counts = report.result.summary, report.result.counts
    else:
        edition = edition_for(settings, day)
        if dry_run:
            with open_store(settings) as store:
                show_plan(edition.issue.key, pipeline.plan(edition, store))
            return
        stop_on_check_errors(settings, edition, force)
        summary, counts = send_with_progress(edition)
    report_send(settings, summary, counts)


def show_plan(issue_key: str, planned: list[pipeline.PlannedDelivery]) -> None:
    for item in planned:
        click.echo(f"{item.email}\t{item.variant or '-'}\t{item.status}")
    would = sum(1 for p in planned if p.status == "pending")
    click.echo(f"issue {issue_key} dry run: {would} would be sent, nothing was sent")


@contextlib.contextmanager
def ctrl_c_stops(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C during a send sets `stop`: the messages in flight finish and are committed,
    the rest stay pending, and the command ends with the usual `error: interrupted` line
    (exit 130). Raised as KeyboardInterrupt, it could land inside a database call and
    leave the connection mid-command. A second Ctrl-C interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if stop.is_set():
        raise KeyboardInterrupt


def send_with_progress(edition: pipeline.Edition) -> tuple[SendSummary, dict[str, int]]:
    """A progress bar with rate and ETA on a terminal; silent when piped or logged."""
    stop = threading.Event()
    if not sys.stdout.isatty():
        with ctrl_c_stops(stop):
            result = jobs.run_send(edition, stop=stop)
        return result.summary, result.counts
    with open_store(edition.settings) as store:
        counts = store.counts(edition.issue.key)
        total = counts.get("pending") if counts else store.count_subscribers("active")
    started = time.monotonic()
    done = 0

    def rate(_: object) -> str:
        elapsed = max(time.monotonic() - started, 1e-6)
        return f"{done / elapsed:.1f} msg/s"

    with click.progressbar(
        length=total or 0, label="sending", show_eta=True, item_show_func=rate
    ) as bar:

        def tick(email: str, reply: str) -> None:
            nonlocal done
            done += 1
            bar.update(1, email)

        with ctrl_c_stops(stop):
            result = jobs.run_send(edition, stop=stop, on_sent=tick)
    return result.summary, result.counts


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
    # Pending rows win over failed ones: a rerun is what they need, and a wrapper that
    # reruns on 75 must not give up on them because someone else's address is dead.
    if summary.paused or summary.deferred:
        raise click.exceptions.Exit(EX_TEMPFAIL)
    if summary.failed:
        raise click.exceptions.Exit(1)
