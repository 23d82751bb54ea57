from __future__ import annotations

import dataclasses
import datetime as dt
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from digest import pipeline
from digest.delivery.file import FileTransport
from digest.delivery.outbox import OutboxOptions
from digest.delivery.smtp import SmtpOptions, SmtpTransport
from digest.errors import PermanentDeliveryError, TransientDeliveryError
from digest.models import Message
from digest.store import Store, open_store
from digest.subscribers import read_csv
from tests.conftest import Project, SmtpServer, free_port

NOW = dt.datetime(2025, 12, 8, 6, 0, tzinfo=dt.UTC)
FAST = OutboxOptions(connections=1, max_attempts=3, backoff=0.01, backoff_max=0.05)


def setup(project: Project) -> tuple[pipeline.Edition, Store]:
    settings = project.settings()
    issue = pipeline.assemble(settings, pipeline.read_entries(settings), dt.date(2025, 12, 3))
    edition = pipeline.Edition(settings, issue, pipeline.make_signer(settings), NOW)
    store = open_store(settings)
    rows = read_csv(
        project.root / "subscribers" / "sample.csv",
        [t.id for t in settings.themes], settings.newsletter.languages, "fr",
    )  # fmt: skip
    store.upsert_subscribers(rows, source="test")
    return edition, store


def plain(server: SmtpServer) -> SmtpTransport:
    return SmtpTransport(SmtpOptions(host=server.host, port=server.port, security="none"))


def test_digest_goes_through_a_real_smtp_server(project: Project, smtp_server: SmtpServer) -> None:
    edition, store = setup(project)
    summary = pipeline.send(edition, store, plain(smtp_server))
    received = smtp_server.handler.received
    assert summary.sent == len(received) == 7
    by_rcpt = {r.recipients[0]: r for r in received}
    amelie = by_rcpt["amelie.lefevre@example.org"].message
    assert amelie["To"].addresses[0].display_name == "Amélie Lefèvre"
    assert amelie["From"].addresses[0].addr_spec == "digest@example.org"
    assert amelie.get_content_type() == "multipart/alternative"
    html = amelie.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Menaces hybrides" in html and "Perspectives du sommet" not in html
    jordan = by_rcpt["j.smith@example.net"].message
    assert "Hello Jordan Smith," in jordan.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert len({r.message["Message-ID"] for r in received}) == 7


def test_a_second_send_of_the_same_issue_mails_nobody_twice(
    project: Project, smtp_server: SmtpServer
) -> None:
    edition, store = setup(project)
    pipeline.send(edition, store, plain(smtp_server))
    again = pipeline.send(edition, store, plain(smtp_server))
    assert again.resumed and again.sent == 0
    assert len(smtp_server.handler.received) == 7
    assert store.counts(edition.issue.key) == {"sent": 7}


def test_a_transient_failure_is_retried_with_backoff_then_succeeds(
    project: Project, smtp_server: SmtpServer
) -> None:
    edition, store = setup(project)
    smtp_server.handler.replies = ["451 4.3.0 Try again later"]
    summary = pipeline.send(edition, store, plain(smtp_server), options=FAST)
    assert summary.sent == 7 and summary.retries == 1 and summary.deferred == 0
    assert store.counts(edition.issue.key) == {"sent": 7}
    first = store.deliveries(edition.issue.key)[0]
    assert store.attempts(edition.issue.key, first.subscriber_id) == 2
    assert len({r.recipients[0] for r in smtp_server.handler.received}) == 7


def test_tries_exhausted_leave_the_row_pending_and_the_rerun_resumes(
    project: Project, smtp_server: SmtpServer
) -> None:
    edition, store = setup(project)
    smtp_server.handler.replies = ["451 4.3.0 later", "421 4.3.0 later"]
    options = dataclasses.replace(FAST, max_attempts=2)
    summary = pipeline.send(edition, store, plain(smtp_server), options=options)
    assert summary.deferred == 1 and summary.sent == 6
    assert store.counts(edition.issue.key) == {"pending": 1, "sent": 6}
    again = pipeline.send(edition, store, plain(smtp_server), options=options)
    assert again.resumed and again.sent == 1
    assert sorted(r.recipients[0] for r in smtp_server.handler.received) == sorted(
        {r.recipients[0] for r in smtp_server.handler.received}
    )
    assert len(smtp_server.handler.received) == 7


