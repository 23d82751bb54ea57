"""Settings from config.toml, with `DIGEST_<SECTION>_<KEY>` environment overrides.

This is the only module that reads `os.environ`: secrets (SMTP password, signing key)
are looked up here by the variable names the config file gives, so no secret ever has
to be written into a committed file.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.errors import ConfigError
from digest.models import BRIEF_THEME_ID, Theme

ENV_PREFIX = "DIGEST_"
CONFIG_ENV = "DIGEST_CONFIG"
NOT_SETTINGS = frozenset(
    {
        CONFIG_ENV,
        # The test suite's and CI's own switches (tests/, .ci/run, Makefile): CI exports
        # them for the whole run, so every `digest` command the tests start sees them.
        "DIGEST_REQUIRE_BROWSER",
        "DIGEST_REQUIRE_POSTGRES",
        "DIGEST_REQUIRE_SPAMASSASSIN",
        "DIGEST_TEST_STORE",
        "DIGEST_UPDATE_SNAPSHOTS",
    }
)
"""`DIGEST_*` names that are not `DIGEST_<SECTION>_<KEY>` settings and are allowed; any
other `DIGEST_*` name, except the secret variables the config names, is an error."""
_ID_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
_COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class NewsletterSettings:
    name: str = "Digest"
    sender: str = "Digest <digest@example.org>"
    reply_to: str = ""
    base_url: str = "http://127.0.0.1:8025"
    postal_address: str = ""
    language: str = "fr"
    languages: tuple[str, ...] = ("fr", "en")
    timezone: str = "Europe/Paris"
    first_year: int = 2025
    list_id: str = "digest.example.org"


@dataclass(frozen=True)
class EntriesSettings:
    dir: Path = Path("briefings")


@dataclass(frozen=True)
class FeedsSettings:
    urls: tuple[str, ...] = ()
    timeout: float = 10.0
    names: tuple[str, ...] = ()
    """`host = Name` or `feed URL = Name`: the source name shown for that site's items."""

    def name_map(self) -> dict[str, str]:
        pairs = (n.partition("=") for n in self.names)
        return {k.strip().removeprefix("www."): v.strip() for k, _, v in pairs if k.strip()}


@dataclass(frozen=True)
class StoreSettings:
    url: str = "sqlite:///subscribers/digest.db"
    password_env: str = "DIGEST_STORE_PASSWORD"
    path: Path = Path("subscribers/digest.db")
    """The SQLite file of a `sqlite:` url (resolved from it; an older config's `path`
    key still works when it gives no url)."""

    @property
    def engine(self) -> str:
        return "sqlite" if self.url.startswith("sqlite:") else "postgresql"


@dataclass(frozen=True)
class BuildSettings:
    out_dir: Path = Path("build")
    templates_dir: Path = Path("templates")


@dataclass(frozen=True)
class DeliverySettings:
    transport: str = "file"
    outbox_dir: Path = Path("outbox")
    connections: int = 4
    rate_per_second: float = 0.0
    hourly_cap: int = 0
    max_per_connection: int = 0
    max_attempts: int = 4
    backoff: float = 30.0
    backoff_max: float = 600.0
    max_consecutive_failures: int = 20
    hard_bounce_limit: int = 1
    lease_seconds: float = 120.0
    feedback_id: str = "{issue}:{variant}:digest"
    special_use_domains: bool = False


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "DIGEST_SMTP_PASSWORD"
    timeout: float = 30.0
    verify_certificates: bool = True
    ca_file: str = ""
    ca_dir: str = ""
    client_cert_file: str = ""
    client_key_file: str = ""


@dataclass(frozen=True)
class SecuritySettings:
    secret_key_env: str = "DIGEST_SECRET_KEY"
    secret_key_file: Path = Path("subscribers/secret.key")


@dataclass(frozen=True)
class ScheduleSettings:
    """When the weekly issue goes out on its own (`digest schedule`, `send --if-due`)."""

    day_of_week: str = "mon"
    hour: int = 7
    minute: int = 0
    week: str = "previous"
    misfire_grace_seconds: int = 14400
    max_lateness_hours: float = 24.0
    lock_wait_seconds: float = 60.0
    retry_seconds: int = 600
    send_empty: bool = False
    """A week without entries goes out as a short quiet-week issue instead of nothing."""


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8025
    confirm_hours: int = 48
    account_link_days: int = 60
    subscribe_per_hour: int = 10
    proxy_hops: int = 0
    archive: bool = True


