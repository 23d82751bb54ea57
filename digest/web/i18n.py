"""The language of a web page: the subscriber's own on pages reached by their link,
else the best of the configured languages for the browser's Accept-Language. Strings
come from the `web` catalog next to the email templates' (`templates/locale/<lang>/
LC_MESSAGES/web.po`); English needs none."""

from __future__ import annotations

from flask import Flask, current_app, g, render_template, request, url_for

from digest.config import Settings
from digest.render.i18n import language_name, translations

DOMAIN = "web"


def _settings() -> Settings:
    value: Settings = current_app.config["DIGEST_SETTINGS"]
    return value


def set_language(language: str) -> None:
    if language in _settings().newsletter.languages:
        g.digest_language = language


def language() -> str:
    chosen = g.get("digest_language")
    if isinstance(chosen, str):
        return chosen
    news = _settings().newsletter
    best = request.accept_languages.best_match(news.languages)
    return best or news.language


def gettext(message: str) -> str:
    locale_dir = _settings().build.templates_dir / "locale"
    return translations(locale_dir, language(), DOMAIN).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    locale_dir = _settings().build.templates_dir / "locale"
    return translations(locale_dir, language(), DOMAIN).ngettext(singular, plural, n)


def t(message: str, **values: object) -> str:
    """Translate in Python code (page titles and texts built by the views)."""
    text = gettext(message)
    return text % values if values else text


def install(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True
    )
    app.jinja_env.globals["page_language"] = language
    app.jinja_env.globals["language_name"] = language_name
    app.register_error_handler(404, _not_found)


def _not_found(_error: Exception) -> tuple[str, int]:
    """Unknown addresses get a page in the visitor's language, in the site's style,
    instead of the framework's bare English "Not Found"."""
    page = render_template(
        "message.html",
        title=t("Page not found"),
        text=t("There is nothing at this address."),
        link=url_for("public.subscribe_form"),
        link_text=t("Subscribe"),
    )
    return page, 404
