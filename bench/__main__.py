"""Runs every benchmark in bench/ and prints medians and ratios."""

from __future__ import annotations

from bench import render


def main() -> None:
    render.main()


if __name__ == "__main__":
    main()
