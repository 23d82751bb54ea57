"""Pages anyone may reach: health check (subscribe, preferences, unsubscribe, archive)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("public", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[str, int, dict[str, str]]:
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