@dataclass(frozen=True)
class DkimSettings:
    selector: str = ""
    domain: str = ""
    key_file: str = ""
    key_env: str = "DIGEST_DKIM_KEY"
    ed25519_selector: str = ""
    ed25519_key_file: str = ""
    ed25519_key_env: str = "DIGEST_DKIM_ED25519_KEY"


@dataclass(frozen=True)
class BouncesSettings:
    soft_limit: int = 5
    soft_statuses: tuple[str, ...] = ("5.2.2",)
    on_complaint: str = "complained"


_SECTIONS: dict[str, type] = {
    "newsletter": NewsletterSettings,
    "entries": EntriesSettings,
    "store": StoreSettings,
    "build": BuildSettings,
    "delivery": DeliverySettings,
    "smtp": SmtpSettings,
    "security": SecuritySettings,
    "schedule": ScheduleSettings,
    "feeds": FeedsSettings,
    "serve": ServeSettings,
    "dkim": DkimSettings,
    "bounces": BouncesSettings,
}
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("delivery", "transport"): ("file", "smtp", "console"),
    ("smtp", "security"): ("starttls", "ssl", "none"),
    ("schedule", "week"): ("previous", "current"),
    ("bounces", "on_complaint"): ("complained", "ignore"),
}


@dataclass(frozen=True)
class Settings:
    path: Path
    newsletter: NewsletterSettings
    entries: EntriesSettings
    store: StoreSettings
    build: BuildSettings
    delivery: DeliverySettings
    smtp: SmtpSettings
    security: SecuritySettings
    schedule: ScheduleSettings
    dkim: DkimSettings
    bounces: BouncesSettings
    feeds: FeedsSettings = field(default_factory=FeedsSettings)
    themes: tuple[Theme, ...] = field(default=())
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    serve: ServeSettings = field(default_factory=ServeSettings)
    overrides: Mapping[tuple[str, str], str] = field(default_factory=dict, repr=False)
    """(section, key) -> the DIGEST_* variable that set it, for errors that name it."""

    def where(self, section: str, key: str) -> str:
        """Where the operator gave a setting: the variable that overrode it, else the
        file and key. Errors about a value start with this."""
        return _where(self.path, section, key, self.overrides.get((section, key)))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.newsletter.timezone)

    def theme(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise ConfigError(f"{self.path}: unknown theme id {theme_id!r}")

    def secret(self, env_name: str) -> str | None:
        """A secret from the environment variable the config names, or None."""
        value = self.environ.get(env_name, "") if env_name else ""
        return value or None


def default_config_path(environ: Mapping[str, str]) -> Path:
    return Path(environ.get(CONFIG_ENV) or "config.toml")


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, override and validate the configuration; raise ConfigError on any fault."""
    environ = dict(os.environ if environ is None else environ)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (use --config PATH)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None

    base = path.resolve().parent
    unknown = set(raw) - set(_SECTIONS) - {"themes"}
    if unknown:
        raise ConfigError(f"{path}: unknown section [{sorted(unknown)[0]}]")
    sections: dict[str, Any] = {}
    overrides: dict[tuple[str, str], str] = {}
    for name, cls in _SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{name}] must be a table")
        from_env = _env_overrides(name, cls, environ)
        overrides.update({(name, key): value.variable for key, value in from_env.items()})
        sections[name] = _build_section(path, base, name, cls, {**table, **from_env})

    sections["store"] = _resolve_store(
        path, base, sections["store"], set(raw.get("store", {})),
        set(_env_overrides("store", StoreSettings, environ)),
    )  # fmt: skip
    themes = _parse_themes(path, raw.get("themes", []), sections["newsletter"].languages)
    settings = Settings(path=path, themes=themes, environ=environ, overrides=overrides, **sections)
    _check_environment(settings)
    _check(settings)
    return settings


def _check_environment(settings: Settings) -> None:
    """Every `DIGEST_*` variable must be a setting, as every key in the file must: a
    misspelt override (DIGEST_DELIVERY_CONECTIONS, DIGEST_SMPT_HOST) would otherwise be
    ignored without a word and the default used. Allowed besides: NOT_SETTINGS and the
    variables the config names for secrets (whatever names it gives them)."""
    allowed = NOT_SETTINGS | {
        settings.smtp.password_env,
        settings.store.password_env,
        settings.security.secret_key_env,
        settings.dkim.key_env,
        settings.dkim.ed25519_key_env,
    }
    known = {
        f"{ENV_PREFIX}{section.upper()}_{f.name.upper()}": (section, f.name)
        for section, cls in _SECTIONS.items()
        for f in dataclasses.fields(cls)
    }
    for name in sorted(settings.environ):
        if not name.startswith(ENV_PREFIX) or name in allowed or name.upper() in known:
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        section = next((s for s in _SECTIONS if rest.startswith(f"{s}_")), None)
        if section is None:
            problem = f"no section [{rest.split('_', 1)[0]}]"
        else:
            problem = f"[{section}] has no key {rest[len(section) + 1 :]!r}"
        close = difflib.get_close_matches(name, [*known, *sorted(allowed)], n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]}?" if close else " (settings are DIGEST_<SECTION>_<KEY>)"
        raise ConfigError(f"environment variable {name}: {problem}{hint}")


class _FromEnv(str):
    """An override's value, which remembers its variable: an error about it names the
    variable the operator set, not the file that says something else."""

    variable: str


def _env_overrides(section: str, cls: type, environ: Mapping[str, str]) -> dict[str, _FromEnv]:
    prefix = f"{ENV_PREFIX}{section.upper()}_"
    keys = {f.name for f in dataclasses.fields(cls)}
    found: dict[str, _FromEnv] = {}
    for name, value in environ.items():
        if name.startswith(prefix) and name[len(prefix) :].lower() in keys:
            found[name[len(prefix) :].lower()] = override = _FromEnv(value)
            override.variable = name
    return found


def _where(path: Path, section: str, key: str, variable: str | None) -> str:
    if variable:
        return f"environment variable {variable}: [{section}] {key}"
    return f"{path}: [{section}] {key}"


def _build_section(path: Path, base: Path, name: str, cls: type, table: dict[str, Any]) -> Any:
    hints = get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in fields:
            raise ConfigError(f"{path}: [{name}] unknown key {key!r}")
        where = _where(path, name, key, getattr(value, "variable", None))
        values[key] = _coerce(where, hints[key], value, base)
        choices = _CHOICES.get((name, key))
        if choices and values[key] not in choices:
            raise ConfigError(f"{where}: must be one of {', '.join(choices)}, got {value!r}")
    for key in fields - set(values):
        default = getattr(cls(), key)
        if isinstance(default, Path):
            values[key] = base / default
    return cls(**values)


def _coerce(where: str, hint: Any, value: Any, base: Path) -> Any:
    """Turn a TOML value, or an environment string, into the field's type."""
    from_env = isinstance(value, str)
    try:
        if hint is str:
            if not isinstance(value, str):
                raise TypeError
            return str(value)
        if hint is Path:
            if not isinstance(value, str) or not value:
                raise TypeError
            return base / Path(value).expanduser()
        if hint is bool:
            if isinstance(value, bool):
                return value
            if from_env and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                return value.lower() in {"1", "true", "yes", "on"}
            raise TypeError
        if hint is int:
            # TOML's 2.7 would become 2 without a word; 2.0 is taken as 2
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise TypeError
            number = float(value)
            if not math.isfinite(number):  # nan never compares: a wait of nan never ends
                raise ConfigError(f"{where}: must be a finite number, got {value!r}")
            return number
        if hint == tuple[str, ...]:
            if from_env:
                return tuple(v.strip() for v in value.split(",") if v.strip())
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TypeError
            return tuple(value)
    except (TypeError, ValueError, OverflowError):
        kind = getattr(hint, "__name__", "list of strings")
        raise ConfigError(f"{where}: expected {kind}, got {value!r}") from None
    raise ConfigError(f"{where}: unsupported setting type")  # pragma: no cover


def _parse_themes(path: Path, raw: Any, languages: tuple[str, ...]) -> tuple[Theme, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: [[themes]] must list at least one theme")
    themes: list[Theme] = []
    for index, item in enumerate(raw, start=1):
        where = f"{path}: [[themes]] #{index}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a table")
        unknown = set(item) - {"id", "title", "keywords", "names", "context", "colour", "order"}
        if unknown:
            raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        theme_id = item.get("id")
        if not isinstance(theme_id, str) or not _ID_RE.match(theme_id):
            raise ConfigError(f"{where}: id must be a lowercase identifier, got {theme_id!r}")
        where = f"{path}: theme {theme_id!r}"
        if theme_id == BRIEF_THEME_ID:
            raise ConfigError(f"{where}: the id {BRIEF_THEME_ID!r} is reserved for 'In brief'")
        titles = item.get("title")
        if not isinstance(titles, dict) or not all(
            isinstance(titles.get(lang), str) and titles[lang] for lang in languages
        ):
            raise ConfigError(f"{where}: title needs a string for each of {', '.join(languages)}")
        keywords = _words_per_language(where, "keywords", item.get("keywords", {}))
        context = _words_per_language(where, "context", item.get("context", {}))
        names = item.get("names", [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise ConfigError(f"{where}: names must be a list of strings")
        colour = item.get("colour", "#1f3a5f")
        if not isinstance(colour, str) or not _COLOUR_RE.match(colour):
            raise ConfigError(f"{where}: colour must look like #1f3a5f, got {colour!r}")
        order = item.get("order", index)
        if not isinstance(order, int) or isinstance(order, bool):
            raise ConfigError(f"{where}: order must be an integer, got {order!r}")
        themes.append(
            Theme(
                id=theme_id,
                titles=dict(titles),
                keywords=keywords,
                colour=colour,
                order=order,
                names=tuple(names),
                context=context,
            )
        )
    ids = [t.id for t in themes]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate:
        raise ConfigError(f"{path}: theme id {duplicate!r} is defined twice")
    return tuple(sorted(themes, key=lambda t: (t.order, t.id)))


def _resolve_store(
    path: Path, base: Path, store: StoreSettings, in_file: set[str], in_env: set[str]
) -> StoreSettings:
    """`[store] url` -> the engine and, for SQLite, the file (relative to the config).

    An older config's `path` key still works alone; the environment (DIGEST_STORE_URL or
    DIGEST_STORE_PATH) overrides the file."""
    where = _where(path, "store", "url", f"{ENV_PREFIX}STORE_URL" if "url" in in_env else None)
    if "url" in in_file and "path" in in_file:
        raise ConfigError(f"{path}: [store] path and url: give only url")
    if ("path" in in_env and "url" not in in_env) or "url" not in in_file | in_env:
        return dataclasses.replace(store, url=f"sqlite:///{store.path}")
    url = store.url
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        rest = url[len("sqlite://") :]
        if parts.netloc or not rest.startswith("/") or len(rest) < 2:
            raise ConfigError(
                f'{where}: a SQLite url looks like "sqlite:///subscribers/digest.db" '
                f'(relative) or "sqlite:////var/lib/digest/digest.db" (absolute), got {url!r}'
            )
        file = Path(rest[1:]).expanduser()
        return dataclasses.replace(store, path=file if file.is_absolute() else base / file)
    if parts.scheme in ("postgresql", "postgres"):
        if parts.password is not None:
            raise ConfigError(
                f"{where}: holds a password; remove it and set the environment variable "
                f"named by [store] password_env ({store.password_env}) instead"
            )
        if not parts.path.strip("/"):
            raise ConfigError(
                f'{where}: name the database, as in "postgresql://digest@db.example.org/digest"'
            )
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ConfigError(f"{where}: the port of {url!r} is not a number") from None
        return store
    raise ConfigError(f'{where}: must start with "sqlite:///" or "postgresql://", got {url!r}')


def _words_per_language(where: str, key: str, raw: Any) -> dict[str, tuple[str, ...]]:
    """A theme's `keywords` or `context`: a table of language -> list of words."""
    if not isinstance(raw, dict) or not all(
        isinstance(v, list) and all(isinstance(k, str) and k.strip() for k in v)
        for v in raw.values()
    ):
        raise ConfigError(f"{where}: {key} must map a language to a list of strings")
    return {lang: tuple(words) for lang, words in raw.items()}


def _check(settings: Settings) -> None:
    news, at = settings.newsletter, settings.where
    try:
        ZoneInfo(news.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{at('newsletter', 'timezone')}: unknown zone {news.timezone!r}"
        ) from None
    if news.language not in news.languages:
        raise ConfigError(
            f"{at('newsletter', 'language')}: {news.language!r} is not in languages "
            f"{news.languages}"
        )
    if not re.match(r"^https?://[^\s/]+", news.base_url):
        raise ConfigError(f"{at('newsletter', 'base_url')}: must be an http(s) URL")
    for key in ("sender", "reply_to", "name", "list_id", "postal_address"):
        if any(c in getattr(news, key) for c in "\r\n"):
            raise ConfigError(f"{at('newsletter', key)}: must be a single line")
    for key in ("sender", "reply_to"):
        value = getattr(news, key)
        address = parseaddr(value)[1]
        if (value or key == "sender") and not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            raise ConfigError(f"{at('newsletter', key)}: {value!r} is not an email address")
    if settings.feeds.timeout <= 0:
        raise ConfigError(f"{at('feeds', 'timeout')}: must be a positive number of seconds")
    for name in settings.feeds.names:
        key, sep, value = name.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{at('feeds', 'names')}: {name!r} is not 'host = Name'")
    if settings.smtp.timeout <= 0:
        raise ConfigError(f"{at('smtp', 'timeout')}: must be a positive number of seconds")
    if not 0 < settings.smtp.port < 65536:
        raise ConfigError(f"{at('smtp', 'port')}: must be between 1 and 65535")
    _check_schedule(settings)
    if not 0 <= settings.serve.port < 65536:
        raise ConfigError(f"{at('serve', 'port')}: must be between 0 and 65535")
    if settings.serve.confirm_hours < 1:
        raise ConfigError(f"{at('serve', 'confirm_hours')}: must be at least 1")
    if settings.serve.account_link_days < 1:
        raise ConfigError(f"{at('serve', 'account_link_days')}: must be at least 1")
    if settings.serve.proxy_hops < 0:
        raise ConfigError(f"{at('serve', 'proxy_hops')}: must be 0 or more")
    if settings.serve.subscribe_per_hour < 1:
        raise ConfigError(f"{at('serve', 'subscribe_per_hour')}: must be at least 1")
    _check_delivery(settings)


_WEEKDAY = r"(mon|tue|wed|thu|fri|sat|sun)"
_WEEKDAYS_RE = re.compile(rf"^{_WEEKDAY}(-{_WEEKDAY})?(,{_WEEKDAY}(-{_WEEKDAY})?)*$")


def _check_schedule(settings: Settings) -> None:
    path, schedule, at = settings.path, settings.schedule, settings.where
    if not _WEEKDAYS_RE.match(schedule.day_of_week):
        # APScheduler 3 counts weekdays from Monday = 0, cron from Sunday = 0: a number
        # would silently mean a different day to half the readers, so names only.
        raise ConfigError(
            f'{at("schedule", "day_of_week")}: use weekday names such as "mon" or "mon,thu" '
            f"(numbers are ambiguous), got {schedule.day_of_week!r}"
        )
    if not 0 <= schedule.hour <= 23:
        raise ConfigError(
            f"{at('schedule', 'hour')}: must be between 0 and 23, got {schedule.hour}"
        )
    if not 0 <= schedule.minute <= 59:
        raise ConfigError(
            f"{at('schedule', 'minute')}: must be between 0 and 59, got {schedule.minute}"
        )
    if schedule.misfire_grace_seconds < 0 or schedule.lock_wait_seconds < 0:
        raise ConfigError(
            f"{path}: [schedule]: misfire_grace_seconds and lock_wait_seconds must be >= 0"
        )
    if schedule.retry_seconds < 1:
        raise ConfigError(
            f"{at('schedule', 'retry_seconds')}: must be at least 1, got {schedule.retry_seconds}"
        )
    if schedule.max_lateness_hours * 3600 < schedule.misfire_grace_seconds:
        raise ConfigError(
            f"{at('schedule', 'max_lateness_hours')}: must cover at least misfire_grace_seconds "
            f"({schedule.misfire_grace_seconds} s), got {schedule.max_lateness_hours} h"
        )


def load_default_settings() -> Settings:
    """Settings from $DIGEST_CONFIG or ./config.toml: for entry points without a CLI."""
    return load_settings(default_config_path(os.environ))


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_delivery(settings: Settings) -> None:
    """Reject delivery numbers that would stall or flood a send, naming the key."""
    path, delivery, at = settings.path, settings.delivery, settings.where
    minimums = {"connections": 1, "max_attempts": 1, "max_consecutive_failures": 1,
                "hard_bounce_limit": 1, "hourly_cap": 0, "max_per_connection": 0}  # fmt: skip
    for key, least in minimums.items():
        if getattr(delivery, key) < least:
            raise ConfigError(f"{at('delivery', key)}: must be at least {least}")
    if delivery.lease_seconds < 1:
        raise ConfigError(f"{at('delivery', 'lease_seconds')}: must be at least 1")
    for key in ("rate_per_second", "backoff", "backoff_max"):
        if getattr(delivery, key) < 0:
            raise ConfigError(f"{at('delivery', key)}: must not be negative")
    smtp = settings.smtp
    if smtp.security == "none" and smtp.username and not _is_loopback(smtp.host):
        raise ConfigError(
            f'{at("smtp", "security")}: "none" with a username would send the password in '
            f'clear to {smtp.host}; use "starttls" or "ssl"'
        )
    dkim = settings.dkim
    if bool(dkim.selector) != bool(dkim.domain):
        raise ConfigError(f"{path}: [dkim] selector and domain: set both or neither")
    if settings.bounces.soft_limit < 0:
        raise ConfigError(f"{at('bounces', 'soft_limit')}: must not be negative")
