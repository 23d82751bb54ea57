"""kill -9 of a running `digest send`, then a resume: nobody lost, at most the in-flight
message (one per connection) delivered twice."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.store import open_store
from tests.conftest import Project, SlowHandler, SmtpServer, smtp_serving

READERS = 40


@pytest.fixture
def slow_server() -> Iterator[SmtpServer]:
    with smtp_serving(SlowHandler(delay=0.04)) as server:  # the kill lands mid-flight
        yield server


@pytest.mark.parametrize("connections", [1, 3])
def test_kill_9_mid_send_then_resume_loses_nobody(
    project: Project, slow_server: SmtpServer, connections: int
) -> None:
    csv = project.root / "subscribers" / "many.csv"
    rows = [f"reader{i:03d}@example.org,Reader {i},fr," for i in range(READERS)]
    csv.write_text("email,name,language,themes\n" + "\n".join(rows) + "\n", encoding="utf-8")
    env = {
        "DIGEST_CONFIG": str(project.config),
        "DIGEST_DELIVERY_TRANSPORT": "smtp",
        "DIGEST_DELIVERY_CONNECTIONS": str(connections),
        "DIGEST_SMTP_HOST": slow_server.host,
        "DIGEST_SMTP_PORT": str(slow_server.port),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_SECRET_KEY": "test-key-" + "k" * 32,
    }
    imported = CliRunner().invoke(cli, ["subscribers", "import", str(csv)], env=env)
    assert imported.exit_code == 0, imported.output

    child = subprocess.Popen(
        [sys.executable, "-c", "from digest.cli import main; main()",
         "send", "--date", "2025-12-03"],
        env={**os.environ, **env}, cwd=project.root,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    handler = slow_server.handler
    deadline = time.monotonic() + 60
    while len(handler.received) < READERS // 4 and child.poll() is None:
        assert time.monotonic() < deadline, "the send never got going"
        time.sleep(0.01)
    assert child.poll() is None, child.stderr.read() if child.stderr else ""
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.stderr is not None
    child.stderr.close()
    before_resume = len(handler.received)
    assert before_resume < READERS  # the kill really landed mid-send

    resumed = CliRunner().invoke(cli, ["send", "--date", "2025-12-03"], env=env)
    assert resumed.exit_code == 0, resumed.output
    assert "resumed" in resumed.output

    got = collections.Counter(r.recipients[0] for r in handler.received)
    assert set(got) == {f"reader{i:03d}@example.org" for i in range(READERS)}
    duplicates = sum(n - 1 for n in got.values())
    assert duplicates <= connections  # at most the message in flight on each connection
    with open_store(project.settings()) as store:
        assert store.counts("2025-W49") == {"sent": READERS}


def test_ctrl_c_mid_send_lets_messages_in_flight_finish_and_says_how_to_resume(
    project: Project, slow_server: SmtpServer
) -> None:
    slow_server.handler.delay = 0.3  # type: ignore[attr-defined]
    csv = project.root / "subscribers" / "many.csv"
    rows = [f"reader{i:03d}@example.org,Reader {i},fr," for i in range(READERS)]
    csv.write_text("email,name,language,themes\n" + "\n".join(rows) + "\n", encoding="utf-8")
    env = {
        "DIGEST_CONFIG": str(project.config),
        "DIGEST_DELIVERY_TRANSPORT": "smtp",
        "DIGEST_DELIVERY_CONNECTIONS": "3",
        "DIGEST_SMTP_HOST": slow_server.host,
        "DIGEST_SMTP_PORT": str(slow_server.port),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_SECRET_KEY": "test-key-" + "k" * 32,
    }
    assert CliRunner().invoke(cli, ["subscribers", "import", str(csv)], env=env).exit_code == 0
    child = subprocess.Popen(
        [sys.executable, "-c", "from digest.cli import main; main()",
         "send", "--date", "2025-12-03"],
        env={**os.environ, **env}, cwd=project.root, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as on a terminal
    )  # fmt: skip
    handler = slow_server.handler
    deadline = time.monotonic() + 60
    while len(handler.received) < 4 and child.poll() is None:
        assert time.monotonic() < deadline, "the send never got going"
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("error: interrupted")
    accepted = {r.recipients[0] for r in handler.received}
    assert len(accepted) < READERS
    with open_store(project.settings()) as store:
        sent = {row.email for row in store.deliveries("2025-W49") if row.status == "sent"}
    assert sent == accepted  # every message the server took is recorded: none re-sent later
