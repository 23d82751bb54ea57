"""Runs every benchmark in bench/ and prints medians and ratios.

`python -m bench` runs them all; `python -m bench NAME [options]` runs one
(e.g. `python -m bench delivery --large`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import delivery, render

BENCHMARKS: dict[str, Callable[[list[str]], None]] = {
    "render": lambda _args: render.main(),
    "delivery": delivery.main,
}


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in BENCHMARKS:
        BENCHMARKS[args[0]](args[1:])
        return
    for run in BENCHMARKS.values():
        run(args)


if __name__ == "__main__":
    main()
