"""The editor's preview of the coming issue (served only by `digest preview`)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("preview", __name__)
