"""`python -m bench` runs every benchmark and writes docs/performance.md (`make bench`).

`python -m bench NAME [options]` runs one and prints it (e.g. `python -m bench
delivery --large`, `python -m bench chaos --kills 5`); `python -m bench --tiny --out
/tmp/p.md` runs the report at miniature sizes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import chaos, delivery, relay, render, report, senders, themes

BENCHMARKS: dict[str, Callable[[list[str]], None]] = {
    "render": lambda _args: render.main(),
    "delivery": delivery.main,
    "relay": relay.main,
    "report": report.main,
    "chaos": chaos.main,
    "senders": senders.main,
    "themes": themes.main,
}


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in BENCHMARKS:
        BENCHMARKS[args[0]](args[1:])
        return
    report.main(args)


if __name__ == "__main__":
    main()
