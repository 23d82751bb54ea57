"""Bounce processing on DSN (RFC 3464) and ARF (RFC 5965) fixtures, from mbox and Maildir."""

from __future__ import annotations

import json
import mailbox
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from digest import pipeline
from digest.cli import cli
from digest.delivery.bounces import parse, process
from digest.delivery.file import FileTransport
from digest.errors import SourceError
from digest.models import Subscriber
from digest.store import Store, open_store
from tests.conftest import FIXTURES, Project
from tests.test_delivery import FAST, setup

BOUNCES = FIXTURES / "bounces"


def sent_issue(project: Project) -> Store:
    """The sample list, with week 49 sent through the file transport (real Message-IDs)."""
    edition, store = setup(project)
    pipeline.send(edition, store, FileTransport(project.root / "outbox"), options=FAST)
    return store


_FIXTURE_ID = re.compile(rb"<2025-W49\.(\d+)\.[0-9a-f]+@example\.org>")


def returned(name: str, store: Store | None) -> bytes:
    """A fixture report quoting the real (keyed) Message-ID we sent to that subscriber."""
    data = (BOUNCES / name).read_bytes()
    if store is None:
        return data
    sent = {row.subscriber_id: row.message_id for row in store.deliveries("2025-W49")}
    return _FIXTURE_ID.sub(lambda m: sent[int(m[1])].encode(), data)


def as_mbox(folder: Path, names: list[str], store: Store | None = None) -> Path:
    path = folder / "bounces.mbox"
    box = mailbox.mbox(path)
    for name in names:
        box.add(returned(name, store))
    box.flush()
    box.close()
    return path


def as_maildir(folder: Path, names: list[str], store: Store | None = None) -> Path:
    path = folder / "Maildir"
    box = mailbox.Maildir(path)
    for name in names:
        box.add(returned(name, store))
    box.close()
    return path


ALL = ["dsn-hard.eml", "dsn-soft.eml", "arf-complaint.eml", "autoreply.eml"]


@pytest.mark.parametrize("make", [as_mbox, as_maildir])
def test_dsn_and_arf_are_matched_and_applied(
    project: Project, tmp_path: Path, make: object
) -> None:
    store = sent_issue(project)
    settings = project.settings()
    path = make(tmp_path, ALL, store)  # type: ignore[operator]
    summary = process(path, store, settings.bounces, hard_limit=1)
    assert (summary.messages, summary.hard, summary.soft, summary.complaints) == (4, 1, 1, 1)
    assert summary.ignored == 1 and summary.unmatched == 0
    status = {s.email: s.status for s in store.subscribers()}
    assert status["p.novak@example.com"] == "bounced"  # 5.1.1: hard, limit 1
    assert status["marc.olivier@example.fr"] == "active"  # 5.2.2 counts as soft by rule
    assert status["j.smith@example.net"] == "complained"  # matched by Message-ID alone
    assert sorted(summary.changed) == [
        ("j.smith@example.net", "complained"),
        ("p.novak@example.com", "bounced"),
    ]
    events = store.db.execute("SELECT email, issue_key, kind FROM bounce_events ORDER BY id")
    assert {tuple(e) for e in events} == {
        ("p.novak@example.com", "2025-W49", "hard"),
        ("marc.olivier@example.fr", "2025-W49", "soft"),
        ("j.smith@example.net", "2025-W49", "complaint"),
    }
    again = process(path, store, settings.bounces, hard_limit=1)
    assert again.repeated == 3 and again.hard == again.soft == again.complaints == 0


def test_hard_bounces_under_the_limit_only_count(project: Project, tmp_path: Path) -> None:
    store = sent_issue(project)
    process(
        as_mbox(tmp_path, ["dsn-hard.eml"], store), store, project.settings().bounces, hard_limit=2
    )
    novak = store.subscriber_by_email("p.novak@example.com")
    assert novak is not None and novak.status == "active"
    assert store.bounce_counts(novak.id) == (1, 0)


