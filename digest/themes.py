"""Classify entries into themes by their configured terms, in French and English.

Words are compared by their Snowball stems (snowballstemmer: the maintained stemmers of
the Snowball project), ignoring case, accents, French elisions and British/American
spelling, so editors list lemmas ("drone", "dépense") and every inflection matches. A
keyword is stemmed with the stemmer of the language it is listed under and compared with
the entry's words stemmed the same way, whatever language the entry claims to be in (an
imported item may be mislabelled). Names (`names`) are compared under every language.

One word is not a theme. A theme that lists `context` words takes an entry only when the
entry shows that setting (a context word or one of the theme's names), and any theme
needs more than a lone mention in the body: a title match, two mentions, or one mention
with the theme's setting in the title. So an airline avoiding an *airspace*, astronauts
*spending* Christmas in orbit or an opinion column naming *Ukraine* once stay in brief.
Among the themes that qualify the highest score wins; ties go to the title's evidence,
then topic words over names, then the number of different terms, then the setting, and
only then to theme order.
The editor's choice (front matter `themes:`) always wins. Pure functions.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import snowballstemmer

from digest.models import BRIEF_THEME_ID, Classified, Entry, Evidence, Match, Theme

TITLE_WEIGHT = 3
BODY_ENOUGH = 2
"""Body points that take an entry without title evidence or title setting."""
_WORD_RE = re.compile(r"[a-z0-9]+")
# British spellings folded into American ones so either spelling of a keyword matches.
_SPELLINGS = {"defence": "defense", "defences": "defenses", "offence": "offense",
              "licence": "license", "programme": "program", "programmes": "programs"}  # fmt: skip
# French elisions: "l'armée", "d'Ankara" are the words "armee", "ankara".
_ELISION_RE = re.compile(r"\b(?:l|d|qu|n|s|j|m|t|c|jusqu|lorsqu|puisqu)['’]")
# ISO 639-1 codes of the languages Snowball stems; another language is compared as is.
_SNOWBALL = {"ar": "arabic", "ca": "catalan", "da": "danish", "de": "german", "el": "greek",
             "en": "english", "es": "spanish", "eu": "basque", "fi": "finnish",
             "fr": "french", "hu": "hungarian", "hy": "armenian", "id": "indonesian",
             "it": "italian", "lt": "lithuanian", "nl": "dutch", "no": "norwegian",
             "pt": "portuguese", "ro": "romanian", "ru": "russian", "sv": "swedish",
             "tr": "turkish"}  # fmt: skip
_STEM_LOCK = threading.Lock()  # a Snowball stemmer object keeps state between calls


def normalize(text: str) -> list[str]:
    """Lowercase ASCII word tokens: accents and elisions stripped, punctuation dropped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = _ELISION_RE.sub(" ", plain.replace("œ", "oe").replace("æ", "ae"))
    return [_SPELLINGS.get(word, word) for word in _WORD_RE.findall(plain)]


@functools.cache
def _stemmer(language: str) -> Callable[[str], str]:
    name = _SNOWBALL.get(language.split("-")[0].lower())
    if name is None:
        return lambda word: word
    stemmer = snowballstemmer.stemmer(name)

    def stem(word: str) -> str:
        with _STEM_LOCK:
            return str(stemmer.stemWord(word))

    return stem


@functools.lru_cache(maxsize=65536)
def stem(word: str, language: str) -> str:
    """The Snowball stem of a normalized word in `language` (the word itself if none)."""
    return _stemmer(language)(word)


@dataclass(frozen=True)
class _Term:
    text: str
    kind: str
    languages: tuple[str, ...]
    words: tuple[str, ...]


class _Text:
    """One text's tokens, stemmed on demand per language."""

    def __init__(self, text: str) -> None:
        self.tokens = normalize(text)
        self._stems: dict[str, list[str]] = {}

    def stems(self, language: str) -> list[str]:
        if language not in self._stems:
            self._stems[language] = [stem(t, language) for t in self.tokens]
        return self._stems[language]

    def starts(self, term: _Term) -> set[int]:
        """Where the term's words occur in a row, under any of the term's languages."""
        found: set[int] = set()
        span = len(term.words)
        for language in term.languages:
            wanted = [stem(w, language) for w in term.words]
            stems = self.stems(language)
            found |= {
                i
                for i in range(len(stems) - span + 1)
                if stems[i] == wanted[0] and stems[i : i + span] == wanted
            }
        return found


