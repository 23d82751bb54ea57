"""A throwaway PostgreSQL cluster for the tests and benchmarks: initdb into a temporary
folder, a server on a free loopback port with password (scram) logins, stopped and
deleted at the end. initdb refuses to run as root, so as root the server runs as the
`postgres` system user (CI runs as root).

`cluster()` yields None when PostgreSQL is not installed; `DIGEST_REQUIRE_POSTGRES=1`
(set by .ci/run) turns that into an error, so CI cannot skip the PostgreSQL half.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "digest"


def bindir() -> Path | None:
    """Where initdb and postgres live: PATH, then Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(versions[-1]).parent if versions else None


def required() -> bool:
    return os.environ.get("DIGEST_REQUIRE_POSTGRES", "") == "1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    password: str
    admin_url: str

    def url(self, database: str, user: str = USER) -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh database owned by the test user; returns its URL (no password)."""
        self.admin(f'CREATE DATABASE "{name}" OWNER {USER}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.encode())


@contextmanager
def cluster() -> Iterator[Cluster | None]:
    """Start a cluster for the duration of the block, or yield None without PostgreSQL."""
    bins = bindir()
    if bins is None:
        if required():
            raise RuntimeError("DIGEST_REQUIRE_POSTGRES=1 but initdb is not installed")
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="digest-pg-"))
    data = folder / "data"
    password = secrets.token_hex(12)
    (folder / "pw").write_text(password + "\n")
    run_as: list[str] = []
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        for path in (folder, folder / "pw"):
            os.chown(path, account.pw_uid, account.pw_gid)
        run_as = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
                  "--init-groups", "--"]  # fmt: skip
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"}
    subprocess.run(
        [*run_as, str(bins / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile",
         str(folder / "pw"), "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    log = open(folder / "log", "wb")  # noqa: SIM115 - closed when the server stops
    server = subprocess.Popen(
        [*run_as, str(bins / "postgres"), "-D", str(data), "-p", str(port),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={folder}",
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
         "-c", "shared_buffers=32MB", "-c", "max_connections=60"],
        stdout=subprocess.DEVNULL, stderr=log, env=env,
    )  # fmt: skip
    admin_url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    try:
        _wait_ready(admin_url, server, folder)
        found = Cluster("127.0.0.1", port, password, admin_url)
        found.admin(f"CREATE ROLE {USER} LOGIN PASSWORD '{password}'")
        yield found
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(url: str, server: subprocess.Popen[bytes], folder: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                log = (folder / "log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PostgreSQL did not start:\n{log}") from None
            time.sleep(0.1)
