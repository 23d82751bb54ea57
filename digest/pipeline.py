"""Composes the steps: entries -> issue -> variants -> messages -> transport.

Every edge (settings, store, transport, clock) arrives as an argument, so the CLI, the
scheduler, the web preview and the tests all drive the same code.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from digest.assemble import assemble_issue
from digest.atomic import write_atomic
from digest.config import Settings
from digest.delivery.dkim import load_signer
from digest.delivery.file import ConsoleTransport, FileTransport
from digest.delivery.mime import ListHeaders, MessageFactory
from digest.delivery.outbox import OutboxOptions, SendSummary, deliver
from digest.delivery.smtp import SmtpOptions, SmtpTransport, TlsFiles, tls_context
from digest.delivery.transport import Transport
from digest.entries import gather_entries
from digest.errors import ConfigError, DigestError
from digest.links import Links
from digest.models import Entry, Issue, Message, Subscriber, Variant
from digest.render.i18n import reader_name
from digest.render.variant import CompiledVariant, render_variant
from digest.sources.problems import Problem, raise_for_errors
from digest.store import ArchivedVariant, Store
from digest.tokens import Signer, secret_key

SAMPLE_READER = Subscriber(
    id=0, email="reader@example.org", name="", language="", themes=frozenset()
)


def local_today(settings: Settings, now: dt.datetime) -> dt.date:
    return now.astimezone(settings.tz).date()


def read_entries(
    settings: Settings,
    day: dt.date | None = None,
    on_warning: Callable[[Problem], None] | None = None,
) -> list[Entry]:
    """Entries from Markdown files and feeds; every unusable entry is listed in one
    SourceError (the editor must act), warnings (a feed that failed) go to `on_warning`."""
    collected = gather_entries(settings, day)
    raise_for_errors(list(collected.problems))
    for problem in collected.warnings:
        if on_warning is not None:
            on_warning(problem)
    return list(collected.entries)


def week_issue(settings: Settings, entries: Iterable[Entry], day: dt.date) -> Issue:
    """The one way an issue is put together from the week's entries (build, send,
    schedule, check): the configured themes and numbering, nothing refused."""
    return assemble_issue(entries, settings.themes, day, settings.newsletter.first_year)


def edition_of(settings: Settings, issue: Issue, now: dt.datetime) -> Edition:
    """The one way an issue becomes an edition ready to render and send."""
    return Edition(settings, issue, make_signer(settings), now)


def assemble(
    settings: Settings, entries: Iterable[Entry], day: dt.date, allow_empty: bool | None = None
) -> Issue:
    """The week's issue. An empty week is refused unless `allow_empty` (default: [schedule]
    send_empty), when it becomes the quiet-week issue every reader gets."""
    issue = week_issue(settings, entries, day)
    if allow_empty is None:
        allow_empty = settings.schedule.send_empty
    if not issue.sections and not allow_empty:
        raise DigestError(
            f"no entries dated in week {issue.key} ({issue.start} to {issue.end}) "
            f"in {settings.entries.dir}: nothing to build (use --date to pick another week, "
            "or set [schedule] send_empty = true to send a quiet-week issue)"
        )
    return issue


def edition_for(
    settings: Settings,
    day: dt.date | None,
    now: dt.datetime,
    on_warning: Callable[[Problem], None] | None = None,
) -> Edition:
    """The issue of the week that contains `day` (default: today in the configured zone),
    ready to render. Entries are read for that week, so feed items it already published
    stay in it on a rebuild, a preview or a resumed send."""
    date = day or local_today(settings, now)
    issue = assemble(settings, read_entries(settings, date, on_warning), date)
    return edition_of(settings, issue, now)


def variant_of(subscriber: Subscriber, settings: Settings) -> Variant:
    language = subscriber.language or settings.newsletter.language
    all_ids = {t.id for t in settings.themes}
    themes = subscriber.themes if subscriber.themes != all_ids else frozenset()
    return Variant(language=language, themes=frozenset(themes))


class Edition:
    """One issue, rendered lazily once per variant and turned into messages per reader."""

    def __init__(
        self,
        settings: Settings,
        issue: Issue,
        signer: Signer,
        now: dt.datetime,
    ):
        self.settings = settings
        self.issue = issue
        self.signer = signer
        self.now = now
        self._compiled: dict[Variant, CompiledVariant] = {}
        self._factories: dict[Variant, MessageFactory] = {}
        self._fallback_names: dict[str, str] = {}

    def compiled(self, variant: Variant) -> CompiledVariant:
        if variant not in self._compiled:
            self._compiled[variant] = render_variant(
                self.issue,
                variant,
                self.settings.newsletter,
                self.settings.build.templates_dir,
                view_online=self.settings.serve.archive,  # no archive, no link to it
            )
        return self._compiled[variant]

    def has_content(self, variant: Variant) -> bool:
        """Whether readers of `variant` get an email. In a week with entries, only those
        with an entry in their themes; a quiet (empty) week goes to everyone, since it
        exists only because [schedule] send_empty asked for it."""
        return not self.issue.sections or bool(self.compiled(variant).sections)

    def factory(self, variant: Variant) -> MessageFactory:
        if variant not in self._factories:
            news = self.settings.newsletter
            self._factories[variant] = MessageFactory(
                self.compiled(variant),
                sender=news.sender,
                reply_to=news.reply_to,
                list_id=news.list_id,
                newsletter_name=news.name,
                date=self.now,
                extra_headers=self._feedback_header(variant),
                id_key=self.signer.message_id_key,
            )
        return self._factories[variant]

    def _feedback_header(self, variant: Variant) -> dict[str, str]:
        """Feedback-ID lets mailbox providers report complaints per issue and variant."""
        template = self.settings.delivery.feedback_id
        if not template:
            return {}
        label = variant.label.replace(":", "-")
        try:
            value = template.format(issue=self.issue.key, variant=label)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"{self.settings.path}: [delivery] feedback_id: bad placeholder {exc}"
            ) from None
        return {"Feedback-ID": value}

    def links(self, subscriber: Subscriber) -> dict[str, str]:
        links = Links(self.settings.newsletter.base_url, self.signer)
        unsubscribe = links.token("unsubscribe", subscriber)
        return {
            "unsubscribe_url": links.url("unsubscribe", unsubscribe),
            "preferences_url": links.link("preferences", subscriber),
            "unsubscribe_token": unsubscribe,
        }

    def archived_copy(self, variant: Variant) -> ArchivedVariant:
        """The web copy of `variant` as it goes out now: same content, an archive header
        instead of the subscriber footer, neutral values where each reader had theirs."""
        compiled = render_variant(
            self.issue,
            variant,
            self.settings.newsletter,
            self.settings.build.templates_dir,
            archive=True,
        )
        subscribe = f"{self.settings.newsletter.base_url.rstrip('/')}/subscribe"
        values = {
            "name": self.fallback_name(variant.language),
            "unsubscribe_url": subscribe,
            "preferences_url": subscribe,
        }
        return ArchivedVariant(
            issue_key=self.issue.key,
            variant=variant.label,
            language=variant.language,
            subject=compiled.subject,
            summary=compiled.preheader,
            html=compiled.html.fill(values),
            text=compiled.text.fill(values),
        )

    def fallback_name(self, language: str) -> str:
        """How to greet a reader without a name, from the language's catalog (looked up
        once per language and edition, not once per message)."""
        if language not in self._fallback_names:
            locale = self.settings.build.templates_dir / "locale"
            self._fallback_names[language] = reader_name(locale, language)
        return self._fallback_names[language]

    def message_for(self, subscriber: Subscriber, variant: Variant | None = None) -> Message:
        variant = variant or variant_of(subscriber, self.settings)
        links = self.links(subscriber)
        values = {
            "name": subscriber.name or self.fallback_name(variant.language),
            "unsubscribe_url": links["unsubscribe_url"],
            "preferences_url": links["preferences_url"],
        }
        factory = self.factory(variant)
        mailto = f"mailto:unsubscribe@{factory.domain}?subject=" + quote(
            f"unsubscribe {links['unsubscribe_token']}"
        )
        lists = ListHeaders(self.settings.newsletter.list_id, links["unsubscribe_url"], mailto)
        return factory.build(subscriber, self.issue.key, values, lists)


def make_signer(settings: Settings) -> Signer:
    return Signer(secret_key(settings))


def make_tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of [smtp] (private CA, client certificate), or None without TLS.
    Raises ConfigError naming the key and file when one cannot be used."""
    smtp = settings.smtp
    if settings.delivery.transport != "smtp" or smtp.security == "none":
        return None
    return tls_context(
        TlsFiles(
            settings.path, smtp.verify_certificates, smtp.ca_file, smtp.ca_dir,
            smtp.client_cert_file, smtp.client_key_file,
        )
    )  # fmt: skip


