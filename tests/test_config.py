from __future__ import annotations

import re
from pathlib import Path

import pytest

from digest.config import load_settings
from digest.errors import ConfigError
from tests.conftest import REPO, Project


def test_repository_config_loads_with_five_ordered_themes() -> None:
    settings = load_settings(REPO / "config.toml", {})
    assert [t.id for t in settings.themes] == ["spending", "ukraine", "hybrid", "balkans", "summit"]
    assert settings.newsletter.language == "fr"
    assert settings.newsletter.timezone == "Europe/Paris"
    assert settings.delivery.transport == "file"
    assert settings.smtp.password_env == "DIGEST_SMTP_PASSWORD"
    for theme in settings.themes:
        assert theme.titles["fr"] and theme.titles["en"]
        assert theme.keywords["fr"] and theme.keywords["en"]


def test_every_key_of_config_toml_is_commented() -> None:
    lines = (REPO / "config.toml").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if "=" not in stripped or stripped.startswith("#") or stripped.startswith("["):
            continue
        if stripped.split("=")[0].strip() in {"id", "order", "colour", "title", "keywords"}:
            continue  # theme keys are documented once, above the first [[themes]]
        previous = lines[number - 1].strip() if number else ""
        assert "#" in line or previous.startswith("#"), f"config.toml:{number + 1} uncommented"


def test_relative_paths_are_relative_to_the_config_file(project: Project) -> None:
    settings = project.settings()
    assert settings.entries.dir == project.root / "briefings"
    assert settings.store.path == project.root / "subscribers" / "digest.db"
    assert settings.delivery.outbox_dir == project.root / "outbox"


def test_environment_overrides_any_key_with_its_type(project: Project) -> None:
    settings = project.settings(
        DIGEST_DELIVERY_TRANSPORT="smtp",
        DIGEST_SMTP_PORT="2525",
        DIGEST_SMTP_VERIFY_CERTIFICATES="false",
        DIGEST_NEWSLETTER_LANGUAGES="fr,en",
        DIGEST_ENTRIES_DIR="elsewhere",
    )
    assert settings.delivery.transport == "smtp"
    assert settings.smtp.port == 2525
    assert settings.smtp.verify_certificates is False
    assert settings.entries.dir == project.root / "elsewhere"


