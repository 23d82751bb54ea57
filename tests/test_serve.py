"""`digest serve` as a real process, and the WSGI module for waitress or gunicorn."""

from __future__ import annotations

import importlib
import socket
import subprocess
import sys
import urllib.request

import pytest
from click.testing import CliRunner
from flask import Flask

from digest.cli import cli
from digest.web.server import running
from tests.conftest import Project


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
