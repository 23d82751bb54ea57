"""`digest preview`: the editor's desk and live preview of the coming issue."""

from __future__ import annotations

import datetime as dt

import click

from digest.commands import PORT, config_option, date_option, settings_from_context
from digest.web.app import create_app
from digest.web.preview import DAY_KEY, watcher
from digest.web.server import DEFAULT_HOST, make_http_server


@click.command()
@config_option
@date_option
@click.option(
    "--port", type=PORT, default=8026, show_default=True, help="Port on 127.0.0.1 (0: any)."
)
def preview(day: dt.datetime | None, port: int) -> None:
    """Serve the editor's desk and a live preview of the coming issue on 127.0.0.1.

    Shows each variant (language x theme set) at desktop and mobile widths with its
    plain text, subject, preheader, checks and HTML size; reloads when an entry or a
    template is saved. The desk beside it leaves entries out, sets themes, reorders,
    edits titles and summaries and pins or drops highlights by writing each entry's
    front matter; it also imports pasted texts and sends proofs. Only the local machine
    can reach it (localhost Host names only); no subscriber page is served.

    \b
    Example:
      digest preview --port 8026 --date 2025-12-01
    """
    settings = settings_from_context()
    app = create_app(settings, editor=True)
    if day is not None:
        app.config[DAY_KEY] = day.date()
    server = make_http_server(app, DEFAULT_HOST, port)
    live = watcher(app)
    click.echo(f"preview on http://{DEFAULT_HOST}:{server.port}/preview/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        live.stop()
        server.server_close()