def make_transport(settings: Settings, context: ssl.SSLContext | None = None) -> Transport:
    kind = settings.delivery.transport
    if kind == "file":
        return FileTransport(settings.delivery.outbox_dir)
    if kind == "console":
        return ConsoleTransport()
    smtp = settings.smtp
    return SmtpTransport(
        SmtpOptions(
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=settings.secret(smtp.password_env),
            timeout=smtp.timeout,
            verify_certificates=smtp.verify_certificates,
        ),
        context or make_tls_context(settings),
    )


@dataclass(frozen=True)
class SendEdges:
    """What a send reaches outside itself, built once from the settings (the composition
    root of a send): the first connection, how to open the others, the [delivery]
    options and the DKIM signer."""

    transport: Transport
    options: OutboxOptions
    transport_factory: Callable[[], Transport] | None
    """Opens connections 2..N; None: the send uses `transport` alone."""
    sign: Callable[[Message], Message] | None


def send_edges(settings: Settings, transport: Transport | None = None) -> SendEdges:
    """The configured edges; a given `transport` is the only connection (tests, proofs).

    The DKIM keys and the TLS files are loaded here, once, so a bad one stops the send
    before anyone is mailed; every connection shares the one TLS context."""
    signer = load_signer(settings)
    context = make_tls_context(settings)
    return SendEdges(
        transport=transport if transport is not None else make_transport(settings, context),
        options=OutboxOptions.from_settings(settings.delivery),
        transport_factory=(
            (lambda: make_transport(settings, context)) if transport is None else None
        ),
        sign=signer.sign if signer is not None else None,
    )


