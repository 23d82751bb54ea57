"""The README describes the commands as they behave: every `digest ...` line in its code
blocks names a real command, and every option it shows exists on that command."""

from __future__ import annotations

import re
from pathlib import Path

import click

from digest.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"
_CALL = re.compile(r"(?:^|[\s/])digest\s+(?P<rest>[^#>]*)")


def _shell_lines(text: str) -> list[str]:
    """Lines of the ```sh and ```crontab blocks."""
    lines, fence = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            fence = stripped[3:] if fence is None else None
        elif fence in {"sh", "crontab"}:
            lines.append(line)
    return lines


def _options(command: click.Command) -> set[str]:
    return {name for param in command.params for name in getattr(param, "opts", [])}


def test_every_command_line_in_the_readme_exists() -> None:
    calls = [m["rest"] for line in _shell_lines(README.read_text()) if (m := _CALL.search(line))]
    assert len(calls) > 20
    for rest in calls:
        command: click.Command = cli
        tokens = rest.replace("[", " ").replace("]", " ").split()
        for token in tokens:
            if isinstance(command, click.Group) and token in command.commands:
                command = command.commands[token]
            elif token.startswith("--"):
                option = token.split("=")[0]
                assert option in _options(command) | _options(cli), f"{rest}: {option}"
        assert command is not cli, f"no command in: digest {rest}"
