"""Classify entries into themes by their configured keywords, in French and English.

Matching is on whole words, ignoring case and accents, and lets a keyword take simple
inflections ("drone" matches "drones", "ukrain" stems match "ukrainienne" only when
configured as such), so editors list lemmas rather than every form. Pure functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from digest.models import BRIEF_THEME_ID, Classified, Entry, Theme

TITLE_WEIGHT = 3
_WORD_RE = re.compile(r"[a-z0-9]+")
# Endings a keyword may take and still count as the same word: plurals and the
# common French/English adjective and demonym endings.
_SUFFIXES = ("", "s", "e", "es", "x", "n", "ne", "nes", "ns", "an", "ans", "ian", "ians",
             "ien", "iens", "ienne", "iennes", "al", "aux", "ale", "ales", "ing", "ed")  # fmt: skip


def normalize(text: str) -> list[str]:
    """Lowercase ASCII word tokens: accents stripped, punctuation dropped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD_RE.findall(plain.replace("œ", "oe").replace("æ", "ae"))


def _word_matches(keyword: str, token: str) -> bool:
    if not token.startswith(keyword):
        return False
    return token[len(keyword) :] in _SUFFIXES


def count_matches(keyword: str, tokens: list[str]) -> int:
    """How often a (possibly multi-word) keyword occurs in a token list."""
    words = normalize(keyword)
    if not words:
        return 0
    span = len(words)
    return sum(
        1
        for i in range(len(tokens) - span + 1)
        if all(_word_matches(w, tokens[i + k]) for k, w in enumerate(words))
    )


def score(theme: Theme, title: list[str], body: list[str]) -> int:
    keywords = {k for words in theme.keywords.values() for k in words}
    return sum(TITLE_WEIGHT * count_matches(k, title) + count_matches(k, body) for k in keywords)


def classify(entry: Entry, themes: Iterable[Theme]) -> Classified:
    """The entry's best theme; the editor's choice wins; no match goes to 'brief'."""
    ordered = list(themes)
    title, body = normalize(entry.title), normalize(entry.text)
    scores = {t.id: score(t, title, body) for t in ordered}
    chosen = next((t for t in entry.themes if t in scores), None)
    if chosen is not None:
        return Classified(entry, chosen, scores[chosen], scores)
    best = max(ordered, key=lambda t: (scores[t.id], -t.order), default=None)
    if best is None or scores[best.id] == 0:
        return Classified(entry, BRIEF_THEME_ID, 0, scores)
    return Classified(entry, best.id, scores[best.id], scores)
