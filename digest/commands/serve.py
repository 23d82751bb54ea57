"""`digest serve`: the subscriber pages and the archive, for real use."""

from __future__ import annotations

import click

from digest.commands import PORT, config_option, settings_from_context
from digest.web.app import create_app
from digest.web.server import make_http_server


@click.command()
@config_option
@click.option("--host", default=None, help="Address to bind (default: [serve] host, 127.0.0.1).")
@click.option("--port", type=PORT, default=None, help="Port, 0 to 65535 (default: [serve] port).")
def serve(host: str | None, port: int | None) -> None:
    """Serve subscribe, confirm, preferences, one-click unsubscribe and the archive.

    Binds 127.0.0.1 unless told otherwise: put a reverse proxy (TLS) in front and set
    [newsletter] base_url to its public address. For production you may instead run
    `digest.web.wsgi:app` under waitress or gunicorn.

    \b
    Example:
      digest serve --port 8025
      DIGEST_CONFIG=/srv/digest/config.toml \\
        waitress-serve --listen=127.0.0.1:8025 digest.web.wsgi:app
    """
    settings = settings_from_context()
    server = make_http_server(
        create_app(settings),
        host or settings.serve.host,
        settings.serve.port if port is None else port,
    )
    click.echo(f"serving on http://{server.host}:{server.port} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
