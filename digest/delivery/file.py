"""Transports that keep mail on this machine: .eml files, or the console."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TextIO

from digest.atomic import write_atomic
from digest.errors import DeliverySetupError
from digest.models import Message

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


class FileTransport:
    """Writes each message as `<dir>/<message-id>.eml`, atomically (temp file + rename).

    A re-send of the same message overwrites its file, so the folder holds exactly
    one file per (issue, subscriber), like an inbox that drops duplicates.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, message: Message) -> Path:
        return self.folder / (_UNSAFE.sub("_", message.message_id.strip("<>")) + ".eml")

    def send(self, message: Message) -> str:
        target = self.path_for(message)
        write_atomic(target, message.data, error=DeliverySetupError)
        return f"written {target.name}"

    def close(self) -> None:
        pass


class ConsoleTransport:
    """Prints each message: for trying a config without a mail server."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, message: Message) -> str:
        self.stream.write(message.data.decode("utf-8", "replace").replace("\r\n", "\n"))
        self.stream.write("\n")
        return "printed"

    def close(self) -> None:
        pass