def _terms(theme: Theme, all_languages: Sequence[str]) -> tuple[list[_Term], list[_Term]]:
    """The theme's scoring terms (keywords, then names) and its context words."""
    scoring: list[_Term] = []
    context: list[_Term] = []
    for language, words in theme.keywords.items():
        scoring += [_Term(k, "keyword", (language,), tuple(normalize(k))) for k in words]
    scoring += [_Term(n, "name", tuple(all_languages), tuple(normalize(n))) for n in theme.names]
    for language, words in theme.context.items():
        context += [_Term(k, "context", (language,), tuple(normalize(k))) for k in words]
    return [t for t in scoring if t.words], [t for t in context if t.words]


def _languages(themes: Iterable[Theme], extra: str) -> tuple[str, ...]:
    found = {extra} if extra else set()
    for theme in themes:
        found |= set(theme.keywords) | set(theme.context)
    return tuple(sorted(found))


def _found(text: _Text, terms: list[_Term], where: str, weight: int) -> list[tuple[int, Match]]:
    """One match per place in the text: the longest term found there."""
    best: dict[int, _Term] = {}
    for term in terms:
        for start in text.starts(term):
            if start not in best or len(term.words) > len(best[start].words):
                best[start] = term
    return sorted((i, Match(t.text, t.kind, where, weight)) for i, t in best.items())


def weigh(theme: Theme, title: _Text, body: _Text, languages: Sequence[str]) -> Evidence:
    """The theme's evidence in one entry: its matches, score and whether it qualifies.

    Words of the title weigh TITLE_WEIGHT, of the body 1; a place in the text counts
    once per theme, however many terms match there ("dépenses" and "dépenses de défense").
    """
    scoring, context = _terms(theme, languages)
    in_title = _found(title, scoring, "title", TITLE_WEIGHT)
    in_body = _found(body, scoring, "body", 1)
    setting = _found(title, context, "title", 0) + _found(body, context, "body", 0)
    matches = tuple(m for _, m in [*in_title, *in_body, *setting])
    title_score = sum(m.points for _, m in in_title)
    score = title_score + sum(m.points for _, m in in_body)
    names = [m for m in matches if m.kind == "name"]
    has_setting = not theme.context or bool(setting) or bool(names)
    title_setting = any(m.where == "title" and m.kind in {"name", "context"} for m in matches)
    if score == 0:
        accepted, reason = False, "no term found"
    elif not has_setting:
        accepted, reason = False, "no context word: " + _listed(m for m in matches if m.points)
    elif not (title_score or score >= BODY_ENOUGH or title_setting):
        accepted, reason = False, "a lone mention in the body: " + _listed(matches)
    else:
        accepted, reason = True, _listed(matches)
    return Evidence(score, title_score, matches, accepted, reason)


def _listed(matches: Iterable[Match], most: int = 4) -> str:
    """ "drone (title), drone (body); context: militaire, OTAN": each term once a place."""
    terms: list[str] = []
    setting: list[str] = []
    for m in matches:
        if m.kind != "context" and f"{m.term} ({m.where})" not in terms:
            terms.append(f"{m.term} ({m.where})")
        elif m.kind == "context" and m.term not in setting:
            setting.append(m.term)
    text = ", ".join(terms)
    if setting:
        more = f", +{len(setting) - most}" if len(setting) > most else ""
        text += f"{'; ' if text else ''}context: {', '.join(setting[:most])}{more}"
    return text


def _rank(theme: Theme, evidence: Evidence) -> tuple[int, ...]:
    """Score, then title score, then topic words over names (a person turns up in many
    stories: "Zelensky invited to the summit" is about the summit), then distinct terms,
    then the setting; theme order only when all of that is equal."""
    scoring = {m.term.casefold() for m in evidence.matches if m.points}
    setting = {m.term.casefold() for m in evidence.matches if not m.points}
    topic = sum(m.points for m in evidence.matches if m.kind == "keyword")
    return (evidence.score, evidence.title_score, topic, len(scoring), len(setting), -theme.order)


def classify(entry: Entry, themes: Iterable[Theme]) -> Classified:
    """The entry's theme with the evidence for every theme; the editor's choice wins;
    an entry no theme qualifies for goes to 'brief'."""
    ordered = list(themes)
    languages = _languages(ordered, entry.language)
    title, body = _Text(entry.title), _Text(entry.text)
    evidence = {t.id: weigh(t, title, body, languages) for t in ordered}
    scores = {theme_id: found.score for theme_id, found in evidence.items()}
    chosen = next((t for t in entry.themes if t in scores), None)
    if chosen is not None:
        return Classified(entry, chosen, scores[chosen], scores, evidence, "editor")
    qualified = [t for t in ordered if evidence[t.id].accepted]
    if not qualified:
        return Classified(entry, BRIEF_THEME_ID, 0, scores, evidence)
    best = max(qualified, key=lambda t: _rank(t, evidence[t.id]))
    return Classified(entry, best.id, scores[best.id], scores, evidence)
