"""Writing a file all at once: readers (a mail client, an editor, the next run) see the
old file or the new one, never half of one, and a failure leaves no temp file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from digest.errors import DigestError


def write_atomic(
    path: Path, data: bytes, *, replace: bool = True, error: type[DigestError] = DigestError
) -> bool:
    """Write `data` to `path` through a temp file in the same folder (created if needed).

    With `replace=False` an existing file is kept and False returned, even if another
    process creates it meanwhile (the temp file is hard-linked into place, never renamed
    over it). Any OS failure raises `error` naming the path: `cannot write: <reason>`.
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if replace:
            os.replace(tmp, path)
            tmp = None
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        return True
    except OSError as exc:
        raise error(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