def test_soft_bounces_mark_bounced_after_the_soft_limit(project: Project, tmp_path: Path) -> None:
    store = sent_issue(project)
    rules = project.settings(DIGEST_BOUNCES_SOFT_LIMIT="1").bounces
    process(as_mbox(tmp_path, ["dsn-soft.eml"], store), store, rules, hard_limit=1)
    marc = store.subscriber_by_email("marc.olivier@example.fr")
    assert marc is not None and marc.status == "bounced"


def test_without_the_soft_rule_5_2_2_is_hard() -> None:
    (report,) = parse((BOUNCES / "dsn-soft.eml").read_bytes(), soft_statuses=())
    assert report.kind == "hard" and report.status == "5.2.2"


def test_complaints_can_be_only_logged(project: Project, tmp_path: Path) -> None:
    store = sent_issue(project)
    rules = project.settings(DIGEST_BOUNCES_ON_COMPLAINT="ignore").bounces
    summary = process(as_mbox(tmp_path, ["arf-complaint.eml"], store), store, rules, hard_limit=1)
    assert summary.complaints == 1 and summary.changed == []
    smith = store.subscriber_by_email("j.smith@example.net")
    assert smith is not None and smith.status == "active"


def test_a_report_for_an_unknown_address_is_unmatched(project: Project, tmp_path: Path) -> None:
    _, store = setup(project)  # nothing sent: no Message-ID to match
    data = (BOUNCES / "dsn-hard.eml").read_bytes().replace(b"p.novak@", b"nobody@")
    data = data.replace(b"2025-W49.4.", b"2025-W49.99.")
    box = mailbox.mbox(tmp_path / "x.mbox")
    box.add(data)
    box.close()
    summary = process(tmp_path / "x.mbox", store, project.settings().bounces, hard_limit=1)
    assert summary.unmatched == 1 and summary.hard == 0


def test_not_a_mailbox_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(SourceError, match=r"notes.txt: not an mbox file"):
        list(process(tmp_path / "notes.txt", None, None, 1).changed)  # type: ignore[arg-type]
    (tmp_path / "folder").mkdir()
    with pytest.raises(SourceError, match=r"folder: not a Maildir"):
        process(tmp_path / "folder", None, None, 1)  # type: ignore[arg-type]


