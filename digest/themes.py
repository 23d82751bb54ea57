"""Classify entries into themes by their configured keywords, in French and English.

Matching is on whole words, ignoring case and accents, British/American spelling
("defence"/"defense"), and lets a keyword take simple inflections: "drone" matches
"drones", "Ukraine" matches "ukrainienne" and "Ukrainian" (the keyword's final -e/-s is
dropped before the ending is added), so editors list lemmas rather than every form.
Pure functions.
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


# British spellings folded into American ones so either spelling of a keyword matches.
_SPELLINGS = {"defence": "defense", "defences": "defenses", "offence": "offense",
              "licence": "license", "programme": "program", "programmes": "programs"}  # fmt: skip
# French elisions: "l'armée", "d'Ankara" are the words "armee", "ankara".
_ELISION_RE = re.compile(r"\b(?:l|d|qu|n|s|j|m|t|c|jusqu|lorsqu|puisqu)['’]")


def normalize(text: str) -> list[str]:
    """Lowercase ASCII word tokens: accents and elisions stripped, punctuation dropped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = _ELISION_RE.sub(" ", plain.replace("œ", "oe").replace("æ", "ae"))
    return [_SPELLINGS.get(word, word) for word in _WORD_RE.findall(plain)]


def _stem(keyword: str) -> str:
    """The keyword without a final -s/-x then -e, so inflected endings can be added."""
    stem = keyword[:-1] if len(keyword) > 4 and keyword[-1] in "sx" else keyword
    return stem[:-1] if len(stem) > 4 and stem.endswith("e") else stem


def _word_matches(keyword: str, token: str) -> bool:
    if token == keyword:
        return True
    stem = _stem(keyword)
    return token.startswith(stem) and token[len(stem) :] in _SUFFIXES


def _match_starts(words: list[str], tokens: list[str]) -> set[int]:
    span = len(words)
    return {
        i
        for i in range(len(tokens) - span + 1)
        if all(_word_matches(w, tokens[i + k]) for k, w in enumerate(words))
    }


def count_matches(keyword: str, tokens: list[str]) -> int:
    """How often a (possibly multi-word) keyword occurs in a token list."""
    words = normalize(keyword)
    return len(_match_starts(words, tokens)) if words else 0


def score(theme: Theme, title: list[str], body: list[str]) -> int:
    """Words of the title that match a keyword weigh TITLE_WEIGHT, of the body 1.

    A place in the text counts once per theme, however many keywords match there
    ("hybride" for fr and "hybrid" for en; "dépenses" and "dépenses de défense").
    """
    keywords = [normalize(k) for words in theme.keywords.values() for k in words]
    in_title: set[int] = set()
    in_body: set[int] = set()
    for words in filter(None, keywords):
        in_title |= _match_starts(words, title)
        in_body |= _match_starts(words, body)
    return TITLE_WEIGHT * len(in_title) + len(in_body)


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
