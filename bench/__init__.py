"""Benchmarks: `python -m bench` (or `make bench`)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def term_unwinds() -> Iterator[None]:
    """Turn SIGTERM (a timeout, a cancelled CI job) into SystemExit while inside, so
    finally blocks stop the sink and send processes instead of orphaning them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
