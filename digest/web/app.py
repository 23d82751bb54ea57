"""The one Flask app factory. `editor=True` builds the editor's local tool (`digest
preview`): the preview and desk only, never the subscriber pages, which would otherwise
run on the production store and transport from an editor's laptop. Without it, `digest
serve` gets the subscriber pages and the archive."""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from digest.config import Settings
from digest.tokens import Signer, secret_key
from digest.web import account, archive, context, i18n, preview, public
from digest.web.csrf import csrf_token


def create_app(settings: Settings, *, editor: bool = False) -> Flask:
    app = Flask(
        "digest.web",
        template_folder=str(settings.build.templates_dir / "web"),
        static_folder=None,
    )
    app.config["DIGEST_SETTINGS"] = settings
    app.config["DIGEST_EDITOR"] = editor
    if editor:
        preview.install(app)
        return app
    _configure_subscriber_pages(app, settings)
    app.register_blueprint(public.blueprint)
    return app


def _configure_subscriber_pages(app: Flask, settings: Settings) -> None:
    """Signed session (CSRF) with a key derived from the link-signing key, so one
    secret serves both and neither can be used as the other."""
    key = secret_key(settings)
    app.config["DIGEST_SIGNER"] = Signer(key)
    app.config["SECRET_KEY"] = hmac.new(
        key.encode(), b"digest.flask-session", hashlib.sha256
    ).hexdigest()
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = settings.newsletter.base_url.startswith("https:")
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["newsletter"] = settings.newsletter
    context.install(app)
    i18n.install(app)
    app.register_blueprint(account.blueprint)
    if settings.serve.archive:
        app.register_blueprint(archive.blueprint)
    hops = settings.serve.proxy_hops
    if hops:
        # The client's address (for the subscribe limit) from the proxies' headers only.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
