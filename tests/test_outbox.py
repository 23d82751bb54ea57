"""The send loop against a real aiosmtpd server: TLS and AUTH, faults, retries, limits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from digest import pipeline
from digest.delivery.outbox import OutboxOptions, RateLimiter, SendSummary, deliver
from digest.delivery.smtp import SmtpOptions, SmtpTransport
from digest.errors import DeliverySetupError
from digest.models import Message, Subscriber
from digest.store import open_store
from tests.conftest import (
    Project,
    RecordingHandler,
    SmtpServer,
    free_port,
    smtp_serving,
)
from tests.test_delivery import setup

FAST = OutboxOptions(connections=1, max_attempts=3, backoff=0.01, backoff_max=0.05)


@dataclass
class CountingHandler(RecordingHandler):
    """Also counts connections (EHLOs), stamps each accept, and can drop a connection."""

    ehlos: int = 0
    stamps: list[float] = field(default_factory=list)
    drop_at: set[int] = field(default_factory=set)
    data_calls: int = 0
    rcpt_replies: list[str] = field(default_factory=list)
    mail_replies: list[str] = field(default_factory=list)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.mail_replies:
            return self.mail_replies.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        self.ehlos += 1
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_calls += 1
        if self.data_calls in self.drop_at:
            assert server.transport is not None
            server.transport.abort()  # the connection dies before any reply
            return "421 4.4.2 gone"
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250"):
            self.stamps.append(time.monotonic())
        return reply


@pytest.fixture
def counting_server() -> Iterator[SmtpServer]:
    with smtp_serving(CountingHandler()) as server:
        yield server


def plain(server: SmtpServer) -> SmtpTransport:
    return SmtpTransport(SmtpOptions(host=server.host, port=server.port, security="none"))


def recipients(server: SmtpServer) -> list[str]:
    return sorted(r.recipients[0] for r in server.handler.received)


# -- retries, bounces, pause ------------------------------------------------------


def test_a_disconnect_mid_send_reconnects_and_loses_nobody(
    project: Project, counting_server: SmtpServer
) -> None:
    edition, store = setup(project)
    handler = counting_server.handler
    assert isinstance(handler, CountingHandler)
    handler.drop_at = {3}
    summary = pipeline.send(edition, store, plain(counting_server), options=FAST)
    assert summary.sent == 7 and summary.retries == 1
    assert len(recipients(counting_server)) == len(set(recipients(counting_server))) == 7
    assert handler.ehlos == 2  # one reconnection after the drop
    assert store.counts(edition.issue.key) == {"sent": 7}


def test_no_server_at_the_start_pauses_at_once_and_resume_sends_everyone(
    project: Project,
) -> None:
    """Nothing listens: the send stops at the first refused connection instead of
    retrying each recipient with backoff until the failure limit (7 minutes with the
    defaults), and a later run against a live server sends everyone once."""
    edition, store = setup(project)
    port = free_port()
    options = SmtpOptions(host="127.0.0.1", port=port, security="none")
    patient = dataclasses.replace(FAST, connections=4, backoff=30.0, backoff_max=600.0)
    transports = [SmtpTransport(options) for _ in range(4)]
    summary = pipeline.send(edition, store, transports[0], options=patient,
                            transport_factory=lambda: transports.pop())  # fmt: skip
    assert summary.sent == 0 and summary.retries == 0
    assert f"cannot connect to SMTP server 127.0.0.1:{port}" in summary.paused
    assert "nothing was sent in this run" in summary.paused
    assert store.counts(edition.issue.key) == {"pending": 7}
    with smtp_serving(RecordingHandler(), port=port) as server:
        again = pipeline.send(edition, store, plain(server), options=FAST)
        assert again.sent == 7 and len(set(recipients(server))) == 7


@dataclass
class GoingAway(CountingHandler):
    """Stops listening as the third message arrives, and drops that connection: every
    reconnection after it is refused, as from a relay that went down mid-send."""

    controller: Any = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_calls + 1 in self.drop_at:
            self.controller.server.close()  # in the server's own loop: no new connections
        return await super().handle_DATA(server, session, envelope)


def test_a_server_gone_mid_send_is_retried_not_paused_at_once(project: Project) -> None:
    """Refused connections after messages went out are a flaky relay: retried with
    backoff like any transient fault, until the failure limit pauses the send."""
    edition, store = setup(project)
    handler = GoingAway(drop_at={3})
    with smtp_serving(handler) as server:
        handler.controller = server.controller
        limited = dataclasses.replace(FAST, max_attempts=2, max_consecutive_failures=3)
        summary = pipeline.send(edition, store, plain(server), options=limited)
    assert summary.sent == 2 and summary.retries >= 1
    assert "nothing was sent" not in summary.paused
    assert "paused after 3 failed tries in a row" in summary.paused
    assert f"cannot connect to SMTP server 127.0.0.1:{server.port}" in summary.paused
    assert store.counts(edition.issue.key) == {"sent": 2, "pending": 5}


def test_5xx_marks_bounced_at_the_limit_and_later_issues_skip_them(
    project: Project, smtp_server: SmtpServer
) -> None:
    edition, store = setup(project)
    smtp_server.handler.replies = ["550 5.1.1 No such user"]
    summary = pipeline.send(edition, store, plain(smtp_server), options=FAST)
    (failed,) = [r for r in store.deliveries(edition.issue.key) if r.status == "failed"]
    assert summary.bounced == [failed.email]
    assert store.subscriber(failed.subscriber_id).status == "bounced"  # type: ignore[union-attr]
    assert "550 5.1.1" in failed.reply
    # later issues freeze only active subscribers
    assert failed.email not in {s.email for s in store.subscribers(status="active")}


def test_a_refused_recipient_is_a_hard_bounce_but_a_refused_content_is_not(
    project: Project, counting_server: SmtpServer
) -> None:
    edition, store = setup(project)
    handler = counting_server.handler
    assert isinstance(handler, CountingHandler)
    handler.rcpt_replies = ["550 mailbox unavailable"]
    handler.replies = ["554 5.7.1 Message rejected as spam"]
    summary = pipeline.send(edition, store, plain(counting_server), options=FAST)
    assert summary.failed == 2 and summary.sent == 5
    rows = {r.reply.split()[0]: r for r in store.deliveries(edition.issue.key)
            if r.status == "failed"}  # fmt: skip
    assert store.bounce_counts(rows["550"].subscriber_id) == (1, 0)
    assert summary.bounced == [rows["550"].email]
    assert store.bounce_counts(rows["554"].subscriber_id) == (0, 0)
    assert store.subscriber(rows["554"].subscriber_id).status == "active"  # type: ignore[union-attr]


def test_5xx_under_the_limit_only_counts(project: Project, smtp_server: SmtpServer) -> None:
    edition, store = setup(project)
    smtp_server.handler.replies = ["550 5.1.1 No such user"]
    options = dataclasses.replace(FAST, hard_bounce_limit=2)
    summary = pipeline.send(edition, store, plain(smtp_server), options=options)
    (failed,) = [r for r in store.deliveries(edition.issue.key) if r.status == "failed"]
    assert summary.bounced == []
    assert store.subscriber(failed.subscriber_id).status == "active"  # type: ignore[union-attr]
    assert store.bounce_counts(failed.subscriber_id) == (1, 0)


def test_too_many_failures_in_a_row_pause_the_send(
    project: Project, smtp_server: SmtpServer
) -> None:
    edition, store = setup(project)
    smtp_server.handler.replies = ["451 4.7.0 greylisted"] * 50
    options = dataclasses.replace(FAST, max_attempts=10, max_consecutive_failures=3)
    summary = pipeline.send(edition, store, plain(smtp_server), options=options)
    assert "paused after 3 failed tries in a row" in summary.paused
    assert "451 4.7.0" in summary.paused
    assert summary.sent == 0 and store.counts(edition.issue.key) == {"pending": 7}
    assert len(smtp_server.handler.replies) == 47  # it stopped instead of burning through
    smtp_server.handler.replies = []
    again = pipeline.send(edition, store, plain(smtp_server), options=options)
    assert again.sent == 7 and not again.paused


def test_missing_password_stops_the_send_with_everyone_pending(
    project: Project, smtp_server: SmtpServer
) -> None:
    edition, store = setup(project)
    options = SmtpOptions(smtp_server.host, smtp_server.port, "none", username="u")
    transport = SmtpTransport(options)
    with pytest.raises(DeliverySetupError, match="password variable is empty"):
        pipeline.send(edition, store, transport, options=FAST)
    assert store.counts(edition.issue.key) == {"pending": 7}


# -- connections and limits ---------------------------------------------------------


def test_parallel_connections_deliver_each_reader_exactly_once(
    project: Project, counting_server: SmtpServer
) -> None:
    edition, store = setup(project)
    options = dataclasses.replace(FAST, connections=3)
    summary = pipeline.send(
        edition, store, plain(counting_server), options=options,
        transport_factory=lambda: plain(counting_server),
    )  # fmt: skip
    assert summary.sent == 7
    assert len(recipients(counting_server)) == len(set(recipients(counting_server))) == 7
    assert store.counts(edition.issue.key) == {"sent": 7}


def test_max_per_connection_reconnects(project: Project, counting_server: SmtpServer) -> None:
    edition, store = setup(project)
    options = dataclasses.replace(FAST, max_per_connection=3)
    pipeline.send(edition, store, plain(counting_server), options=options)
    assert isinstance(counting_server.handler, CountingHandler)
    assert counting_server.handler.ehlos == 3  # 3 + 3 + 1 messages


def test_rate_limit_spaces_the_accepts(project: Project, counting_server: SmtpServer) -> None:
    edition, store = setup(project)
    options = dataclasses.replace(FAST, rate_per_second=20.0)
    start = time.monotonic()
    pipeline.send(edition, store, plain(counting_server), options=options)
    assert isinstance(counting_server.handler, CountingHandler)
    stamps = sorted(counting_server.handler.stamps)
    assert len(stamps) == 7
    # message k cannot start before its slot k/rate: a lower bound, never flaky
    for k, stamp in enumerate(stamps):
        assert stamp - start >= k / 20.0 - 0.005


def test_rate_limiter_schedule() -> None:
    limiter = RateLimiter(rate=4.0, hourly_cap=0, now=100.0)
    assert [limiter.reserve(100.0) for _ in range(4)] == [100.0, 100.25, 100.5, 100.75]
    assert limiter.reserve(200.0) == 200.0  # idle time is not saved up as a burst


def test_hourly_cap_pushes_the_next_send_an_hour_after_the_oldest() -> None:
    limiter = RateLimiter(rate=0.0, hourly_cap=3, now=0.0, earlier=[-1800.0])
    assert [limiter.reserve(10.0) for _ in range(2)] == [10.0, 10.0]
    assert limiter.reserve(10.0) == 1800.0  # an hour after the earlier run's send
    assert limiter.reserve(10.0) == 3610.0


def test_backoff_doubles_up_to_the_maximum() -> None:
    options = OutboxOptions(backoff=2.0, backoff_max=10.0)
    assert [options.delay(n) for n in range(1, 6)] == [2.0, 4.0, 8.0, 10.0, 10.0]


# -- STARTTLS with AUTH ------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Authenticator:
    logins: list[str] = field(default_factory=list)

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"digest",
            b"s3cret",
        ):
            self.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[SmtpServer, Authenticator]]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    auth = Authenticator()
    with smtp_serving(
        RecordingHandler(), tls_context=context, require_starttls=True,
        authenticator=auth, auth_required=True,
    ) as server:  # fmt: skip
        yield server, auth


def test_starttls_and_auth_with_a_verified_certificate(
    project: Project, tls_server: tuple[SmtpServer, Authenticator], certificate: tuple[Path, Path]
) -> None:
    server, auth = tls_server
    edition, store = setup(project)
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    options = SmtpOptions(server.host, server.port, "starttls", "digest", "s3cret")
    summary = pipeline.send(edition, store, SmtpTransport(options, trust), options=FAST)
    assert summary.sent == 7 and len(server.handler.received) == 7
    assert auth.logins == ["digest"]


def test_starttls_refuses_an_untrusted_certificate(
    project: Project, tls_server: tuple[SmtpServer, Authenticator]
) -> None:
    server, _ = tls_server
    edition, store = setup(project)
    options = SmtpOptions(server.host, server.port, "starttls", "digest", "s3cret")
    with pytest.raises(DeliverySetupError, match="TLS"):
        pipeline.send(edition, store, SmtpTransport(options), options=FAST)
    assert server.handler.received == []
    assert store.counts(edition.issue.key) == {"pending": 7}


def test_a_wrong_password_stops_the_send(
    project: Project, tls_server: tuple[SmtpServer, Authenticator], certificate: tuple[Path, Path]
) -> None:
    server, _ = tls_server
    edition, store = setup(project)
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    options = SmtpOptions(server.host, server.port, "starttls", "digest", "wrong")
    with pytest.raises(DeliverySetupError, match="login refused"):
        pipeline.send(edition, store, SmtpTransport(options, trust), options=FAST)
    assert store.counts(edition.issue.key) == {"pending": 7}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_implicit_tls_with_auth(project: Project, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    auth = Authenticator()
    with smtp_serving(
        RecordingHandler(), ssl_context=context, authenticator=auth, auth_required=True,
        auth_require_tls=False,  # aiosmtpd only knows of STARTTLS; this socket is TLS
    ) as server:  # fmt: skip
        edition, store = setup(project)
        trust = ssl.create_default_context(cafile=str(cert))
        options = SmtpOptions("127.0.0.1", server.port, "ssl", "digest", "s3cret")
        summary = pipeline.send(edition, store, SmtpTransport(options, trust), options=FAST)
    assert summary.sent == 7 and len(server.handler.received) == 7
    assert auth.logins == ["digest"]


def test_the_hourly_window_is_seeded_from_the_store(
    project: Project, smtp_server: SmtpServer
) -> None:
    edition, store = setup(project)
    pipeline.send(edition, store, plain(smtp_server), options=FAST)
    now = dt.datetime.now(dt.UTC)
    assert len(store.sent_since(now - dt.timedelta(hours=1))) == 7
    assert store.sent_since(now + dt.timedelta(minutes=1)) == []


def test_a_refused_sender_stops_the_send(project: Project, counting_server: SmtpServer) -> None:
    edition, store = setup(project)
    handler = counting_server.handler
    assert isinstance(handler, CountingHandler)
    handler.mail_replies = ["553 5.7.1 sender not allowed"]
    with pytest.raises(DeliverySetupError, match=r"sender digest@example\.org refused: 553"):
        pipeline.send(edition, store, plain(counting_server), options=FAST)
    assert store.counts(edition.issue.key) == {"pending": 7}


def test_an_address_smtp_cannot_carry_fails_its_row_not_the_send(
    project: Project, smtp_server: SmtpServer
) -> None:
    # Stored before addresses were checked for SMTPUTF8: one bad row, the rest go out.
    edition, store = setup(project)
    odd = Subscriber(email="josé@example.org", name="José", language="fr", themes=frozenset())
    store.upsert_subscribers([odd], source="old list")
    summary = pipeline.send(edition, store, plain(smtp_server), options=FAST)
    assert summary.failed == 1 and summary.sent == 7
    assert summary.failures[0][0] == "josé@example.org" and "ASCII" in summary.failures[0][1]
    assert store.counts("2025-W49") == {"sent": 7, "failed": 1}


def test_outbox_options_follow_every_delivery_key(project: Project) -> None:
    from digest.delivery.outbox import OutboxOptions

    settings = project.settings(
        DIGEST_DELIVERY_CONNECTIONS="3", DIGEST_DELIVERY_RATE_PER_SECOND="2.5",
        DIGEST_DELIVERY_HOURLY_CAP="900", DIGEST_DELIVERY_MAX_ATTEMPTS="6",
    )  # fmt: skip
    options = OutboxOptions.from_settings(settings.delivery)
    assert (options.connections, options.rate_per_second) == (3, 2.5)
    assert (options.hourly_cap, options.max_attempts) == (900, 6)


def test_an_interrupt_that_breaks_the_connection_still_gives_the_rows_back(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Ctrl-C inside a database call can leave the sending connection mid-command
    # (psycopg: "another command is already in progress"). The rows it claimed must
    # still go back at once, over a fresh connection, or a rerun waits out the lease.
    edition, store = setup(project)
    readers = store.subscribers("active")
    store.freeze_issue("2025-W49", 49, 1, ((s, "all") for s in readers))
    broken: list[str] = []
    release = store.release_claims

    def release_on_a_broken_connection(key: str, claimer: str | None = None) -> int:
        if claimer is None:  # SQLite's release of stale claims, before the send
            return release(key)
        broken.append(claimer)
        raise RuntimeError("another command is already in progress")

    monkeypatch.setattr(store, "release_claims", release_on_a_broken_connection)
    built: list[str] = []

    def make(subscriber: Subscriber) -> Message:
        if len(built) == 2:
            raise KeyboardInterrupt
        built.append(subscriber.email)
        return edition.message_for(subscriber)

    class Accepting:
        def send(self, message: Message) -> str:
            return "250 ok"

        def close(self) -> None:
            pass

    with pytest.raises(KeyboardInterrupt):
        deliver(store, "2025-W49", make, [Accepting()], OutboxOptions(), SendSummary("2025-W49"))
    assert broken  # the sending connection's release failed, and was not the error raised
    with open_store(project.settings()) as fresh:
        assert fresh.lease_wait("2025-W49", "another sender") is None  # nothing held
        counts = fresh.counts("2025-W49")
    assert counts.get("pending", 0) == len(readers) - counts.get("sent", 0) > 0