def test_a_permanent_failure_is_recorded_and_the_send_goes_on(
    project: Project, smtp_server: SmtpServer
) -> None:
    edition, store = setup(project)
    smtp_server.handler.replies = ["550 5.1.1 No such user"]
    summary = pipeline.send(edition, store, plain(smtp_server), options=FAST)
    assert summary.failed == 1 and summary.sent == 6
    assert "550" in summary.failures[0][1]
    assert store.counts(edition.issue.key) == {"failed": 1, "sent": 6}


def test_unsubscribed_after_the_freeze_is_skipped(
    project: Project, smtp_server: SmtpServer
) -> None:
    edition, store = setup(project)
    smtp_server.handler.replies = ["451 4.3.0 later"]
    options = dataclasses.replace(FAST, max_attempts=1)
    pipeline.send(edition, store, plain(smtp_server), options=options)
    (left,) = store.pending(edition.issue.key)
    store.db.execute(
        "UPDATE subscribers SET status='unsubscribed' WHERE id = ?", (left.subscriber_id,)
    )
    summary = pipeline.send(edition, store, plain(smtp_server), options=options)
    assert summary.skipped == 1 and summary.sent == 0
    assert left.email not in {r.recipients[0] for r in smtp_server.handler.received}
    assert store.counts(edition.issue.key) == {"sent": 6, "skipped": 1}


def test_unreachable_server_is_transient() -> None:
    transport = SmtpTransport(SmtpOptions(host="127.0.0.1", port=free_port(), security="none"))
    message = Message("a@example.org", "b@example.org", "<x@example.org>", b"Subject: x\r\n\r\nx")
    with pytest.raises(TransientDeliveryError, match="cannot connect"):
        transport.send(message)


def test_login_without_password_is_permanent(smtp_server: SmtpServer) -> None:
    options = SmtpOptions(smtp_server.host, smtp_server.port, "none", username="u", password=None)
    message = Message("a@example.org", "b@example.org", "<x@example.org>", b"Subject: x\r\n\r\nx")
    with pytest.raises(PermanentDeliveryError, match="password variable is empty"):
        SmtpTransport(options).send(message)


def test_file_transport_writes_one_eml_per_message(project: Project) -> None:
    edition, store = setup(project)
    transport = FileTransport(project.root / "outbox")
    pipeline.send(edition, store, transport)
    files = sorted((project.root / "outbox").glob("*.eml"))
    assert len(files) == 7
    assert not list((project.root / "outbox").glob(".tmp-*"))
    assert files[0].read_bytes().startswith(b"To: ")


def test_bodies_encoded_once_per_variant_decode_to_the_filled_templates(
    project: Project,
) -> None:
    edition, store = setup(project)
    reader = next(s for s in store.subscribers() if s.email.startswith("amelie"))
    # Compile first: links carry a timestamp to the second, and the two signings below
    # must not straddle a slow compile.
    edition.compiled(pipeline.variant_of(reader, edition.settings))
    for _ in range(5):  # ... and on a loaded machine they still can: take a pair from one second
        second = int(time.time())
        message, links = edition.message_for(reader), edition.links(reader)
        if int(time.time()) == second:
            break
    head, body = message.data.split(b"\r\n\r\n", 1)
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert b"\n" not in body.replace(b"\r\n", b"")
    parsed = message_from_bytes(message.data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    variant = pipeline.variant_of(reader, edition.settings)
    values = {"name": reader.name, **links}
    compiled = edition.compiled(variant)
    for kind, skeleton in (("plain", compiled.text), ("html", compiled.html)):
        body = parsed.get_body((kind,))
        assert body is not None
        expected = skeleton.fill(values).replace("\r\n", "\n")
        assert body.get_content().replace("\r\n", "\n") == expected
    assert "Amélie Lefèvre" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
