"""Serving the app for real: a threaded WSGI server on 127.0.0.1 unless told otherwise.

Used by `digest preview`, `digest serve` and the tests, which talk to it over HTTP.
For production, run `digest.web.wsgi:app` under waitress or gunicorn instead.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import BaseWSGIServer, get_sockaddr, make_server, select_address_family

from digest.errors import DigestError

DEFAULT_HOST = "127.0.0.1"


def make_http_server(app: Flask, host: str = DEFAULT_HOST, port: int = 0) -> BaseWSGIServer:
    """A server bound now (port 0 picks a free port); call serve_forever() to run it.

    The socket is bound here rather than by werkzeug, which prints its own advice and
    exits on a bind failure: a port in use or a bad host is one `error:` line instead.
    """
    family = select_address_family(host, port)
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(get_sockaddr(host, port, family))
        listener.listen(socket.SOMAXCONN)
        return make_server(host, port, app, threaded=True, fd=listener.fileno())
    except OSError as exc:
        reason = exc.strerror or str(exc)
        hint = "pick another --port" if exc.errno == errno.EADDRINUSE else "check --host"
        raise DigestError(f"cannot listen on {host}:{port}: {reason} ({hint})") from None
    finally:
        listener.close()  # the server works on its own duplicate of the socket


@contextmanager
def running(app: Flask, host: str = DEFAULT_HOST, port: int = 0) -> Iterator[str]:
    """Serve in a background thread; yields the base URL, stops on exit."""
    server = make_http_server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
