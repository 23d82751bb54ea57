"""`digest serve` as a real process, and the WSGI module for waitress or gunicorn."""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from digest.cli import cli
from digest.web.server import running
from tests.conftest import REPO, Project


def test_serve_binds_loopback_by_default(project: Project) -> None:
    command = [sys.executable, "-c", "from digest.cli import main; main()", "serve",
               "--config", str(project.config), "--port", "0"]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("serving on http://127.0.0.1:"), line
            url = line.split()[2]
            with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
                assert response.read() == b"ok\n"
            with urllib.request.urlopen(f"{url}/subscribe", timeout=10) as response:
                assert b'name="email"' in response.read()
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_wsgi_module_reads_the_config_from_the_environment(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_CONFIG", str(project.config))
    sys.modules.pop("digest.web.wsgi", None)
    module = importlib.import_module("digest.web.wsgi")
    try:
        assert isinstance(module.app, Flask)
        with running(module.app) as base, urllib.request.urlopen(f"{base}/archive") as response:
            assert response.status == 200
    finally:
        sys.modules.pop("digest.web.wsgi", None)


@pytest.mark.parametrize("command", ["serve", "preview"])
def test_a_port_in_use_is_a_one_line_error(project: Project, command: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        args = ["--config", str(project.config), command, "--port", str(port)]
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (pick another --port)"
    )


def test_the_shipped_systemd_unit_runs_the_app_under_waitress(project: Project) -> None:
    """The unit's own command line, with this checkout's paths and a free port: the
    subscriber pages under a production server, not Werkzeug's development one."""
    unit = (REPO / "contrib" / "systemd" / "digest-serve.service").read_text(encoding="utf-8")
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if line.startswith(("Exec", "Env"))
    )
    assert settings["Environment"] == "DIGEST_CONFIG=/srv/digest/config.toml"
    command = settings["ExecStart"].split()
    assert command[0] == "/srv/digest/.venv/bin/waitress-serve"
    assert command[-1] == "digest.web.wsgi:app" and "--listen=127.0.0.1:8025" in command
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command[0] = str(Path(sys.executable).parent / "waitress-serve")
    command[command.index("--listen=127.0.0.1:8025")] = f"--listen=127.0.0.1:{port}"
    environ = {**os.environ, "DIGEST_CONFIG": str(project.config)}
    with subprocess.Popen(
        command, env=environ, cwd=project.root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as process:
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/subscribe", timeout=5
                    ) as response:
                        assert response.headers["Server"] == "waitress"
                        assert b'name="email"' in response.read()
                        break
                except urllib.error.URLError:
                    assert process.poll() is None, process.stderr.read() if process.stderr else ""
                    assert time.monotonic() < deadline, "waitress did not start"
                    time.sleep(0.1)
        finally:
            process.terminate()
            process.wait(timeout=10)
