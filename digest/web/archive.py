"""The public archive of sent issues: `/archive`, `/archive/<key>` and an Atom feed.

Issues are addressed by their week key (`2025-W49`) because the issue number is the
ISO week and comes back every year; `/archive/<n>` and `/archive/<volume>/<n>` redirect
to the newest sent issue with that number (in that volume).

Pages are the copies the send path stored (`pipeline.SentCopies`): what readers got,
with neutral values where each had their own, byte for byte however the entries change
later. `/archive/<key>` shows the all-themes copy in the visitor's language (`?lang=`,
else Accept-Language, else the default); `/archive/<key>/<lang>/<themes>` is one
variant, the target of the "view online" link of each email.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from digest.render.i18n import long_date
from digest.store import ArchivedVariant, SentIssue
from digest.web import context, i18n

blueprint = Blueprint("archive", __name__)
ATOM = "http://www.w3.org/2005/Atom"


@blueprint.before_request
def _language_from_query() -> None:
    """`?lang=en` picks the page's (and the copy's) language over Accept-Language."""
    chosen = request.args.get("lang", "")
    if chosen:
        i18n.set_language(chosen)


@blueprint.app_context_processor
def _feed_link() -> dict[str, str]:
    """Every page links the feed (`<link rel="alternate">` in base.html)."""
    return {"archive_feed_url": url_for("archive.feed")}


def week_start(key: str) -> dt.date:
    year, week = key.split("-W")
    return dt.date.fromisocalendar(int(year), int(week), 1)


def _title(issue: SentIssue, language: str) -> str:
    return i18n.t(
        "No. %(number)s, vol. %(volume)s — week of %(date)s",
        number=issue.number,
        volume=issue.volume,
        date=long_date(
            week_start(issue.key), language, context.settings().build.templates_dir / "locale"
        ),
    )


def _sent() -> list[SentIssue]:
    """Completed issues that have a stored copy, newest first."""
    store = context.store()
    kept = store.archived_issue_keys()
    return [issue for issue in store.sent_issues() if issue.key in kept]


def public_copy(key: str, language: str) -> ArchivedVariant | None:
    """The all-themes copy of issue `key` in `language`, else in the default language."""
    store = context.store()
    default = context.settings().newsletter.language
    for wanted in (language, default):
        copy = store.archived_variant(key, f"{wanted}:all")
        if copy is not None:
            return copy
    return None


def _page(copy: ArchivedVariant) -> Response:
    response = Response(copy.html, mimetype="text/html")
    response.headers["Content-Language"] = copy.language
    response.headers["Vary"] = "Accept-Language"
    return response


@blueprint.get("/archive")
def index() -> str:
    language = i18n.language()
    return render_template(
        "archive.html",
        issues=[(i, _title(i, language)) for i in _sent()],
        name=context.settings().newsletter.name,
    )


@blueprint.get("/archive/<key>")
def issue(key: str) -> Response:
    copy = public_copy(key, i18n.language())
    if copy is None:
        context.fail(404, "Not in the archive", "No issue of that week has been sent.")
    return _page(copy)


@blueprint.get("/archive/<key>/<language>/<themes>")
def variant(key: str, language: str, themes: str) -> Response:
    """One variant's copy, as linked from its emails ("view online")."""
    label = f"{language}:{'|'.join(sorted(themes.split('+')))}"
    copy = context.store().archived_variant(key, label)
    if copy is None:
        context.fail(404, "Not in the archive", "No issue of that week has been sent.")
    return _page(copy)


@blueprint.get("/archive/<int:number>")
@blueprint.get("/archive/<int:volume>/<int:number>")
def by_number(number: int, volume: int | None = None) -> WerkzeugResponse:
    for sent in _sent():  # newest first
        if sent.number == number and volume in (None, sent.volume):
            return redirect(url_for("archive.issue", key=sent.key), code=302)
    context.fail(404, "Not in the archive", "No sent issue has that number.")


@blueprint.get("/archive/feed.atom")
def feed() -> Response:
    """One entry per sent issue: its title, its summary (the preheader readers saw) and
    a link to its page in each language it was kept in."""
    settings = context.settings()
    base = settings.newsletter.base_url.rstrip("/")
    language = i18n.language()
    issues = _sent()
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(root, f"{{{ATOM}}}title").text = settings.newsletter.name
    ET.SubElement(root, f"{{{ATOM}}}id").text = f"{base}/archive"
    ET.SubElement(root, f"{{{ATOM}}}link", href=f"{base}/archive/feed.atom", rel="self")
    ET.SubElement(root, f"{{{ATOM}}}link", href=f"{base}/archive", rel="alternate")
    updated = issues[0].completed_at if issues else "1970-01-01T00:00:00+00:00"
    ET.SubElement(root, f"{{{ATOM}}}updated").text = updated
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = settings.newsletter.name
    for sent in issues:
        page = f"{base}/archive/{sent.key}"
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = _title(sent, language)
        ET.SubElement(entry, f"{{{ATOM}}}id").text = page
        ET.SubElement(entry, f"{{{ATOM}}}link", href=page, rel="alternate", type="text/html")
        for other in settings.newsletter.languages:
            ET.SubElement(
                entry,
                f"{{{ATOM}}}link",
                href=f"{page}?lang={other}",
                rel="alternate",
                type="text/html",
                hreflang=other,
            )
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = sent.completed_at
        copy = public_copy(sent.key, language)
        if copy is not None:
            ET.SubElement(entry, f"{{{ATOM}}}summary").text = copy.summary
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, mimetype="application/atom+xml")
