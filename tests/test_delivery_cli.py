"""`digest send` options and exit codes, `digest status`, `digest bounces process`."""

from __future__ import annotations

import json
import mailbox
import os
import pty
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from click.testing import CliRunner, Result

from digest.cli import cli
from digest.store import open_store
from tests.conftest import Project, RecordingHandler, SmtpServer, smtp_serving
from tests.test_bounces import returned


def run(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args], env=env)


def imported(project: Project) -> None:
    result = run(project, "subscribers", "import", str(project.root / "subscribers/sample.csv"))
    assert result.exit_code == 0, result.output


def smtp_env(server: SmtpServer, **extra: str) -> dict[str, str]:
    return {
        "DIGEST_DELIVERY_TRANSPORT": "smtp",
        "DIGEST_SMTP_HOST": server.host,
        "DIGEST_SMTP_PORT": str(server.port),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_DELIVERY_BACKOFF": "0.01",
        **extra,
    }


def test_dry_run_lists_variants_and_sends_nothing(project: Project) -> None:
    imported(project)
    result = run(project, "send", "--date", "2025-12-03", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "amelie.lefevre@example.org\tfr:hybrid|ukraine\tpending" in result.output
    assert "7 would be sent, nothing was sent" in result.output
    assert not (project.root / "outbox").exists()
    status = json.loads(run(project, "status", "--json").output)
    assert status == []  # not even frozen


def test_status_shows_counts_after_a_send_with_a_permanent_failure(
    project: Project, smtp_server: SmtpServer
) -> None:
    imported(project)
    smtp_server.handler.replies = ["550 5.1.1 No such user"]
    sent = run(project, "send", "--date", "2025-12-03", env=smtp_env(smtp_server))
    assert sent.exit_code == 1
    assert "6 sent, 1 failed" in sent.output
    assert "(hard-bounce limit reached; no more mail)" in sent.output
    assert "failed: " in sent.output and "550 5.1.1" in sent.output
    assert "Traceback" not in sent.output

    status = json.loads(run(project, "status", "--json").output)
    assert len(status) == 1
    assert status[0]["issue"] == "2025-W49"
    assert (status[0]["sent"], status[0]["failed"], status[0]["pending"]) == (6, 1, 0)
    assert status[0]["completed_at"]
    table = run(project, "status")
    assert "2025-W49" in table.output and "complete" in table.output


def test_deferred_rows_exit_75_and_show_as_in_progress(
    project: Project, smtp_server: SmtpServer
) -> None:
    imported(project)
    smtp_server.handler.replies = ["451 4.3.0 later"]
    env = smtp_env(smtp_server, DIGEST_DELIVERY_MAX_ATTEMPTS="1")
    sent = run(project, "send", "--date", "2025-12-03", env=env)
    assert sent.exit_code == 75, sent.output
    assert "1 deferred (still pending)" in sent.output
    assert "in progress" in run(project, "status").output
    again = run(project, "send", "--date", "2025-12-03", env=env)
    assert again.exit_code == 0 and "resumed: 1 sent" in again.output


@dataclass
class ReplyByRecipient(RecordingHandler):
    """Answers DATA with `replies_to[recipient]` when set (every try), else accepts."""

    replies_to: dict[str, str] = field(default_factory=dict)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for rcpt in envelope.rcpt_tos:
            if rcpt in self.replies_to:
                return self.replies_to[rcpt]
        return await super().handle_DATA(server, session, envelope)


def test_pending_rows_exit_75_even_when_others_failed_for_good(project: Project) -> None:
    """A send with a 550 for one reader and a 451 for another exited 1, so a cron wrapper
    that reruns on 75 never retried the pending row. Pending wins; the failure is listed."""
    imported(project)
    handler = ReplyByRecipient(replies_to={
        "p.novak@example.com": "550 5.1.1 No such user",
        "j.smith@example.net": "451 4.3.0 Try again later",
    })  # fmt: skip
    with smtp_serving(handler) as server:
        env = smtp_env(server, DIGEST_DELIVERY_MAX_ATTEMPTS="2")
        sent = run(project, "send", "--date", "2025-12-03", env=env)
        assert sent.exit_code == 75, sent.output
        assert "5 sent, 1 failed, 0 skipped this run" in sent.output
        assert "1 deferred (still pending)" in sent.output
        assert "failed: p.novak@example.com: 550 5.1.1 No such user" in sent.output
        assert "Traceback" not in sent.output
        status = json.loads(run(project, "status", "--json").output)
        assert (status[0]["sent"], status[0]["failed"], status[0]["pending"]) == (5, 1, 1)

        # the rerun cron makes on 75 delivers the pending row; then only the failure is left
        del handler.replies_to["j.smith@example.net"]
        again = run(project, "send", "--date", "2025-12-03", env=env)
        assert again.exit_code == 0, again.output
        assert "resumed: 1 sent, 0 failed" in again.output
    mailed = [rcpt for received in handler.received for rcpt in received.recipients]
    assert len(mailed) == len(set(mailed)) == 6 and "j.smith@example.net" in mailed


def test_a_pause_is_reported_with_its_cause(project: Project, smtp_server: SmtpServer) -> None:
    imported(project)
    smtp_server.handler.replies = ["421 4.7.0 too many connections"] * 20
    env = smtp_env(smtp_server, DIGEST_DELIVERY_MAX_CONSECUTIVE_FAILURES="2",
                   DIGEST_DELIVERY_CONNECTIONS="1")  # fmt: skip
    sent = run(project, "send", "--date", "2025-12-03", env=env)
    assert sent.exit_code == 75
    assert "error: paused after 2 failed tries in a row (last: 421 4.7.0" in sent.output


def test_an_unreachable_server_after_setup_errors_cleanly(project: Project) -> None:
    """With the shipped retry settings (4 tries, 30 s backoff, pause after 20 failures)
    a server that is not there used to keep the command silent for 7 minutes."""
    imported(project)
    env = {"DIGEST_DELIVERY_TRANSPORT": "smtp", "DIGEST_SMTP_HOST": "127.0.0.1",
           "DIGEST_SMTP_PORT": "1", "DIGEST_SMTP_SECURITY": "none"}  # fmt: skip
    sent = run(project, "send", "--date", "2025-12-03", env=env)
    assert sent.exit_code == 75 and "Traceback" not in sent.output
    assert "error: cannot connect to SMTP server 127.0.0.1:1" in sent.output
    assert "nothing was sent in this run, unsent recipients stay pending" in sent.output


def test_bounces_process_command(project: Project) -> None:
    imported(project)
    assert run(project, "send", "--date", "2025-12-03").exit_code == 0
    box = mailbox.mbox(project.root / "bounces.mbox")
    with open_store(project.settings()) as store:
        for name in ("dsn-hard.eml", "arf-complaint.eml"):
            box.add(returned(name, store))  # quoting the Message-IDs really sent
    box.close()
    result = run(project, "bounces", "process", str(project.root / "bounces.mbox"))
    assert result.exit_code == 0, result.output
    assert "2 message(s): 1 hard, 0 soft, 1 complaint(s)" in result.output
    assert "p.novak@example.com: now bounced" in result.output
    assert "j.smith@example.net: now complained" in result.output
    missing = run(project, "bounces", "process", str(project.root / "nope"))
    assert missing.exit_code != 0 and "does not exist" in missing.output


def test_bad_delivery_setting_names_the_key(project: Project) -> None:
    result = run(project, "send", env={"DIGEST_DELIVERY_CONNECTIONS": "0"})
    assert result.exit_code == 2
    assert "[delivery] connections: must be at least 1" in result.output


def test_dry_run_after_a_partial_send_shows_the_frozen_rows(
    project: Project, smtp_server: SmtpServer
) -> None:
    imported(project)
    smtp_server.handler.replies = ["451 4.3.0 later"]
    env = smtp_env(smtp_server, DIGEST_DELIVERY_MAX_ATTEMPTS="1")
    assert run(project, "send", "--date", "2025-12-03", env=env).exit_code == 75
    result = run(project, "send", "--date", "2025-12-03", "--dry-run", env=env)
    assert result.exit_code == 0, result.output
    assert result.output.count("\tsent\n") == 6
    assert "1 would be sent, nothing was sent" in result.output
    assert len(smtp_server.handler.received) == 6


def test_progress_bar_on_a_terminal_only(project: Project) -> None:
    imported(project)
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-c", "from digest.cli import main; main()", "--config",
         str(project.config), "send", "--date", "2025-12-03"],
        stdin=follower, stdout=follower, stderr=follower, cwd=project.root,
    )  # fmt: skip
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the child exits
            break
        if not chunk:
            break
        output += chunk
    child.wait(timeout=60)
    os.close(leader)
    text = output.decode("utf-8", "replace")
    assert child.returncode == 0, text
    assert "sending" in text and "msg/s" in text and "7 sent in all" in text

    quiet = run(project, "send", "--date", "2025-11-27")  # CliRunner: not a terminal
    assert quiet.exit_code == 0 and "sent in all" in quiet.output
    assert "msg/s" not in quiet.output and "sending" not in quiet.output


def test_a_bad_feedback_id_template_is_named_and_nothing_is_sent(project: Project) -> None:
    imported(project)
    result = run(project, "send", "--date", "2025-12-03",
                 env={"DIGEST_DELIVERY_FEEDBACK_ID": "{issue}:{nope}"})  # fmt: skip
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "[delivery] feedback_id: bad placeholder 'nope'" in result.output
    assert not list((project.root / "outbox").glob("*.eml"))
    status = json.loads(run(project, "status", "--json").output)
    assert status[0]["pending"] == 7


@pytest.mark.parametrize("limit", ["0", "-5"])
def test_status_limit_must_be_positive(project: Project, limit: str) -> None:
    result = run(project, "status", "--limit", limit)
    assert result.exit_code == 2
    assert "--limit" in result.output and "no issue sent yet" not in result.output