# -- build -------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildResult:
    issue: Issue
    files: tuple[Path, ...]
    html_bytes: int
    warnings: tuple[str, ...]


def build(edition: Edition, out_dir: Path, language: str | None = None) -> BuildResult:
    """Write issue.html, issue.txt and a sample issue.eml for the all-themes variant.

    Everything is rendered in memory first and each file is replaced atomically, so a
    failed build leaves the previous output untouched.
    """
    settings = edition.settings
    variant = Variant(language=language or settings.newsletter.language, themes=frozenset())
    compiled = edition.compiled(variant)
    reader = SAMPLE_READER
    message = edition.message_for(reader, variant)
    links = edition.links(reader)
    values = {"name": edition.fallback_name(variant.language), **links}
    outputs = {
        "issue.html": compiled.html.fill(values).encode("utf-8"),
        "issue.txt": compiled.text.fill(values).encode("utf-8"),
        "issue.eml": message.data,
    }
    written = []
    for name, data in outputs.items():
        write_atomic(out_dir / name, data)
        written.append(out_dir / name)
    return BuildResult(edition.issue, tuple(written), compiled.html_bytes, compiled.warnings)


# -- send --------------------------------------------------------------------------


class SentCopies:
    """Stores each variant of an issue as it goes out, once: the public archive and the
    "view online" link of every email serve these copies, never a re-render."""

    def __init__(self, edition: Edition, store: Store) -> None:
        self.edition = edition
        self.store = store
        self.done = store.archived_labels(edition.issue.key)

    def keep(self, variant: Variant) -> None:
        if variant.label not in self.done:
            self.store.archive_variant(self.edition.archived_copy(variant))
            self.done.add(variant.label)

    def keep_public(self) -> None:
        """The all-themes copy in every language, which the archive shows to visitors."""
        for language in self.edition.settings.newsletter.languages:
            self.keep(Variant(language=language, themes=frozenset()))


