"""`digest subscribers add|remove|list|show|import|export`: the store from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from digest.atomic import write_atomic
from digest.commands import config_option, settings_from_context
from digest.config import Settings
from digest.errors import SubscriberError
from digest.models import Subscriber
from digest.store import STATUSES, Store, SubscriberRecord, open_store, target_of
from digest.subscribers import (
    FORMATS,
    Vocabulary,
    check_language,
    export_csv,
    normalize_address,
    parse_csv,
    parse_themes,
    record_data,
)


def vocabulary(settings: Settings) -> Vocabulary:
    news = settings.newsletter
    return Vocabulary(
        frozenset(t.id for t in settings.themes), news.languages, news.language,
        settings.delivery.special_use_domains,
    )  # fmt: skip


def _find(store: Store, email: str) -> SubscriberRecord:
    try:
        address = normalize_address(email, special_use=True)  # a lookup admits nobody
    except ValueError as exc:
        raise SubscriberError(f"{email!r}: {exc}") from None
    found = store.record_by_email(address)
    if found is None:
        raise SubscriberError(f"{address}: no such subscriber")
    return found


@click.group()
def subscribers() -> None:
    """Manage the subscriber store."""


@subscribers.command("import")
@config_option
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "kind",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="CSV layout; auto recognises ours, listmonk's and Mailchimp's exports by header.",
)
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows, report the rest.")
def import_subscribers(csv_file: Path, kind: str, skip_invalid: bool) -> None:
    """Load subscribers from a CSV: ours, or a listmonk or Mailchimp export.

    Ours has columns email,name,language,themes (themes: ids separated by `|`, empty
    for all) and optionally status, dates, consent_source and attributes, as `export`
    writes them. Unknown columns are kept as attributes. The import is all-or-nothing:
    any bad row is reported with its line and nothing is changed, unless
    --skip-invalid. An import never changes an address that unsubscribed,
    complained, bounced or was erased: such rows are reported as kept out.

    \b
    Example:
      digest subscribers import subscribers/sample.csv
      digest subscribers import --skip-invalid mailchimp_subscribed.csv
    """
    settings = settings_from_context()
    parsed = parse_csv(csv_file, vocabulary(settings), kind)
    if not skip_invalid:
        parsed.raise_errors()
    for error in parsed.errors:
        click.echo(f"skipped: {error}", err=True)
    with open_store(settings) as store:
        counts = store.import_records(parsed.records, new_consent=f"import:{csv_file.name}")
    click.echo(
        f"imported {counts.added + counts.updated + counts.unchanged} subscriber(s) from "
        f"{csv_file} ({parsed.kind} format: {counts.added} new, {counts.updated} updated, "
        f"{counts.unchanged} unchanged"
        f"{f', {len(parsed.errors)} skipped' if parsed.errors else ''}) "
        f"into {target_of(settings).where}"
    )
    if counts.kept_out:
        click.echo(
            f"{counts.kept_out} row(s) kept out, left as they were: those people "
            "unsubscribed, complained, bounced or were erased; only their own confirmed "
            "sign-up brings them back"
        )


@subscribers.command("export")
@config_option
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path), default="-")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only this status.")
def export_subscribers(csv_file: Path, status: str | None) -> None:
    """Write subscribers as UTF-8 CSV (to stdout with `-`) that `import` reads back unchanged.

    \b
    Example:
      digest subscribers export backup.csv
      digest subscribers export --status active - | head
    """
    settings = settings_from_context()
    with open_store(settings) as store:
        text = export_csv(store.records(status))
    if str(csv_file) == "-":
        sys.stdout.write(text)
        return
    write_atomic(csv_file, text.encode("utf-8"), error=SubscriberError)
    click.echo(f"exported {text.count(chr(10)) - 1} subscriber(s) to {csv_file}", err=True)


@subscribers.command("add")
@config_option
@click.argument("email")
@click.option("--name", default=None, help="Display name.")
@click.option("--language", default=None, help="Language (default: [newsletter] language).")
@click.option(
    "--themes", default=None, help="Theme ids separated by `|`, empty for all (default: all)."
)
@click.option(
    "--consent",
    default=None,
    help="Where a new subscriber's consent was given, kept on record (e.g. 'paper form "
    "2025-11-30'). [default: cli]",
)
def add_subscriber(
    email: str, name: str | None, language: str | None, themes: str | None, consent: str | None
) -> None:
    """Add one active subscriber whose consent you hold, or update one.

    On an existing address only the options given change: the others keep the stored
    values, as a column a CSV lacks does on import, and the consent record (source and
    time) stays as it was. A new address gets the defaults for the options not given.
    --consent is recorded for a new address, and for a pending sign-up (never
    confirmed) that this makes active.

    \b
    Example:
      digest subscribers add ana@example.org --name "Ana" --language en --themes ukraine
      digest subscribers add ana@example.org --themes "ukraine|summit"
    """
    settings = settings_from_context()
    vocab = vocabulary(settings)
    options = {"name": name, "language": language, "themes": themes}
    try:
        subscriber = Subscriber(
            normalize_address(email, vocab.special_use_domains),
            " ".join((name or "").split()),
            check_language(language or "", vocab),
            parse_themes(themes or "", vocab.theme_ids),
        )
    except ValueError as exc:
        raise SubscriberError(f"{email}: {exc}") from None
    with open_store(settings) as store:
        known = store.record_by_email(subscriber.email)
        # Consent is recorded once, when given; import_records keeps the stored source
        # when the record's is empty. A pending sign-up has not confirmed: activating it
        # here is the consent, so it is recorded as for a new address.
        kept = known if known and known.status != "pending" else None
        record = SubscriberRecord(
            subscriber,
            status="active",
            consent_source="" if kept else (consent or "cli"),
            given=frozenset(k for k, v in options.items() if v is not None),
        )
        counts = store.import_records([record])
        stored = store.record_by_email(subscriber.email)
    if counts.kept_out:
        raise SubscriberError(
            f"{subscriber.email}: kept out: this address unsubscribed, complained, bounced "
            "or was erased; only its owner's confirmed sign-up (the subscribe form) brings "
            "it back"
        )
    verb = "added" if counts.added else "updated" if counts.updated else "unchanged"
    address, status = (stored.subscriber.email, stored.status) if stored else (email, "?")
    click.echo(f"{verb} {address} ({status})")
    if kept and consent is not None:
        click.echo(
            f"consent on record kept: {kept.consent_source or '(none)'} "
            "(--consent is recorded for a new subscriber only)"
        )


@subscribers.command("remove")
@config_option
@click.argument("email")
@click.option("--erase", is_flag=True, help="Delete every trace instead of unsubscribing.")
def remove_subscriber(email: str, erase: bool) -> None:
    """Unsubscribe an address (kept, so no import re-adds it), or --erase it entirely.

    \b
    Example:
      digest subscribers remove ana@example.org
      digest subscribers remove --erase ana@example.org
    """
    settings = settings_from_context()
    with open_store(settings) as store:
        found = _find(store, email)
        if erase:
            store.erase(found.subscriber.id)
            click.echo(f"erased {found.subscriber.email}")
        else:
            store.unsubscribe(found.subscriber.id)
            click.echo(f"unsubscribed {found.subscriber.email}")


@subscribers.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only this status.")
def list_subscribers(as_json: bool, status: str | None) -> None:
    """List subscribers with their language, themes and status.

    \b
    Example:
      digest subscribers list --json
    """
    settings = settings_from_context()
    with open_store(settings) as store:
        rows = store.records(status)
    if as_json:
        click.echo(json.dumps([record_data(r) for r in rows], ensure_ascii=False, indent=2))
        return
    for r in rows:
        s = r.subscriber
        themes = "|".join(sorted(s.themes)) or "(all)"
        click.echo(f"{s.id:>4}  {s.email:<32} {s.language:<3} {s.status:<12} {themes}  {s.name}")
    click.echo(f"{len(rows)} subscriber(s)")


@subscribers.command("show")
@config_option
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_subscriber(email: str, as_json: bool) -> None:
    """Everything stored about one subscriber.

    \b
    Example:
      digest subscribers show ana@example.org --json
    """
    settings = settings_from_context()
    with open_store(settings) as store:
        data = record_data(_find(store, email))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        if isinstance(value, list):
            value = "|".join(value) or "(all)"
        elif isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        click.echo(f"{key + ':':<17}{'' if value is None else value}")
