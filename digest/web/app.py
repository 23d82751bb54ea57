"""The one Flask app factory. `editor=True` adds the preview pages (`digest preview`);
`digest serve` runs the same app with them off, for subscribers and the archive."""

from __future__ import annotations

from flask import Flask

from digest.config import Settings
from digest.web import preview, public


def create_app(settings: Settings, *, editor: bool = False) -> Flask:
    app = Flask(
        "digest.web",
        template_folder=str(settings.build.templates_dir / "web"),
        static_folder=None,
    )
    app.config["DIGEST_SETTINGS"] = settings
    app.config["DIGEST_EDITOR"] = editor
    app.register_blueprint(public.blueprint)
    if editor:
        app.register_blueprint(preview.blueprint)
    return app
