"""Runs every benchmark in bench/ and prints medians and ratios."""

from __future__ import annotations


def main() -> None:
    print("no benchmarks yet")


if __name__ == "__main__":
    main()
