"""Serving the app for real: a threaded WSGI server on 127.0.0.1 unless told otherwise.

Used by `digest preview`, `digest serve` and the tests, which talk to it over HTTP.
For production, run `digest.web.wsgi:app` under waitress or gunicorn instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

DEFAULT_HOST = "127.0.0.1"


def make_http_server(app: Flask, host: str = DEFAULT_HOST, port: int = 0) -> BaseWSGIServer:
    """A server bound now (port 0 picks a free port); call serve_forever() to run it."""
    return make_server(host, port, app, threaded=True)


@contextmanager
def running(app: Flask, host: str = DEFAULT_HOST, port: int = 0) -> Iterator[str]:
    """Serve in a background thread; yields the base URL, stops on exit."""
    server = make_http_server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
