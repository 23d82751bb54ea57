"""The only importer of the MJML compiler (mjml-python, a binding to the Rust mrml)."""

from __future__ import annotations

from mjml import mjml2html

from digest.errors import RenderError


def compile_mjml(source: str) -> str:
    """Compiled HTML; no web fonts are linked, so nothing is fetched from third parties.

    mrml does not validate tag names, so a misspelt tag would pass through silently:
    refuse HTML that still holds an `<mj-` tag.
    """
    try:
        html = mjml2html(source, disable_comments=True, fonts={})
    except ValueError as exc:
        raise RenderError(f"MJML compile failed: {exc}") from None
    leftover = html.find("<mj-")
    if leftover != -1:
        tag = html[leftover : html.find(">", leftover) + 1][:40]
        raise RenderError(f"MJML left an uncompiled tag {tag!r} (misspelt or unsupported)")
    return html
