"""Bad input at the edges gets one `error:` line (issue 12, items 7, 12 and 16): click's
usage errors, out-of-range ports, misspelt `DIGEST_*` overrides and short signing keys."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner, Result

from digest.cli import cli
from digest.config import _SECTIONS, NOT_SETTINGS
from digest.errors import ConfigError
from digest.tokens import secret_key
from tests.conftest import REPO, Project


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


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["build", "--date", "2025-12-03", "--language", "de"], "'--language': 'de' is not one"),
        (["send", "--if-due", "--date", "2025-12-03"], "--if-due takes the week from"),
        (["send", "--variant", "en:ukraine", "--dry-run"], "--variant only applies to a proof"),
        (["send", "--dry-run", "--if-due"], "do not go together"),
        (["send", "--date", "2025-12-03", "--test-to", "a@example.org", "--variant",
          "xx:ukraine"], "'--variant': variant 'xx:ukraine': language 'xx'"),
        # checked before the week is read: the current week has no entries
        (["send", "--test-to", "a@example.org", "--variant", "xx:ukraine"], "'--variant'"),
        (["send", "--date", "2025-12-03", "--test-to", "not-an-address"], "'--test-to'"),
    ],
)  # fmt: skip
def test_bad_or_contradictory_options_exit_2_with_one_line(
    project: Project, args: list[str], names: str
) -> None:
    """The README's exit 2 for usage errors, through the installed entry point: these
    exited 1, like a failed send."""
    done = subprocess.run(
        [sys.executable, "-c", "from digest.cli import main; main()",
         "--config", str(project.config), *args],
        cwd=project.root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert (done.returncode, done.stdout) == (2, ""), (done.returncode, done.stdout, done.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: digest "), done.stderr
    assert names in lines[0] and lines[0].endswith("--help)"), lines[0]


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


def test_a_digest_variable_outside_every_section_is_an_error_naming_it(
    project: Project,
) -> None:
    """Issue 12, item 16: `DIGEST_SMPT_HOST` (no section [smpt]) was ignored without a
    word, and the default host used."""
    line = one_error_line(
        run(project, "check", "--date", "2025-12-03", env={"DIGEST_SMPT_HOST": "mx.example.org"})
    )
    assert line == (
        "error: environment variable DIGEST_SMPT_HOST: no section [smpt]; "
        "did you mean DIGEST_SMTP_HOST?"
    )
    with pytest.raises(ConfigError, match=r"DIGEST_DELIVERYCONNECTIONS: no section .*"
                       r"did you mean DIGEST_DELIVERY_CONNECTIONS\?"):  # fmt: skip
        project.settings(DIGEST_DELIVERYCONNECTIONS="4")
    with pytest.raises(ConfigError, match=r"DIGEST_NOTHING_LIKE_IT: no section \[nothing\] "
                       r"\(settings are DIGEST_<SECTION>_<KEY>\)$"):  # fmt: skip
        project.settings(DIGEST_NOTHING_LIKE_IT="1")
    with pytest.raises(ConfigError, match="did you mean DIGEST_REQUIRE_BROWSER"):
        project.settings(DIGEST_REQUIRE_BROWSR="1")


def test_the_secret_variables_the_config_names_are_allowed_whatever_their_names(
    project: Project,
) -> None:
    project.settings(DIGEST_DKIM_KEY="k", DIGEST_DKIM_ED25519_KEY="k", DIGEST_STORE_PASSWORD="p")
    text = project.config.read_text(encoding="utf-8")
    default = 'password_env = "DIGEST_SMTP_PASSWORD"'
    assert default in text
    project.config.write_text(
        text.replace(default, 'password_env = "DIGEST_MAIL_RELAY_PW"'), encoding="utf-8"
    )
    assert project.settings(DIGEST_MAIL_RELAY_PW="pw").smtp.password_env == "DIGEST_MAIL_RELAY_PW"
    with pytest.raises(ConfigError, match="DIGEST_MAIL_RELAY_PWD: no section"):
        project.settings(DIGEST_MAIL_RELAY_PWD="pw")


def test_the_test_and_ci_switches_are_allowed_and_each_is_in_use(project: Project) -> None:
    """NOT_SETTINGS is exactly what this repository sets or reads besides settings: CI's
    exports and the Makefile's assignments load, every `DIGEST_*` the tests read from the
    environment is allowed, and every allowed name is used somewhere."""
    settings = {f"DIGEST_{s}_{f.name}".upper() for s, c in _SECTIONS.items()
                for f in dataclasses.fields(c)}  # fmt: skip
    ci = (REPO / ".ci" / "run").read_text() + (REPO / "Makefile").read_text()
    exported = set(re.findall(r"\b(DIGEST_[A-Z0-9_]+)=", ci))
    assert {"DIGEST_REQUIRE_BROWSER", "DIGEST_TEST_STORE"} <= exported
    assert exported - settings <= NOT_SETTINGS
    tests = "".join(path.read_text(encoding="utf-8") for path in (REPO / "tests").glob("*.py"))
    read = set(re.findall(r"environ\.get\(\s*\"(DIGEST_[A-Z0-9_]+)\"", tests))
    read |= set(re.findall(r"setenv\(\s*\"(DIGEST_[A-Z0-9_]+)\"", tests))
    assert len(read) >= 5 and read - settings <= NOT_SETTINGS | {"DIGEST_STORE_PASSWORD"}
    everywhere = ci + tests + (REPO / "README.md").read_text(encoding="utf-8")
    assert all(name in everywhere for name in NOT_SETTINGS)
    project.settings(**dict.fromkeys(NOT_SETTINGS - {"DIGEST_CONFIG"}, "1"), DIGEST_CONFIG="x")
    result = run(project, "check", "--date", "2025-12-03",
                 env={**dict.fromkeys(NOT_SETTINGS - {"DIGEST_CONFIG"}, "1")})  # fmt: skip
    assert "environment variable" not in result.output, result.output


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
