"""The public archive of sent issues: `/archive`, `/archive/<key>` and an Atom feed.

Issues are addressed by their week key (`2025-W49`) because the issue number is the
ISO week and comes back every year; `/archive/<n>` and `/archive/<volume>/<n>` redirect
to the newest sent issue with that number (in that volume).

An archived issue is re-assembled from the entries of its week and rendered like the
all-themes email in the default language, with neutral values in the per-subscriber
slots (the greeting's fallback name, links to the subscribe page), so no personal link
or address can appear. Rendered pages are cached per key for the life of the process.
"""

from __future__ import annotations

import datetime as dt
import threading
import xml.etree.ElementTree as ET

from flask import Blueprint, Response, redirect, render_template, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from digest import pipeline
from digest.errors import DigestError
from digest.models import Variant
from digest.render.i18n import long_date, reader_name
from digest.render.variant import render_variant
from digest.store import SentIssue
from digest.web import context, i18n

blueprint = Blueprint("archive", __name__)
ATOM = "http://www.w3.org/2005/Atom"
_cache: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


def week_start(key: str) -> dt.date:
    year, week = key.split("-W")
    return dt.date.fromisocalendar(int(year), int(week), 1)


def _title(issue: SentIssue) -> str:
    language = i18n.language()
    return i18n.t(
        "No. %(number)s, vol. %(volume)s — week of %(date)s",
        number=issue.number,
        volume=issue.volume,
        date=long_date(week_start(issue.key), language),
    )


def _sent() -> list[SentIssue]:
    return context.store().sent_issues()


def render_archived(key: str) -> str:
    """The issue of week `key` as public HTML; DigestError if it cannot be rebuilt."""
    settings = context.settings()
    cache_key = (str(settings.path), key)
    with _lock:
        if cache_key in _cache:
            return _cache[cache_key]
    day = week_start(key)  # read for its own week: its feed items stay in it
    issue = pipeline.assemble(settings, pipeline.read_entries(settings, day), day)
    language = settings.newsletter.language
    compiled = render_variant(
        issue, Variant(language, frozenset()), settings.newsletter, settings.build.templates_dir
    )
    public = f"{settings.newsletter.base_url.rstrip('/')}/subscribe"
    html = compiled.html.fill(
        {
            "name": reader_name(settings.build.templates_dir / "locale", language),
            "unsubscribe_url": public,
            "preferences_url": public,
        }
    )
    with _lock:
        _cache[cache_key] = html
    return html


@blueprint.get("/archive")
def index() -> str:
    issues = _sent()
    return render_template(
        "archive.html",
        issues=[(i, _title(i)) for i in issues],
        name=context.settings().newsletter.name,
    )


@blueprint.get("/archive/<key>")
def issue(key: str) -> Response:
    if key not in {i.key for i in _sent()}:
        context.fail(404, "Not in the archive", "No issue of that week has been sent.")
    try:
        html = render_archived(key)
    except DigestError:
        context.fail(404, "Not available", "This issue can no longer be shown.")
    return Response(html, mimetype="text/html")


@blueprint.get("/archive/<int:number>")
@blueprint.get("/archive/<int:volume>/<int:number>")
def by_number(number: int, volume: int | None = None) -> WerkzeugResponse:
    for sent in _sent():  # newest first
        if sent.number == number and volume in (None, sent.volume):
            return redirect(url_for("archive.issue", key=sent.key), code=302)
    context.fail(404, "Not in the archive", "No sent issue has that number.")


@blueprint.get("/archive/feed.atom")
def feed() -> Response:
    settings = context.settings()
    base = settings.newsletter.base_url.rstrip("/")
    issues = _sent()
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(root, f"{{{ATOM}}}title").text = settings.newsletter.name
    ET.SubElement(root, f"{{{ATOM}}}id").text = f"{base}/archive"
    ET.SubElement(root, f"{{{ATOM}}}link", href=f"{base}/archive/feed.atom", rel="self")
    ET.SubElement(root, f"{{{ATOM}}}link", href=f"{base}/archive")
    updated = issues[0].completed_at if issues else "1970-01-01T00:00:00+00:00"
    ET.SubElement(root, f"{{{ATOM}}}updated").text = updated
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = settings.newsletter.name
    for sent in issues:
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = _title(sent)
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{base}/archive/{sent.key}"
        ET.SubElement(entry, f"{{{ATOM}}}link", href=f"{base}/archive/{sent.key}")
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = sent.completed_at
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, mimetype="application/atom+xml")
