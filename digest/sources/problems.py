"""Problems found while reading entries: collected, not raised, so one bad file or feed
never hides the others, and the editor sees every fault in one run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from digest.errors import SourceError

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding about a file, feed or entry; also the shape of an editorial check.

    `path` is a file path or a feed URL; `line` is 0 when no line applies.
    """

    id: str
    severity: Severity
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class EntryError(SourceError):
    """An entry file is unusable; carries the file and line for a Problem."""

    def __init__(self, path: Path | str, line: int, message: str, check_id: str = "entry") -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        self.check_id = check_id
        super().__init__(f"{self.path}:{line}: {message}" if line else f"{self.path}: {message}")

    def problem(self, severity: Severity = "error") -> Problem:
        return Problem(self.check_id, severity, self.path, self.line, self.message)


def raise_for_errors(problems: list[Problem]) -> None:
    """Raise one SourceError listing every error, one per line, if there is any."""
    errors = [p for p in problems if p.is_error]
    if errors:
        raise SourceError("\n".join(str(p) for p in errors))
