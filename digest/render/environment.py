"""The Jinja2 environments: one autoescaping for MJML/HTML, one plain for text.

Autoescape is forced on for MJML (select_autoescape does not know `.mjml.j2`), and
every value printed into HTML also has its braces turned into entities, so entry text
like `{{ 7*7 }}` shows literally and can never look like an unrendered template tag.
"""

from __future__ import annotations

import gettext
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from digest.render.i18n import translations

TEXT_WIDTH = 72


def _finalize_html(value: Any) -> Any:
    if isinstance(value, Markup) or value is None:
        return value
    return Markup(str(escape(value)).replace("{", "&#123;").replace("}", "&#125;"))


def wrap(text: str, width: int = TEXT_WIDTH, indent: str = "") -> str:
    """Wrap at `width` columns without breaking URLs or long words."""
    paragraphs = [p for p in str(text).split("\n\n") if p.strip()]
    return "\n\n".join(
        textwrap.fill(
            " ".join(p.split()),
            width=width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for p in paragraphs
    )


def make_environment(templates_dir: Path, language: str, *, html: bool) -> Environment:
    """A shared environment per (folder, language, kind, catalog version).

    Reusing it keeps Jinja's compiled templates between variants (compiling them is most
    of a variant's cost); Jinja re-checks each template's mtime and a changed catalog is
    a new catalog object, so edits still show in the preview.
    """
    return _environment(templates_dir, html, translations(templates_dir / "locale", language))


@lru_cache(maxsize=64)
def _environment(templates_dir: Path, html: bool, catalog: gettext.NullTranslations) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=html,
        finalize=_finalize_html if html else None,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.filters["wrap"] = wrap
    return env
