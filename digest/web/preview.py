"""The editor's preview of the coming issue (served only by `digest preview`).

Every request re-reads the entries and re-renders the chosen variant through the same
pipeline as `digest send`, so what the editor sees is what readers get. A watchfiles
thread bumps a version number whenever an entry or a template changes; the page polls
`/preview/version` and reloads itself when the number moves.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import watchfiles
from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request

from digest import pipeline
from digest.checks import check_line, issue_checks
from digest.config import Settings
from digest.errors import DigestError
from digest.models import Variant
from digest.render.variant import CompiledVariant, parse_variant
from digest.store import open_store

blueprint = Blueprint("preview", __name__, url_prefix="/preview")

GMAIL_CLIP_BYTES = 102 * 1024
"""Gmail hides everything past about 102 KB of HTML behind 'View entire message'."""
DAY_KEY = "DIGEST_PREVIEW_DAY"
"""app.config key: the day whose week is previewed (default: today in the configured zone)."""
_EXTENSION = "digest.preview"


@dataclass
class Watcher:
    """Counts changes under the watched folders; started once per app, stopped on demand."""

    paths: tuple[Path, ...]
    version: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="digest-preview-watch", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        paths = [p for p in self.paths if p.exists()]
        # A short debounce: the page must reload within a second of a save.
        for _changes in watchfiles.watch(
            *paths, debounce=100, step=20, stop_event=self._stop, raise_interrupt=False
        ):
            self.version += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def watcher(app: Flask) -> Watcher:
    """The app's watcher, started on first use (tests stop it when done)."""
    state = app.extensions.get(_EXTENSION)
    if state is None:
        settings: Settings = app.config["DIGEST_SETTINGS"]
        state = Watcher((settings.entries.dir, settings.build.templates_dir))
        app.extensions[_EXTENSION] = state
    assert isinstance(state, Watcher)
    state.start()
    return state


def _settings() -> Settings:
    settings: Settings = current_app.config["DIGEST_SETTINGS"]
    return settings


def _edition(settings: Settings) -> pipeline.Edition:
    now = dt.datetime.now(dt.UTC)
    return pipeline.edition_for(settings, current_app.config.get(DAY_KEY), now)


def _variant(settings: Settings) -> Variant:
    label = request.args.get("variant")
    if not label:
        language = request.args.get("language") or settings.newsletter.language
        label = f"{language}:{request.args.get('themes') or 'all'}"
    return parse_variant(label, settings.newsletter.languages, [t.id for t in settings.themes])


def _fill(edition: pipeline.Edition, compiled: CompiledVariant) -> dict[str, str]:
    """What a reader without a name would get: the catalog's greeting, sample links."""
    links = edition.links(pipeline.SAMPLE_READER)
    return {"name": edition.fallback_name(compiled.variant.language), **links}


def theme_sets(settings: Settings) -> list[frozenset[str]]:
    """All themes, each theme alone, then the sets subscribers actually chose."""
    sets: list[frozenset[str]] = [frozenset()]
    sets += [frozenset({t.id}) for t in settings.themes]
    if settings.store.engine != "sqlite" or settings.store.path.exists():
        all_ids = frozenset(t.id for t in settings.themes)
        with open_store(settings) as store:  # one row per distinct choice
            chosen = {c if c != all_ids else frozenset() for c in store.theme_choices("active")}
        sets += sorted(chosen - set(sets), key=lambda s: sorted(s))
    return sets


@blueprint.get("/")
def page() -> str:
    settings = _settings()
    version = watcher(current_app).version
    context: dict[str, Any] = {
        "settings": settings,
        "version": version,
        "languages": settings.newsletter.languages,
        "theme_sets": ["|".join(sorted(s)) or "all" for s in theme_sets(settings)],
        "error": None,
        "gmail_clip_kb": GMAIL_CLIP_BYTES / 1024,
    }
    try:
        variant = _variant(settings)
        context["variant"] = variant
        current = variant.label.split(":", 1)[1]
        if current not in context["theme_sets"]:
            context["theme_sets"].append(current)
        edition = _edition(settings)
        compiled = edition.compiled(variant)
    except DigestError as exc:
        context["error"] = str(exc)
        context.setdefault("variant", Variant(settings.newsletter.language, frozenset()))
        return render_template("preview.html", **context)
    context |= {
        "issue": edition.issue,
        "compiled": compiled,
        "text": compiled.text.fill(_fill(edition, compiled)),
        "checks": [check_line(c) for c in issue_checks(settings, edition.issue, edition.now)],
        "size_kb": compiled.html_bytes / 1024,
        "size_ratio": compiled.html_bytes / GMAIL_CLIP_BYTES,
    }
    return render_template("preview.html", **context)


@blueprint.get("/raw")
def raw() -> Response:
    """The variant's HTML (or `?part=text`) as the sample reader receives it."""
    settings = _settings()
    try:
        variant = _variant(settings)
        edition = _edition(settings)
        compiled = edition.compiled(variant)
    except DigestError as exc:
        return Response(f"error: {exc}\n", 422, mimetype="text/plain")
    values = _fill(edition, compiled)
    if request.args.get("part") == "text":
        return Response(compiled.text.fill(values), mimetype="text/plain")
    return Response(compiled.html.fill(values), mimetype="text/html")


@blueprint.get("/version")
def version() -> Response:
    response = jsonify(version=watcher(current_app).version)
    response.headers["Cache-Control"] = "no-store"
    return response