def _recipients(
    edition: Edition, store: Store, no_content: list[str]
) -> Iterator[tuple[Subscriber, str]]:
    """Who gets which variant now, one at a time (a long list is never held in memory);
    those who get nothing (no entry for their themes) are appended to `no_content`."""
    for subscriber in store.iter_subscribers("active"):
        variant = variant_of(subscriber, edition.settings)
        if not edition.has_content(variant):
            no_content.append(subscriber.email)
            continue
        yield subscriber, variant.label


@dataclass(frozen=True)
class PlannedDelivery:
    email: str
    variant: str
    status: str


def plan(edition: Edition, store: Store) -> list[PlannedDelivery]:
    """What `send` would do, without freezing or sending anything (for --dry-run).

    Once an issue is frozen its rows are the plan: sent ones show as such, pending ones
    show the variant the reader would get now.
    """
    key = edition.issue.key
    if not store.counts(key):
        no_content: list[str] = []
        recipients = _recipients(edition, store, no_content)
        planned = [PlannedDelivery(s.email, label, "pending") for s, label in recipients]
        return planned + [PlannedDelivery(e, "", "no content") for e in no_content]
    planned = []
    for row in store.deliveries(key):
        status, label = row.status, ""
        if status == "pending":
            current = store.subscriber(row.subscriber_id)
            if current is None or current.status != "active":
                status = "skip: no longer active"
            else:
                variant = variant_of(current, edition.settings)
                label = variant.label
                if not edition.has_content(variant):
                    status = "skip: no content"
        planned.append(PlannedDelivery(row.email, label, status))
    return planned


def send(
    edition: Edition,
    store: Store,
    transport: Transport,
    on_sent: Callable[[str, str], None] | None = None,
    *,
    options: OutboxOptions | None = None,
    transport_factory: Callable[[], Transport] | None = None,
    sign: Callable[[Message], Message] | None = None,
    halt: threading.Event | None = None,
) -> SendSummary:
    """Freeze the recipients once, then send every pending row, committing each outcome.

    Running it again for the same issue resumes: rows already sent are never sent again.
    `transport` serves the first connection; `transport_factory` makes the others (up to
    `options.connections`); without a factory the send uses one connection. `on_sent`
    is called (under a lock) after each row is settled: sent, failed or skipped.
    Setting `halt` stops the send after the messages in flight; the rest stay pending.
    """
    settings, issue = edition.settings, edition.issue
    options = options or OutboxOptions.from_settings(settings.delivery)
    summary = SendSummary(issue.key)
    recipients = _recipients(edition, store, summary.no_content)
    summary.resumed = not store.freeze_issue(issue.key, issue.number, issue.volume, recipients)
    copies = SentCopies(edition, store)
    copies.keep_public()
    factory_lock = threading.Lock()

    def make(subscriber: Subscriber) -> Message | None:
        variant = variant_of(subscriber, settings)
        with factory_lock:  # compile a variant once, even when two workers need it
            if not edition.has_content(variant):
                return None
            edition.factory(variant)
            copies.keep(variant)  # before its first message: the link must work
        return edition.message_for(subscriber, variant)  # deliver() signs it

    transports = [transport]
    try:
        if transport_factory is not None:
            transports += [transport_factory() for _ in range(options.connections - 1)]
        deliver(
            store, issue.key, make, transports, options, summary,
            on_progress=on_sent, halt=halt, sign=sign,
        )  # fmt: skip
    finally:
        for each in transports:
            each.close()
    if not store.has_pending(issue.key):
        store.complete_issue(issue.key)
    return summary