def test_a_mailto_unsubscribe_request_unsubscribes_its_reader(
    project: Project, tmp_path: Path
) -> None:
    # The mailto in List-Unsubscribe is a promise: a client that mails it must unsubscribe.
    store = sent_issue(project)
    first = sorted((project.root / "outbox").glob("*.eml"))[0]
    sent = message_from_bytes(first.read_bytes(), policy=policy.default)
    mailto = re.search(r"<mailto:([^?>]+)\?subject=([^>]+)>", str(sent["List-Unsubscribe"]))
    assert mailto is not None
    reader = str(sent["To"].addresses[0].addr_spec)
    request, forged = EmailMessage(), EmailMessage()
    for message, subject in ((request, unquote(mailto[2])), (forged, "unsubscribe abc.def.ghi")):
        message["From"], message["To"], message["Subject"] = reader, mailto[1], subject
        message.set_content("Sent by the mail client.")
    box_path = tmp_path / "requests.mbox"
    box = mailbox.mbox(box_path)
    box.add(request.as_bytes())
    box.add(forged.as_bytes())
    box.close()
    store.close()

    args = ["--config", str(project.config), "bounces", "process", str(box_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"{reader}: now unsubscribed" in result.output
    assert "1 unsubscribe request(s)" in result.output
    with open_store(project.settings()) as again:
        status = {s.email: s.status for s in again.subscribers()}
    assert status[reader] == "unsubscribed"
    assert sorted(status.values()).count("unsubscribed") == 1  # the forged token did nothing


def test_forged_reports_change_nobody(project: Project, tmp_path: Path) -> None:
    """Anyone can mail the bounce address (issue 12, item 6): a report counts only if
    it quotes the keyed Message-ID of a message we sent, to the recipient it names."""
    store = sent_issue(project)
    real = returned("dsn-hard.eml", store)
    forged = [
        # The fixture's ID is what anyone computes from the public issue key, a small id
        # and the address: not ours since IDs are keyed.
        (BOUNCES / "dsn-hard.eml").read_bytes(),
        # Our real ID of Novak's message, claiming another reader bounced.
        real.replace(b"rfc822; p.novak@example.com", b"rfc822; marc.olivier@example.fr"),
        # No returned headers at all: only an address.
        real.split(b"Content-Type: text/rfc822-headers")[0],
        # An ARF complaint naming a reader, quoting no message.
        (BOUNCES / "arf-complaint.eml")
        .read_bytes()
        .replace(b"Message-ID: <2025-W49.2.", b"X-Nothing: <")
        .replace(b"To: [redacted]", b"To: j.smith@example.net"),
    ]
    box = mailbox.mbox(tmp_path / "forged.mbox")
    for data in forged:
        box.add(data)
    box.close()
    before = {s.email: s.status for s in store.subscribers()}
    summary = process(tmp_path / "forged.mbox", store, project.settings().bounces, hard_limit=1)
    assert summary.unmatched == 4 and summary.hard == summary.complaints == 0
    assert {s.email: s.status for s in store.subscribers()} == before
    assert store.db.execute("SELECT COUNT(*) FROM bounce_events").fetchone()[0] == 0
    # The genuine report still works.
    box = mailbox.mbox(tmp_path / "real.mbox")
    box.add(real)
    box.close()
    assert process(tmp_path / "real.mbox", store, project.settings().bounces, 1).hard == 1


def test_status_counts_bounced_and_complained_per_issue(project: Project, tmp_path: Path) -> None:
    # After `bounces process`, status must not keep saying "sent 7, failed 0" and nothing else.
    store = sent_issue(project)
    box = as_mbox(tmp_path, ALL, store)
    store.close()
    config = ["--config", str(project.config)]
    processed = CliRunner().invoke(cli, [*config, "bounces", "process", str(box)])
    assert processed.exit_code == 0, processed.output
    result = CliRunner().invoke(cli, [*config, "status", "--json"])
    (week,) = json.loads(result.output)
    assert (week["sent"], week["failed"], week["bounced"], week["complained"]) == (7, 0, 2, 1)
    table = CliRunner().invoke(cli, [*config, "status"]).output.splitlines()
    assert table[0].split()[:7] == [
        "issue", "sent", "failed", "pending", "skipped", "bounced", "complained"
    ]  # fmt: skip
    assert table[1].split()[:7] == ["2025-W49", "7", "0", "0", "0", "2", "1"]


def test_a_refusal_during_the_send_is_failed_not_bounced(project: Project) -> None:
    _, store = setup(project)
    subscriber = store.subscribers()[0]
    store.freeze_issue("2025-W49", 49, 1, [(subscriber, "en")])
    store.mark("2025-W49", subscriber.id, "failed", "", "550 5.1.1 no such user")
    store.record_bounce(
        email=subscriber.email, kind="hard", fingerprint="smtp:x",
        subscriber_id=subscriber.id, issue_key="2025-W49", source="smtp",
    )  # fmt: skip
    (week,) = store.issue_statuses()
    assert (week["failed"], week["bounced"]) == (1, 0)


def soft_bounce(store: Store, subscriber_id: int, key: str) -> None:
    store.record_bounce(email="x@example.org", kind="soft", fingerprint=f"soft:{key}",
                        subscriber_id=subscriber_id, issue_key=key, source="mbox",
                        soft_limit=3)  # fmt: skip


def three_issues_sent_to(store: Store, subscriber: Subscriber) -> list[str]:
    keys = ["2025-W47", "2025-W48", "2025-W49"]
    for number, key in enumerate(keys, start=47):
        store.freeze_issue(key, number, 1, [(subscriber, "en")])
        store.mark(key, subscriber.id, "sent", f"<{key}@example.org>", "250 ok")
    return keys


def test_soft_bounces_restart_after_a_delivery_that_got_through(project: Project) -> None:
    _, store = setup(project)
    subscriber = store.subscribers()[0]
    w47, _w48, w49 = three_issues_sent_to(store, subscriber)
    soft_bounce(store, subscriber.id, w47)
    assert store.bounce_counts(subscriber.id) == (0, 1)
    # W48 was accepted and nothing came back for it: W49's soft bounce starts a new run.
    soft_bounce(store, subscriber.id, w49)
    assert store.bounce_counts(subscriber.id) == (0, 1)


def test_consecutive_soft_bounces_keep_counting(project: Project) -> None:
    _, store = setup(project)
    subscriber = store.subscribers()[0]
    for key in three_issues_sent_to(store, subscriber):
        soft_bounce(store, subscriber.id, key)
    assert store.bounce_counts(subscriber.id) == (0, 3)
    found = store.subscriber(subscriber.id)
    assert found is not None and found.status == "bounced"  # soft_limit 3 reached


def sent_to(store: Store, email: str) -> str:
    """The keyed Message-ID week 49 really went out with to `email`."""
    (row,) = [row for row in store.deliveries("2025-W49") if row.email == email]
    return row.message_id


def dsn(serial: int, message_id: str, *blocks: tuple[str, str, str]) -> bytes:
    """A delivery status notification about our message `message_id`, with one
    per-recipient block for each (recipient, Action, Status)."""
    recipients = "".join(
        f"\nFinal-Recipient: rfc822; {rcpt}\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; 451 {status} try again later\n"
        for rcpt, action, status in blocks
    )
    return f"""\
From: Mail Delivery System <postmaster@relay.example.net>
To: digest@example.org
Subject: Delivery status notification
Message-ID: <notice-{serial}@relay.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b-{serial}"

--b-{serial}
Content-Type: text/plain

Still trying, or done: see below. No action is needed on your part.

--b-{serial}
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.net
{recipients}
--b-{serial}
Content-Type: text/rfc822-headers

From: Brief OTAN & Europe <digest@example.org>
Subject: Brief OTAN & Europe n 49
Message-ID: {message_id}

--b-{serial}--
""".encode()


@pytest.mark.parametrize("action", ["delayed", "relayed", "expanded", "delivered"])
def test_a_dsn_that_is_not_a_failure_is_read_but_not_a_bounce(
    project: Project, tmp_path: Path, action: str
) -> None:
    # RFC 3464: only Action: failed says the message did not arrive. A "delayed 4.4.1"
    # warning means the MTA is still trying; relayed/expanded/delivered are successes.
    store = sent_issue(project)
    marc = "marc.olivier@example.fr"
    mbox = mailbox.mbox(tmp_path / "notices.mbox")
    for serial in range(5):
        mbox.add(dsn(serial, sent_to(store, marc), (marc, action, "4.4.1")))
    mbox.close()
    rules = project.settings(DIGEST_BOUNCES_SOFT_LIMIT="3").bounces
    summary = process(tmp_path / "notices.mbox", store, rules, hard_limit=1)
    assert (summary.soft, summary.hard, summary.notices, summary.ignored) == (0, 0, 5, 0)
    found = store.subscriber_by_email(marc)
    assert found is not None and found.status == "active"
    assert store.bounce_counts(found.id) == (0, 0)
    assert store.db.execute("SELECT COUNT(*) FROM bounce_events").fetchone()[0] == 0


def test_delay_notices_are_counted_apart_from_bounces_in_the_command_and_status(
    project: Project, tmp_path: Path
) -> None:
    store = sent_issue(project)
    marc, novak = "marc.olivier@example.fr", "p.novak@example.com"
    mbox = mailbox.mbox(tmp_path / "bounces.mbox")
    mbox.add(dsn(1, sent_to(store, marc), (marc, "delayed", "4.4.1")))
    mbox.add(dsn(2, sent_to(store, marc), (marc, "delayed", "4.4.1")))
    # One report about two copies: the failed one is a bounce, the delayed one is not.
    mbox.add(dsn(3, sent_to(store, novak), (novak, "failed", "4.2.0"), (novak, "delayed", "4.4.1")))
    mbox.close()
    store.close()
    config = ["--config", str(project.config)]
    result = CliRunner().invoke(
        cli, [*config, "bounces", "process", str(tmp_path / "bounces.mbox")]
    )
    assert result.exit_code == 0, result.output
    assert "3 message(s): 0 hard, 1 soft, 0 complaint(s)" in result.output
    assert "3 delay/delivery notice(s) ignored" in result.output
    (week,) = json.loads(CliRunner().invoke(cli, [*config, "status", "--json"]).output)
    assert week["bounced"] == 1  # Novak's failure only
    with open_store(project.settings()) as again:
        events = again.db.execute("SELECT email, kind, detail FROM bounce_events").fetchall()
    assert [tuple(e) for e in events] == [
        (novak, "soft", "failed 4.2.0 smtp; 451 4.2.0 try again later")
    ]


def arf(serial: int, message_id: str, to: str, original_rcpt_to: str = "") -> bytes:
    """A feedback-loop complaint (ARF, RFC 5965) enclosing our message `message_id`,
    its `To:` as the mailbox provider rewrote it."""
    report = EmailMessage()
    report["From"] = "Complaints <fbl@mail.example.co.uk>"
    report["To"] = "abuse@example.org"
    report["Subject"] = "Complaint about a message you sent"
    report["Message-ID"] = f"<fbl-{serial}@mail.example.co.uk>"
    report.set_content("A user of ours marked the attached message as spam.\n")
    report.make_mixed()
    report.set_param("report-type", "feedback-report")
    report.replace_header(
        "Content-Type", report["Content-Type"].replace("multipart/mixed", "multipart/report")
    )
    fields = "Feedback-Type: abuse\nUser-Agent: ExampleLoop/2.1\nVersion: 1\n"
    if original_rcpt_to:
        fields += f"Original-Rcpt-To: {original_rcpt_to}\n"
    feedback = EmailMessage()
    feedback.set_payload(fields)
    feedback["Content-Type"] = "message/feedback-report"
    report.attach(feedback)
    original = EmailMessage()
    original["From"] = "Brief OTAN & Europe <digest@example.org>"
    original["To"] = to
    original["Subject"] = "Brief OTAN & Europe n 49"
    original["Message-ID"] = message_id
    original.set_content("(the newsletter)\n")
    enclosed = EmailMessage()
    enclosed.set_content(original)
    report.attach(enclosed)
    return report.as_bytes()


@pytest.mark.parametrize(
    ("to", "original_rcpt_to"),
    [
        ("redacted@example.co.uk", ""),  # the Yahoo/AOL shape
        ("Someone Else <someone.else@example.com>", ""),
        ("redacted@example.co.uk", "xxxxxxxx@example.co.uk"),
    ],
)
def test_a_complaint_with_a_redacted_recipient_matches_by_message_id(
    project: Project, tmp_path: Path, to: str, original_rcpt_to: str
) -> None:
    # Feedback loops redact the complainer's address (RFC 6590): the keyed Message-ID
    # is the proof, and the delivery row says who it was.
    store = sent_issue(project)
    smith = "j.smith@example.net"
    mbox = mailbox.mbox(tmp_path / "fbl.mbox")
    mbox.add(arf(1, sent_to(store, smith), to, original_rcpt_to))
    # The same report quoting an ID we never sent (unkeyed) still matches nothing.
    mbox.add(arf(2, "<2025-W49.2.e5b257daca43cc38@example.org>", to, original_rcpt_to))
    mbox.close()
    summary = process(tmp_path / "fbl.mbox", store, project.settings().bounces, hard_limit=1)
    assert (summary.complaints, summary.unmatched, summary.ignored) == (1, 1, 0)
    assert summary.changed == [(smith, "complained")]
    events = store.db.execute("SELECT email, issue_key, kind FROM bounce_events").fetchall()
    assert [tuple(e) for e in events] == [(smith, "2025-W49", "complaint")]
