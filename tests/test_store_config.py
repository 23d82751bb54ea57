"""`[store] url`: where the store lives, read from config.toml or the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.config import load_settings
from digest.errors import ConfigError
from digest.store import target_of
from tests.conftest import Project


def _with_store(project: Project, lines: str) -> Path:
    text = project.config.read_text(encoding="utf-8")
    start = text.index("[store]")
    end = text.index("\n[", start + 1)
    project.config.write_text(text[:start] + "[store]\n" + lines + text[end:], encoding="utf-8")
    return project.config


@pytest.mark.sqlite_only
def test_the_default_is_the_sqlite_file_beside_the_config(project: Project) -> None:
    settings = project.settings()
    assert settings.store.engine == "sqlite"
    assert settings.store.path == project.root / "subscribers" / "digest.db"
    assert target_of(settings).path == settings.store.path


def test_an_absolute_sqlite_url_and_an_older_configs_path(project: Project, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/elsewhere.db"  # sqlite:////tmp/... : absolute
    assert project.settings(DIGEST_STORE_URL=url).store.path == tmp_path / "elsewhere.db"
    _with_store(project, 'path = "data/old.db"\n')
    settings = load_settings(project.config, {})
    assert settings.store.path == project.root / "data" / "old.db"
    assert settings.store.url.startswith("sqlite:///")


def test_a_postgresql_url_takes_its_password_from_the_named_variable(project: Project) -> None:
    settings = project.settings(
        DIGEST_STORE_URL="postgresql://digest@db.example.org:5433/news",
        DIGEST_STORE_PASSWORD="s3cret",
    )
    target = target_of(settings)
    assert settings.store.engine == "postgresql" and target.path is None
    assert target.password == "s3cret" and "s3cret" not in target.url


def test_path_and_url_together_are_refused(project: Project) -> None:
    _with_store(project, 'url = "sqlite:///a.db"\npath = "b.db"\n')
    with pytest.raises(ConfigError, match=r"\[store\] path and url: give only url"):
        load_settings(project.config, {})


def test_a_port_that_is_not_a_number_is_refused(project: Project) -> None:
    with pytest.raises(ConfigError, match=r"\[store\] url: the port of .* is not a number"):
        project.settings(DIGEST_STORE_URL="postgresql://digest@db:port/news")


@pytest.mark.sqlite_only
def test_a_store_in_a_directory_that_does_not_exist_is_an_error_not_a_new_list(
    project: Project, tmp_path: Path
) -> None:
    """A typo in the url used to create the directories and an empty store, and
    `subscribers list` then said 0 subscribers."""
    typo = tmp_path / "typo" / "digest.db"
    env = {"DIGEST_STORE_URL": f"sqlite:///{typo}"}
    for command in (["subscribers", "list"], ["status"]):
        result = CliRunner().invoke(cli, ["--config", str(project.config), *command], env=env)
        assert result.exit_code != 0
        assert result.output.strip().splitlines() == [
            f"error: {typo}: cannot open the store: no directory {typo.parent} "
            "(create it, or correct [store] url)"
        ]
    assert not typo.parent.exists()
