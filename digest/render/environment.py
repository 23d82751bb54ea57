"""The Jinja2 environments: one autoescaping for MJML/HTML, one plain for text.

Autoescape is forced on for MJML (select_autoescape does not know `.mjml.j2`), and
every value printed into HTML also has its braces turned into entities, so entry text
like `{{ 7*7 }}` shows literally and can never look like an unrendered template tag.
"""

from __future__ import annotations

import gettext
import re
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from digest.render.i18n import translations

TEXT_WIDTH = 72


_BEFORE = re.compile(r" (?=[?!:;»%])")
_AFTER = re.compile(r"(?<=«) ")
"""A space before `?`, `!`, `:`, `;`, `»`, `%` or after `«`: French sets these off,
and a line must not start (or end) with them."""


def _finalize_html(value: Any) -> Any:
    if isinstance(value, Markup) or value is None:
        return value
    text = str(escape(value)).replace("{", "&#123;").replace("}", "&#125;")
    # French spaced punctuation stays with its word when the browser wraps the line.
    return Markup(_AFTER.sub("\u00a0", _BEFORE.sub("\u00a0", text)))


_GLUE = "\ue000"
"""Stands for a space that must not break while wrapping; back to a space after."""
_BREAKABLE = re.compile(r"[ \t\n\r\f\v]+")
"""Only ASCII whitespace breaks: a non-breaking space in the text stays unbroken."""


def wrap(text: str, width: int = TEXT_WIDTH, indent: str = "", first: str | None = None) -> str:
    """Wrap at `width` columns without breaking URLs or long words.

    A word longer than the line (a URL) gets a line of its own. Punctuation that French
    sets off with a space (`?`, `!`, `:`, `;`, `»`, and `«` before its word) stays on the
    line of its word, so no line starts with a lone `?`. `first` replaces `indent` on the
    first line (a bullet: `first="* "`, `indent="  "`).
    """
    paragraphs = [p for p in str(text).split("\n\n") if p.strip()]
    wrapped = []
    for number, paragraph in enumerate(paragraphs):
        flat = _BREAKABLE.sub(" ", paragraph).strip()
        flat = _AFTER.sub(_GLUE, _BEFORE.sub(_GLUE, flat))
        lead = first if first is not None and number == 0 else indent
        filled = textwrap.fill(
            flat,
            width=width,
            initial_indent=lead,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        wrapped.append(filled.replace(_GLUE, " "))
    return "\n\n".join(wrapped)


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
