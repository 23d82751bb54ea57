"""`digest.web.wsgi:app` for a production WSGI server (waitress, gunicorn).

The config comes from $DIGEST_CONFIG (default ./config.toml), read once at import.
"""

from __future__ import annotations

from digest.config import load_default_settings
from digest.web.app import create_app

app = create_app(load_default_settings())
