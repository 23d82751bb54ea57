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
_UNICODE_WORD_RE = re.compile(r"[^\W_]+")
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
    return [_SPELLINGS.get(word, word) for word in _WORD_RE.findall(_plain(_words_of(text)))]


def _words_of(text: str) -> str:
    """Casefolded, ligatures spelt out, elisions ("l'", "d'") turned into spaces."""
    folded = unicodedata.normalize("NFC", text.casefold()).replace("œ", "oe").replace("æ", "ae")
    return _ELISION_RE.sub(" ", folded)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[tuple[str, str]]:
    """(word as written, lowercase; the same word as `normalize` gives it) for each word.

    Snowball's French stemmer needs the accents ("alliée" and "allié" share a stem only
    with them), while a text typed without accents needs the plain form: both are kept.
    """
    found = []
    for word in _UNICODE_WORD_RE.findall(_words_of(text)):
        plain = _WORD_RE.findall(_plain(word))
        if len(plain) == 1:
            found.append((word, _SPELLINGS.get(plain[0], plain[0])))
        else:  # a letter without an ASCII form splits the plain word: keep the plain parts
            found += [(p, _SPELLINGS.get(p, p)) for p in plain]
    return found


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
    """The Snowball stem of a lowercase word in `language` (the word itself if none),
    without accents."""
    return _plain(_stemmer(language)(word))


def _stems(word: tuple[str, str], language: str) -> frozenset[str]:
    """The stems of the word as written and of its plain form."""
    return frozenset({stem(_SPELLINGS.get(word[0], word[0]), language), stem(word[1], language)})


@dataclass(frozen=True)
class _Term:
    text: str
    kind: str
    stems: tuple[tuple[str, tuple[frozenset[str], ...]], ...]
    """(language, each word's stems in it) for each language it is compared in."""

    @property
    def length(self) -> int:
        return len(self.stems[0][1]) if self.stems else 0


def _term(text: str, kind: str, languages: Iterable[str]) -> _Term:
    words = tokens(text)
    return _Term(
        text, kind, tuple((lang, tuple(_stems(w, lang) for w in words)) for lang in languages)
    )


class _Text:
    """One text's words, stemmed and indexed on demand per language."""

    def __init__(self, text: str) -> None:
        self.words = tokens(text)
        self._stems: dict[str, list[frozenset[str]]] = {}
        self._where: dict[str, dict[str, list[int]]] = {}

    def _index(self, language: str) -> tuple[list[frozenset[str]], dict[str, list[int]]]:
        if language not in self._where:
            stems = [_stems(w, language) for w in self.words]
            where: dict[str, list[int]] = {}
            for i, found in enumerate(stems):
                for one in found:
                    where.setdefault(one, []).append(i)
            self._stems[language], self._where[language] = stems, where
        return self._stems[language], self._where[language]

    def starts(self, term: _Term) -> set[int]:
        """Where the term's words occur in a row, under any of the term's languages."""
        found: set[int] = set()
        for language, wanted in term.stems:
            if not wanted:
                continue
            stems, where = self._index(language)
            first = {i for one in wanted[0] for i in where.get(one, ())}
            found |= {
                i
                for i in first
                if i + len(wanted) <= len(stems)
                and all(stems[i + k] & w for k, w in enumerate(wanted))
            }
        return found


def _terms(theme: Theme, all_languages: Sequence[str]) -> tuple[tuple[_Term, ...], ...]:
    """The theme's scoring terms (keywords, then names) and its context words."""
    key = (
        tuple((lang, tuple(words)) for lang, words in theme.keywords.items()),
        tuple(theme.names),
        tuple((lang, tuple(words)) for lang, words in theme.context.items()),
        tuple(all_languages),
    )
    return _compiled(key)


@functools.lru_cache(maxsize=256)
def _compiled(
    key: tuple[
        tuple[tuple[str, tuple[str, ...]], ...],
        tuple[str, ...],
        tuple[tuple[str, tuple[str, ...]], ...],
        tuple[str, ...],
    ],
) -> tuple[tuple[_Term, ...], ...]:
    keywords, names, context, all_languages = key
    scoring = [_term(k, "keyword", (lang,)) for lang, words in keywords for k in words]
    scoring += [_term(n, "name", all_languages) for n in names]
    setting = [_term(k, "context", (lang,)) for lang, words in context for k in words]
    return tuple(t for t in scoring if t.length), tuple(t for t in setting if t.length)


def _languages(themes: Iterable[Theme], extra: str) -> tuple[str, ...]:
    found = {extra} if extra else set()
    for theme in themes:
        found |= set(theme.keywords) | set(theme.context)
    return tuple(sorted(found))


def _found(text: _Text, terms: Iterable[_Term], where: str, weight: int) -> list[tuple[int, Match]]:
    """One match per place in the text: the longest term found there."""
    best: dict[int, _Term] = {}
    for term in terms:
        for start in text.starts(term):
            if start not in best or term.length > best[start].length:
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
