"""Colour contrast (WCAG 2.x) and the text colours derived from each theme's colour.

A theme keeps its colour for its rule and accents; where the colour carries text (the
theme's heading, its contents link) it is darkened on the light card, or lightened on
the dark card, just enough to reach 4.5:1. So gold stays gold, and readable, in both.
"""

from __future__ import annotations

from dataclasses import dataclass

LIGHT_CARD = "#ffffff"
DARK_CARD = "#1b2027"
TEXT_CONTRAST = 4.5
LARGE_TEXT_CONTRAST = 3.0
MARGIN = 0.1
"""Aim a little above the threshold, so no rounding in a checker lands below it."""


def _channels(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def luminance(colour: str) -> float:
    """Relative luminance, as WCAG defines it."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio, 1 to 21."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _mix(colour: str, target: str, amount: float) -> str:
    pairs = zip(_channels(colour), _channels(target), strict=True)
    return "#" + "".join(f"{round(c + (t - c) * amount):02x}" for c, t in pairs)


def readable(colour: str, background: str, minimum: float = TEXT_CONTRAST) -> str:
    """`colour`, moved toward black (light background) or white (dark background) by the
    smallest step that gives `minimum` contrast; unchanged when it already does."""
    target = "#000000" if luminance(background) > 0.18 else "#ffffff"
    for step in range(0, 101):
        candidate = _mix(colour, target, step / 100)
        if contrast(candidate, background) >= minimum:
            return candidate
    return target


@dataclass(frozen=True)
class ThemeColours:
    accent: str
    """The theme's own colour: the rule above its section."""
    light: str
    """Text in the theme's colour on the light card."""
    dark: str
    """Text (and the rule) in the theme's colour on the dark card."""


def theme_colours(colour: str) -> ThemeColours:
    return ThemeColours(
        accent=colour.lower(),
        light=readable(colour.lower(), LIGHT_CARD, TEXT_CONTRAST + MARGIN),
        dark=readable(colour.lower(), DARK_CARD, TEXT_CONTRAST + MARGIN),
    )
