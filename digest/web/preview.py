"""The editor's preview and desk of the coming issue (served only by `digest preview`).

Every request re-reads the entries and re-renders the chosen variant through the same
pipeline as `digest send`, so what the editor sees is what readers get. A watchfiles
thread bumps a version number whenever an entry or a template changes; the page polls
`/preview/version` and reloads itself when the number moves.

The desk's actions (desk.py) write entry files, so this app is guarded as a local tool:
it answers only requests whose `Host:` is a loopback name (a web page cannot use DNS
rebinding to read the unpublished issue or drive the desk), and every POST carries a
per-process random token that only the page itself knows.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import watchfiles
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from digest import pipeline
from digest.config import Settings
from digest.errors import DigestError
from digest.frontmatter import ConflictError
from digest.models import Entry, Variant
from digest.proof import send_proof
from digest.render.variant import CompiledVariant, parse_variant
from digest.schedule import next_fire_for
from digest.sources.problems import Problem
from digest.store import Store
from digest.web import desk as desk_module
from digest.web.desk_import import import_drafts

blueprint = Blueprint("preview", __name__, url_prefix="/preview")

GMAIL_CLIP_BYTES = 102 * 1024
"""Gmail hides everything past about 102 KB of HTML behind 'View entire message'."""
DAY_KEY = "DIGEST_PREVIEW_DAY"
"""app.config key: the day whose week is previewed (default: today in the configured zone)."""
_EXTENSION = "digest.preview"
TOKEN_KEY = "DIGEST_DESK_TOKEN"
"""app.config key: the random token every desk POST must carry."""
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


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


def install(app: Flask) -> None:
    """Mount the preview and desk on `app`, answering loopback `Host:` names only."""
    app.config.setdefault(TOKEN_KEY, secrets.token_urlsafe(32))
    app.before_request(_only_local_hosts)
    app.register_blueprint(blueprint)


def host_name(host: str) -> str:
    """`Host:` without its port: `[::1]:8026` -> `[::1]`, `localhost:80` -> `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0]


def _only_local_hosts() -> Response | None:
    name = host_name(request.headers.get("Host", ""))
    if name.rstrip(".") in LOCAL_HOSTS:
        return None
    return Response(
        "error: the preview answers only to localhost (Host: 127.0.0.1, localhost or [::1])\n",
        403,
        mimetype="text/plain",
    )


def _settings() -> Settings:
    settings: Settings = current_app.config["DIGEST_SETTINGS"]
    return settings


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _day(settings: Settings, now: dt.datetime) -> dt.date:
    day = current_app.config.get(DAY_KEY)
    return day if isinstance(day, dt.date) else pipeline.local_today(settings, now)


def _variant(settings: Settings) -> Variant:
    label = request.values.get("variant")
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
    if settings.store.path.exists():
        all_ids = frozenset(t.id for t in settings.themes)
        with Store(settings.store.path) as store:  # one row per distinct choice
            chosen = {c if c != all_ids else frozenset() for c in store.theme_choices("active")}
        sets += sorted(chosen - set(sets), key=lambda s: sorted(s))
    return sets


def readers_per_variant(settings: Settings) -> Counter[Variant]:
    """Active readers by the variant they receive (none when there is no store yet)."""
    counts: Counter[Variant] = Counter()
    if settings.store.path.exists():
        with Store(settings.store.path) as store:
            for reader in store.iter_subscribers("active"):
                counts[pipeline.variant_of(reader, settings)] += 1
    return counts


def _theme_label(settings: Settings, themes: frozenset[str], language: str) -> str:
    if not themes:
        return "All themes"
    titles = {t.id: t.title(language) for t in settings.themes}
    return " + ".join(titles.get(t, t) for t in sorted(themes))


def _send_status(settings: Settings, now: dt.datetime) -> dict[str, Any]:
    """When the next automatic send is due, and how the last issues' sends stand."""
    fire = next_fire_for(settings)(now)
    issues: list[dict[str, object]] = []
    if settings.store.path.exists():
        with Store(settings.store.path) as store:
            issues = store.issue_statuses(5)
    return {
        "next_send": fire.astimezone(settings.tz).strftime("%A %d %B %Y, %H:%M %Z")
        if fire
        else "no send scheduled",
        "issues": issues,
    }


@dataclass
class Built:
    """Everything one request needs: the desk, the issue's edition, the checks."""

    desk: desk_module.Desk
    week: list[Entry]
    edition: pipeline.Edition
    checks: list[Problem]


def _build(settings: Settings) -> Built:
    now = _now()
    day = _day(settings, now)
    desk, week = desk_module.load_desk(settings, day, now)
    edition = pipeline.Edition(settings, desk.issue, pipeline.make_signer(settings), now)
    return Built(desk, week, edition, list(desk.problems))


def _edition(settings: Settings) -> pipeline.Edition:
    """The issue as the desk shows it (usable entries of the week), without the desk."""
    now = _now()
    day = _day(settings, now)
    issue = desk_module.week_issue(settings, day)
    return pipeline.Edition(settings, issue, pipeline.make_signer(settings), now)


def _grouped(checks: list[Problem], root: Path) -> list[tuple[str, list[dict[str, Any]]]]:
    """Checks by severity, errors first, each with its path relative to the project."""
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for severity in ("error", "warning"):
        rows = [
            {
                "id": c.id,
                "where": desk_module.relative(c.path, root) + (f":{c.line}" if c.line else ""),
                "message": c.message,
            }
            for c in checks
            if c.severity == severity
        ]
        groups.append((severity, rows))
    return groups


def _page(
    notice: str = "", problem: str = "", status: int = 200, imported: Any = None
) -> tuple[str, int]:
    settings = _settings()
    root = settings.path.resolve().parent
    variant: Variant = Variant(settings.newsletter.language, frozenset())
    counts = readers_per_variant(settings)
    context: dict[str, Any] = {
        "settings": settings,
        "version": watcher(current_app).version,
        "token": current_app.config[TOKEN_KEY],
        "error": None,
        "notice": notice or request.args.get("notice", ""),
        "problem": problem,
        "imported": imported,
        "paste": request.form.get("text", "") if imported is not None else "",
        "paste_date": request.form.get("date", "") if imported is not None else "",
        "gmail_clip_kb": GMAIL_CLIP_BYTES / 1024,
        "status": _send_status(settings, _now()),
        "readers": sorted(
            ((v.label, _theme_label(settings, v.themes, v.language), n) for v, n in counts.items()),
            key=lambda row: (-row[2], row[0]),
        ),
        "themes": settings.themes,
        "theme_titles": {t.id: t.title(settings.newsletter.language) for t in settings.themes},
        "variant": variant,
    }
    try:
        variant = _variant(settings)
    except DigestError as exc:
        context["error"] = str(exc)
    context["variant"] = variant
    sets = theme_sets(settings)
    if variant.themes not in sets:
        sets.append(variant.themes)
    context["languages"] = [
        (lang, sum(n for v, n in counts.items() if v.language == lang))
        for lang in settings.newsletter.languages
    ]
    context["theme_sets"] = [
        (
            "|".join(sorted(s)) or "all",
            _theme_label(settings, s, variant.language),
            counts.get(Variant(variant.language, s), 0),
        )
        for s in sets
    ]
    try:
        built = _build(settings)
    except DigestError as exc:
        context["error"] = str(exc)
        return render_template("preview.html", **context), status
    context |= {
        "issue": built.desk.issue,
        "desk": built.desk,
        "check_groups": _grouped(built.checks, root),
        "check_count": len(built.checks),
        "relative": lambda path: desk_module.relative(str(path), root),
    }
    if context["error"] is None:
        try:
            compiled = built.edition.compiled(variant)
        except DigestError as exc:
            context["error"] = str(exc)
        else:
            context |= {
                "compiled": compiled,
                "text": compiled.text.fill(_fill(built.edition, compiled)),
                "size_kb": compiled.html_bytes / 1024,
                "size_ratio": compiled.html_bytes / GMAIL_CLIP_BYTES,
            }
    return render_template("preview.html", **context), status


@blueprint.get("/")
def page() -> tuple[str, int]:
    return _page()


def _check_token() -> None:
    sent = request.form.get("token", "")
    if not sent or not hmac.compare_digest(sent, current_app.config[TOKEN_KEY]):
        raise _Refused("the form's token is missing or stale: reload the desk and try again", 403)


class _Refused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _back(notice: str, anchor: str = "") -> BaseResponse:
    target = url_for("preview.page", variant=request.form.get("variant") or None, notice=notice)
    return redirect(target + (f"#{anchor}" if anchor else ""), 303)


def _refuse(exc: Exception, status: int) -> tuple[str, int]:
    return _page(problem=f"error: {exc}", status=status)


@blueprint.post("/desk/entry")
def entry_action() -> BaseResponse | tuple[str, int]:
    """One desk action on one entry file (several files for a move up or down)."""
    settings = _settings()
    try:
        _check_token()
        name, action = request.form.get("file", ""), request.form.get("action", "")
        if action not in desk_module.ACTIONS:
            raise _Refused(f"unknown desk action {action!r}", 400)
        try:
            stamps = json.loads(request.form.get("stamps", "{}"))
        except ValueError:
            stamps = None
        if not isinstance(stamps, dict):
            raise _Refused("the form's file versions are unreadable: reload the desk", 400)
        built = _build(settings)
        written = desk_module.apply(
            settings, built.desk, built.week, name, action, request.form.get("value", ""), stamps
        )
    except _Refused as exc:
        return _refuse(exc, exc.status)
    except ConflictError as exc:
        return _refuse(exc, 409)
    except DigestError as exc:
        return _refuse(exc, 400)
    done = ", ".join(written) if written else "nothing to change"
    return _back(f"{action}: {done} saved", f"row-{name}")


@blueprint.post("/desk/import")
def import_action() -> BaseResponse | tuple[str, int]:
    """Preview what a pasted text or URL would add; write it on `accept`."""
    settings = _settings()
    try:
        _check_token()
        raw_date = request.form.get("date", "").strip()
        try:
            day = dt.date.fromisoformat(raw_date) if raw_date else None
        except ValueError:
            raise _Refused(f"date {raw_date!r}: use YYYY-MM-DD", 400) from None
        accept = request.form.get("step") == "accept"
        result = import_drafts(settings, request.form.get("text", ""), day, write=accept)
    except _Refused as exc:
        return _refuse(exc, exc.status)
    except DigestError as exc:
        return _page(problem=f"error: {exc}", status=400, imported=False)
    if accept:
        names = ", ".join(d.name for d in result.drafts) or "no new entry"
        return _back(f"imported: {names}", "import")
    return _page(imported=result)


@blueprint.post("/desk/proof")
def proof_action() -> BaseResponse | tuple[str, int]:
    """Send the shown variant to one address, as `digest send --test-to` does."""
    settings = _settings()
    try:
        _check_token()
        variant = _variant(settings)
        built = _build(settings)
        message = send_proof(
            built.edition,
            pipeline.make_transport(settings),
            request.form.get("address", ""),
            variant,
        )
    except _Refused as exc:
        return _refuse(exc, exc.status)
    except DigestError as exc:
        return _refuse(exc, 400)
    return _back(
        f"proof of {built.desk.issue.key} ({variant.label}) sent to {message.recipient}", "proof"
    )


_DARK_QUERY = "(prefers-color-scheme: dark)"


@blueprint.get("/raw")
def raw() -> Response:
    """The variant's HTML (or `?part=text`) as the sample reader receives it;
    `?scheme=dark|light` forces the email's dark-mode rules on or off."""
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
    html = compiled.html.fill(values)
    scheme = request.args.get("scheme")
    if scheme in {"dark", "light"}:
        html = html.replace(_DARK_QUERY, "all" if scheme == "dark" else "not all")
    return Response(html, mimetype="text/html")


@blueprint.get("/version")
def version() -> Response:
    response = jsonify(version=watcher(current_app).version)
    response.headers["Cache-Control"] = "no-store"
    return response