def test_secret_comes_from_the_named_variable(project: Project) -> None:
    settings = project.settings(DIGEST_SMTP_PASSWORD="s3cret")
    assert settings.secret(settings.smtp.password_env) == "s3cret"
    assert project.settings().secret("DIGEST_SMTP_PASSWORD") is None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.replace("port = 587", 'port = "abc"'), r"\[smtp\] port: expected int"),
        (lambda s: s.replace('transport = "file"', 'transport = "pigeon"'), "must be one of"),
        (lambda s: s.replace("[smtp]", "[smtp]\nprot = 1"), r"\[smtp\] unknown key 'prot'"),
        (lambda s: s + "\n[bogus]\n", r"unknown section \[bogus\]"),
        (lambda s: s.replace('id = "hybrid"', 'id = "ukraine"'), "defined twice"),
        (lambda s: s.replace('"Europe/Paris"', '"Mars/Olympus"'), "unknown zone"),
        (lambda s: s.replace('colour = "#8b1f3f"', 'colour = "red"'), "colour must look like"),
        (lambda s: s.replace("[newsletter]", "[newsletter\n"), "invalid TOML"),
        (
            lambda s: s.replace('"Brief OTAN & Europe <digest@example.org>"', '"digest"'),
            r"\[newsletter\] sender: 'digest' is not an email address",
        ),
        (
            lambda s: s.replace('reply_to = "redaction@example.org"', 'reply_to = "r@"'),
            r"\[newsletter\] reply_to: 'r@' is not an email address",
        ),
        # 2.7 connections became 2 without a word; nan made a retry wait forever
        (
            lambda s: s.replace("connections = 4 ", "connections = 2.7 "),
            r"\[delivery\] connections: expected int, got 2.7",
        ),
        (
            lambda s: s.replace("backoff = 30.0", "backoff = nan"),
            r"\[delivery\] backoff: must be a finite number, got nan",
        ),
        (
            lambda s: s.replace("hourly_cap = 0 ", "hourly_cap = inf "),
            r"\[delivery\] hourly_cap: expected int, got inf",
        ),
        (
            lambda s: s.replace("timeout = 30.0", "timeout = 0"),
            r"\[smtp\] timeout: must be a positive number of seconds",
        ),
    ],
)
def test_bad_config_names_the_file_and_key(project: Project, edit: object, message: str) -> None:
    text = project.config.read_text(encoding="utf-8")
    project.config.write_text(edit(text), encoding="utf-8")  # type: ignore[operator]
    with pytest.raises(ConfigError, match=message) as info:
        project.settings()
    assert str(project.config) in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_environment_override_names_the_variable_not_the_file(project: Project) -> None:
    """config.toml says port = 587: an error naming the file would send the operator
    looking in the wrong place."""
    cases = {
        "DIGEST_SMTP_PORT": ("twenty", r"expected int, got 'twenty'"),
        "DIGEST_SCHEDULE_HOUR": ("25", "must be between 0 and 23"),
        "DIGEST_DELIVERY_TRANSPORT": ("smpt", "must be one of"),
        "DIGEST_DELIVERY_BACKOFF": ("nan", "must be a finite number, got 'nan'"),
        "DIGEST_DELIVERY_CONNECTIONS": ("0", "must be at least 1"),
        "DIGEST_SMTP_TIMEOUT": ("-5", "must be a positive number of seconds"),
        "DIGEST_NEWSLETTER_TIMEZONE": ("Mars/Olympus", "unknown zone"),
        "DIGEST_STORE_URL": ("mysql://x/y", "must start with"),
    }
    for variable, (value, problem) in cases.items():
        with pytest.raises(ConfigError) as info:
            project.settings(**{variable: value})
        section, key = variable.removeprefix("DIGEST_").lower().split("_", 1)
        assert str(info.value).startswith(f"environment variable {variable}: [{section}] {key}: ")
        assert problem in str(info.value)
        assert str(project.config) not in str(info.value)
    # the same faults in the file still name the file
    text = project.config.read_text(encoding="utf-8")
    project.config.write_text(text.replace("hour = 7", "hour = 25"), "utf-8")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(project.config))}: \[schedule\] hour"):
        project.settings()


def test_whole_floats_are_taken_for_integers_and_strings_stay_plain(project: Project) -> None:
    text = project.config.read_text(encoding="utf-8")
    project.config.write_text(text.replace("connections = 4 ", "connections = 3.0 "), "utf-8")
    settings = project.settings(DIGEST_SMTP_HOST="relay.example.org")
    assert settings.delivery.connections == 3 and type(settings.delivery.connections) is int
    assert type(settings.smtp.host) is str  # not the override's str subclass
    assert settings.where("smtp", "host") == "environment variable DIGEST_SMTP_HOST: [smtp] host"
    assert settings.where("smtp", "port") == f"{project.config}: [smtp] port"


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", {})


def test_signing_key_file_is_created_once_private_and_shared(project: Project) -> None:
    import stat
    from concurrent.futures import ThreadPoolExecutor

    from digest.tokens import secret_key

    settings = project.settings()
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: secret_key(settings), range(16)))
    assert len(keys) == 1 and len(keys.pop()) >= 32
    mode = settings.security.secret_key_file.stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert list(settings.security.secret_key_file.parent.glob(".secret-*")) == []
    assert secret_key(project.settings(DIGEST_SECRET_KEY="k" * 40)) == "k" * 40


def test_a_password_is_never_sent_in_clear_to_another_host(project: Project) -> None:
    plain = {"DIGEST_SMTP_SECURITY": "none", "DIGEST_SMTP_USERNAME": "digest"}
    with pytest.raises(ConfigError, match=r"\[smtp\] security: .*password in clear"):
        project.settings(DIGEST_SMTP_HOST="mail.example.org", **plain)
    for local in ("localhost", "127.0.0.1", "::1"):  # a relay on this machine may take it
        assert project.settings(DIGEST_SMTP_HOST=local, **plain).smtp.username == "digest"
    assert project.settings(DIGEST_SMTP_HOST="mail.example.org").smtp.security == "starttls"
