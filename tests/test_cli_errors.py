"""Bad input at the edges gets one `error:` line (issue 12, items 7, 12 and 16): click's
usage errors, out-of-range ports, misspelt `DIGEST_*` overrides and short signing keys."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner, Result

from digest.cli import cli
from digest.errors import ConfigError
from digest.tokens import secret_key
from tests.conftest import Project


def run(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(project.config), *args], env=env)


def one_error_line(result: Result) -> str:
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output and "Usage:" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["build", "--date", "2025-13-01"], "'--date'"),
        (["send", "--date", "yesterday"], "'--date'"),
        (["check", "--date", "2025-02-30"], "'--date'"),
        (["build", "--no-such-option"], "--no-such-option"),
        (["build", "--out", "config.toml"], "'--out'"),
        (["no-such-command"], "no-such-command"),
        (["serve", "--port", "99999"], "'--port'"),
        (["serve", "--port", "-1"], "'--port'"),
        (["preview", "--port", "65536"], "'--port'"),
    ],
)
def test_usage_errors_are_one_line(project: Project, args: list[str], names: str) -> None:
    line = one_error_line(run(project, *[a.replace("config.toml", str(project.config))
                                         for a in args]))  # fmt: skip
    assert names in line


def test_config_pointing_at_a_directory_is_one_line(project: Project) -> None:
    result = CliRunner().invoke(cli, ["--config", str(project.root), "check"])
    assert "'--config'" in one_error_line(result)


def test_config_option_of_a_command_pointing_at_a_directory_is_one_line(
    project: Project,
) -> None:
    result = CliRunner().invoke(cli, ["check", "--config", str(project.root)])
    assert "'--config'" in one_error_line(result)


def test_usage_errors_from_the_installed_command_are_one_line_on_stderr(
    project: Project,
) -> None:
    """Through the real entry point, not CliRunner: the exit status and stderr a shell sees."""
    for args in (
        ["build", "--date", "2025-13-01"],
        ["build", "--out", str(project.config)],
        ["--config", str(project.root), "check"],
        ["build", "--no-such-option"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", "from digest.cli import main; main()", *args],
            cwd=project.root, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        lines = done.stderr.strip().splitlines()
        assert done.returncode != 0 and done.stdout == "", (args, done.stdout)
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, done.stderr)


def test_bare_group_still_shows_its_help(project: Project) -> None:
    result = CliRunner().invoke(cli, ["subscribers"])
    assert "Usage:" in result.output and "import" in result.output


def test_unknown_digest_variable_is_an_error_naming_it(project: Project) -> None:
    env = {"DIGEST_DELIVERY_CONECTIONS": "3"}
    line = one_error_line(run(project, "check", "--date", "2025-12-03", env=env))
    assert "DIGEST_DELIVERY_CONECTIONS" in line and "conections" in line
    with pytest.raises(ConfigError, match="DIGEST_SMTP_PASWORD"):
        project.settings(DIGEST_SMTP_PASWORD="x")
    # The secret variables the config names, and names outside any section, are fine.
    project.settings(DIGEST_SMTP_PASSWORD="x", DIGEST_SECRET_KEY="k" * 40, DIGEST_CONFIG="x")
    project.settings(DIGEST_REQUIRE_BROWSER="1")


def test_signing_key_needs_32_bytes_from_the_environment_as_from_the_file(
    project: Project,
) -> None:
    for short in ("a", "k" * 31, "é" * 15):  # 30 bytes in 15 characters
        with pytest.raises(ConfigError, match=r"DIGEST_SECRET_KEY: .* at least 32"):
            secret_key(project.settings(DIGEST_SECRET_KEY=short))
    assert secret_key(project.settings(DIGEST_SECRET_KEY="é" * 16)) == "é" * 16
    line = one_error_line(
        run(project, "send", "--date", "2025-12-03", env={"DIGEST_SECRET_KEY": "a"})
    )
    assert "DIGEST_SECRET_KEY" in line
    settings = project.settings()
    settings.security.secret_key_file.write_text("k" * 31 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"secret.key: .* at least 32"):
        secret_key(settings)


def test_huge_csv_field_and_deep_attributes_are_one_line_naming_it(project: Project) -> None:
    """Issue 12, item 11: `_csv.Error` and `RecursionError` were tracebacks."""
    huge = project.root / "huge.csv"
    huge.write_text(
        "email,name\nok@example.org,Ok\nbig@example.org," + "x" * 200_000 + "\n", encoding="utf-8"
    )
    line = one_error_line(run(project, "subscribers", "import", str(huge)))
    assert f"{huge}:3:" in line and "field larger than field limit" in line
    deep = project.root / "deep.csv"
    nested = '"{""a"": ' + "[" * 5000 + "]" * 5000 + '}"'
    deep.write_text(f"email,attributes\ndeep@example.org,{nested}\n", encoding="utf-8")
    result = run(project, "subscribers", "import", str(deep))
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert f"error: {deep}:2: attributes: nested more than 32 levels" in result.output
    skipped = run(project, "subscribers", "import", "--skip-invalid", str(deep))
    assert skipped.exit_code == 0 and f"{deep}:2: attributes: nested" in skipped.output
    listed = run(project, "subscribers", "list", "--json")
    assert "deep@example.org" not in listed.output and "big@example.org" not in listed.output
