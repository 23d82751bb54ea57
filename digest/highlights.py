"""The week's highlights: key figures ("5 % de leur PIB", "un milliard de dollars par
mois") and quotes with their speaker, for a "key figures" block and a "quote of the week".

Found by patterns over the entries' plain text, in issue order; editors steer them in
front matter with `highlights: {pin: [...], drop: [...]}`: a pinned text goes first (and
is added if the patterns missed it), a dropped one never shows. Pure functions.

A figure told twice, in two languages or spacings ("5% of GDP", "5 % du PIB"), shows once:
figures are the same when their number and unit are (`figure_key`), and the one kept is
the pinned one, else the one in the reader's language, else the first. Quotes lose the
, ; : a cut sentence leaves inside the marks.

A figure is a whole noun phrase: the number, its unit, and what it counts up to the
last word that can end a phrase ("5% of GDP", never "5% of GDP in"). A reader with a
language sees figures and quotes from entries in that language only (a pinned one is the
editor's call and keeps its `language`, for the template to tag). The quote of the week
comes from a themed entry (never "In brief") and has a named speaker, unless pinned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from digest.models import BRIEF_THEME_ID, Entry, Issue

MAX_FIGURES = 4
MIN_QUOTE_WORDS = 4

# "1 500 €" is one number (French thousands are spaced), not "500 €" after a stray "1".
_NUMBER = r"(?:\d{1,3}(?:[ \u00a0\u202f]\d{3}(?!\d))+|\d+)(?:[.,]\d+)?"
_WORD_NUMBER = (
    r"(?:un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|cent|one|two|three|four|five"
    r"|six|seven|eight|nine|ten|a|an|half a)"
)
_SCALE = r"(?:milliards?|millions?|billions?|trillions?|bn|mn|m)"
_CURRENCY_WORDS = r"(?:d['’]euros|de dollars|d['’]dollars|de livres|euros?|dollars?|pounds?)"
_CONNECTOR = r"(?:de|du|des|d['’]|par|aux?|pour|of|per|a|in|for)"
_DETERMINER = r"(?:les|le|la|leurs?|the|their|its)"
_TAIL_WORD = r"[^\s,.;:!?«»“”\"()]+"
_FIGURE_RE = re.compile(
    rf"(?<![\w.,])(?:"
    rf"{_NUMBER}\s?(?:%|pour\s?cent\b|per\s?cent\b|percent\b)"
    rf"|(?:{_NUMBER}|{_WORD_NUMBER})\s+{_SCALE}\s+{_CURRENCY_WORDS}"
    rf"|[$€£]\s?{_NUMBER}(?:\s?(?:{_SCALE}|billion|million)\b)?"
    rf"|{_NUMBER}\s?(?:{_SCALE}\s?)?(?:€|\$|£)"
    rf")"
    rf"(?:\s+{_CONNECTOR}\s*(?:{_DETERMINER}\s+)?{_TAIL_WORD}(?:\s+{_TAIL_WORD}){{0,1}})?",
    re.IGNORECASE,
)
# Words a noun phrase cannot end on: prepositions, articles, conjunctions, auxiliaries.
_TRAILING_WORDS = {
    "à", "a", "au", "aux", "de", "du", "des", "la", "le", "les", "un", "une", "et", "ou", "en",
    "dans", "par", "pour", "sur", "sous", "avec", "sans", "vers", "chez", "entre", "contre",
    "depuis", "dès", "avant", "après", "que", "qui", "dont", "est", "sont", "sera", "seront",
    "était", "ont", "serait", "soit", "se", "sa", "son", "ses", "leur", "leurs", "ce", "cette",
    "to", "the", "an", "of", "and", "or", "in", "for", "per", "by", "on", "at", "with", "from",
    "into", "over", "under", "after", "before", "until", "than", "as", "that", "which", "who",
    "is", "are", "was", "were", "will", "would", "be", "been", "has", "have", "had", "its",
    "their", "his", "her", "this", "these", "those", "each", "every",
}  # fmt: skip
_QUOTE_RE = re.compile(r"«\s*(?P<a>[^«»]+?)\s*»|“(?P<b>[^“”]+)”|\"(?P<c>[^\"]+)\"")
_NAME = r"(?P<name>[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)?)"
_SPEECH_FR = (
    r"(?:déclaré|dit|affirmé|insisté|rappelé|averti|souligné|estimé|ajouté|prévenu|salué"
    r"|expliqué|annoncé|indiqué|assuré|martelé|jugé|condamné|évoqué|appelé|présenté)"
)
_SPEECH_EN = r"(?:said|says|told|warned|added|stressed|insisted|noted|argued|announced)"
_SPEAKER_BEFORE = re.compile(rf"{_NAME}\s+(?:(?:a|avait)\s+(?:\w+\s+)?{_SPEECH_FR}|{_SPEECH_EN})\b")
_SPEAKER_AFTER = re.compile(
    rf"^\s*[,.]?\s*(?:(?:a|avait)\s+(?:\w+\s+)?{_SPEECH_FR}|{_SPEECH_EN})\s+{_NAME}"
)
# '"…," Rutte said': the name between the closing mark and the verb, as wires write it.
_NAME_THEN_SPEECH = re.compile(rf"^\s*[,.]?\s*{_NAME}\s+{_SPEECH_EN}\b")
# "…», a-t-il insisté" / "…," he said: the speaker is someone the text named before.
_PRONOUN_AFTER = re.compile(
    rf"^\s*[,.]?\s*(?:(?:a-t-(?:il|elle)|(?:il|elle)\s+a)\s+(?:\w+\s+)?{_SPEECH_FR}"
    rf"|(?:he|she)\s+{_SPEECH_EN})\b"
)
# Punctuation a quote loses when a sentence is cut at the quotation mark; . ! ? … stay.
_QUOTE_TAIL = re.compile(r"[\s,;:]+$")
_WORD_VALUES = {"un": 1, "une": 1, "one": 1, "a": 1, "an": 1, "deux": 2, "two": 2, "trois": 3,
                "three": 3, "quatre": 4, "four": 4, "cinq": 5, "five": 5, "six": 6, "sept": 7,
                "seven": 7, "huit": 8, "eight": 8, "neuf": 9, "nine": 9, "dix": 10, "ten": 10,
                "cent": 100, "half a": 0.5}  # fmt: skip
_SCALES = {"milliard": 10**9, "billion": 10**9, "bn": 10**9, "trillion": 10**12,
           "million": 10**6, "mn": 10**6, "m": 10**6}  # fmt: skip
_CURRENCIES = (("€", "EUR"), ("euro", "EUR"), ("$", "USD"), ("dollar", "USD"), ("£", "GBP"),
               ("livre", "GBP"), ("pound", "GBP"))  # fmt: skip
_KEY_RE = re.compile(
    rf"(?P<pre>[$€£])?\s?(?:(?P<num>{_NUMBER})|(?P<word>{_WORD_NUMBER})\b)\s?"
    rf"(?P<pct>%|pour\s?cent\b|per\s?cent\b|percent\b)?\s?"
    rf"(?:(?P<scale>{_SCALE})\b\s?)?(?P<post>€|\$|£|{_CURRENCY_WORDS})?",
    re.IGNORECASE,
)
_NOT_NAMES = {"Il", "Elle", "Ils", "Elles", "On", "Le", "La", "Les", "He", "She", "They",
              "It", "The", "We", "Nous", "Sur", "Pour", "Selon", "Mais", "Et"}  # fmt: skip


@dataclass(frozen=True)
class KeyFigure:
    text: str
    """The figure with a few words of what it counts, e.g. "5 % de leur PIB"."""
    sentence: str
    entry_id: str
    pinned: bool = False
    language: str = ""
    """The language of the entry it comes from."""
    theme_id: str = ""
    """The theme of the entry's section ("brief" for In brief; empty when unknown)."""


@dataclass(frozen=True)
class Quote:
    text: str
    """The words quoted, without the quotation marks."""
    speaker: str
    """Who said it, when the text names them; empty otherwise."""
    entry_id: str
    pinned: bool = False
    language: str = ""
    """The language of the entry it comes from."""
    theme_id: str = ""
    """The theme of the entry's section ("brief" for In brief; empty when unknown)."""

    @property
    def worth_the_week(self) -> bool:
        """Fit to be the quote of the week: pinned, or said by a named speaker in a themed
        entry (an "In brief" item about a local councillor is not the week's voice)."""
        return self.pinned or bool(self.speaker and self.theme_id != BRIEF_THEME_ID)


@dataclass(frozen=True)
class Highlights:
    key_figures: tuple[KeyFigure, ...]
    quotes: tuple[Quote, ...]
    language: str = ""
    """The reader's language, when the render knows it; it steers the quote of the week."""

    @property
    def quote(self) -> Quote | None:
        """Quote of the week: a pinned one, else the first named speaker's quote from a
        themed entry (`quotes` already holds only the reader's language); else none."""
        return next((q for q in self.quotes if q.pinned), None) or next(
            (q for q in self.quotes if q.worth_the_week), None
        )


def _sentences(text: str) -> list[str]:
    flat = " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())
    return re.split(r"(?<=[.!?])\s+(?=[«“\"A-ZÀ-Ý])", flat)


def _trim(figure: str) -> str:
    words = figure.split()
    while len(words) > 1 and (
        words[-1].casefold() in _TRAILING_WORDS or re.match(r"^[dl]['’]", words[-1].casefold())
    ):
        words.pop()
    return " ".join(words)


def find_figures(entry: Entry, theme_id: str = "") -> list[KeyFigure]:
    found = []
    for sentence in _sentences(entry.text):
        for match in _FIGURE_RE.finditer(sentence):
            text = _trim(match.group(0))
            found.append(KeyFigure(text, sentence, entry.id, False, entry.language, theme_id))
    return found


def _number(raw: str) -> Decimal:
    """ "3,5" and "3.5" are the same number; a group of exactly three digits after the
    separator is a thousands group ("1,000", "1.000"), as both languages write them,
    unless spaces already group the thousands ("1 500,250")."""
    spaced = re.sub(r"[ \u00a0\u202f]", "", raw)
    whole, _, part = spaced.replace(",", ".").partition(".")
    if len(part) == 3 and spaced == raw:
        return Decimal(whole + part)
    return Decimal(f"{whole}.{part}" if part else whole)


def figure_key(text: str, language: str = "") -> str:
    """What a figure counts, the same however it is written: "5% of GDP", "5 % du PIB"
    and "5 %" are all "5%"; "un milliard de dollars" and "$1 billion" are both
    "1000000000 USD". French "billion" is a million million, so the language matters.
    Text that holds no recognisable figure is its own key."""
    flat = " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").casefold().split())
    found = _FIGURE_RE.search(flat)
    match = _KEY_RE.match(flat, found.start()) if found else None
    if match is None or not (match["num"] or match["word"]):
        return flat
    word = " ".join((match["word"] or "").split())
    value = _number(match["num"]) if match["num"] else Decimal(str(_WORD_VALUES.get(word, 1)))
    if match["pct"]:
        return f"{format(value.normalize(), 'f')}%"
    unit = f"{match['pre'] or ''} {match['post'] or ''}"
    currency = next((code for sign, code in _CURRENCIES if sign in unit), "")
    if not currency:
        return flat
    scale = (match["scale"] or "").rstrip("s")
    factor = 10**12 if scale == "billion" and language == "fr" else _SCALES.get(scale, 1)
    return f"{format((value * factor).normalize(), 'f')} {currency}"


def _full_name(name: str, text: str) -> str:
    """ "Rutte" becomes "Mark Rutte" when the text names him so somewhere."""
    if " " in name:
        return name
    for match in re.finditer(rf"\b([A-Z][\w’'-]+)\s+{re.escape(name)}\b", text):
        if match.group(1) not in _NOT_NAMES and not match.group(1).isupper():
            return f"{match.group(1)} {name}"
    return name


def _last_speaker(text: str) -> str:
    names = [m["name"] for m in _SPEAKER_BEFORE.finditer(text) if m["name"] not in _NOT_NAMES]
    return names[-1] if names else ""


def _speakers(text: str) -> set[str]:
    """Names the text has speaking somewhere ("Rutte said", "…», a déclaré Rutte")."""
    found = {m["name"] for m in _SPEAKER_BEFORE.finditer(text)}
    for match in _QUOTE_RE.finditer(text):
        rest = text[match.end() :]
        after = _SPEAKER_AFTER.match(rest) or _NAME_THEN_SPEECH.match(rest)
        if after:
            found.add(after["name"])
    return found - _NOT_NAMES


def _last_named(text: str, speakers: set[str]) -> str:
    """The speaker the text mentions last: who "il"/"he" most likely is."""
    spots = [
        (m.start(), name) for name in speakers for m in re.finditer(rf"\b{re.escape(name)}\b", text)
    ]
    return max(spots)[1] if spots else ""


def find_quotes(entry: Entry, context: str = "", theme_id: str = "") -> list[Quote]:
    """Quotes of at least MIN_QUOTE_WORDS words; the speaker is the name attached to the
    quote ("…», a déclaré X", "X said"), else the last person the text has speaking, else
    for "…», a-t-il insisté" / "…," he said the last speaker of the issue the text names.
    The quote loses a trailing , ; : (the sentence went on after the marks)."""
    text = " ".join(entry.text.split())
    found = []
    for match in _QUOTE_RE.finditer(text):
        words = _QUOTE_TAIL.sub("", (match["a"] or match["b"] or match["c"] or "").strip())
        if len(words.split()) < MIN_QUOTE_WORDS:
            continue
        after = _SPEAKER_AFTER.match(text[match.end() :]) or _NAME_THEN_SPEECH.match(
            text[match.end() :]
        )
        speaker = after["name"] if after else _last_speaker(text[: match.start()])
        if not speaker and _PRONOUN_AFTER.match(text[match.end() :]):
            speaker = _last_named(text[: match.start()], _speakers(f"{context} {text}"))
        if speaker in _NOT_NAMES:
            speaker = ""
        if speaker:
            speaker = _full_name(speaker, f"{context} {text}")
        found.append(Quote(words, speaker, entry.id, False, entry.language, theme_id))
    return found


def _matches(text: str, wanted: str) -> bool:
    a, b = " ".join(text.casefold().split()), " ".join(wanted.casefold().strip('«»“”" ').split())
    return bool(b) and (b in a or a in b)


def _pinned(entry: Entry, pin: str, theme_id: str) -> KeyFigure | Quote:
    stripped = pin.strip()
    if stripped[:1] in {"«", "“", '"'}:
        words, _, speaker = stripped.partition(" — ")
        text = _QUOTE_TAIL.sub("", words.strip('«»“”" '))
        return Quote(text, speaker.strip(), entry.id, True, entry.language, theme_id)
    return KeyFigure(stripped, "", entry.id, True, entry.language, theme_id)


def highlights(issue: Issue, max_figures: int = MAX_FIGURES, language: str = "") -> Highlights:
    """Key figures and quotes of the issue, pinned first, dropped left out, each figure
    once; with a reader's `language`, only those of entries in it (and pinned ones)."""
    context = " ".join(e.text for e in issue.entries)
    figures: list[KeyFigure] = []
    quotes: list[Quote] = []
    pinned_figures: list[KeyFigure] = []
    pinned_quotes: list[Quote] = []
    for theme_id, entry in ((s.theme.id, e) for s in issue.sections for e in s.entries):
        kept_figures = [
            f for f in find_figures(entry, theme_id)
            if not any(_matches(f.text, d) for d in entry.drops)
        ]  # fmt: skip
        kept_quotes = [
            q for q in find_quotes(entry, context, theme_id)
            if not any(_matches(q.text, d) for d in entry.drops)
        ]  # fmt: skip
        for pin in entry.pins:
            figure = next((f for f in kept_figures if _matches(f.text, pin)), None)
            quote = next((q for q in kept_quotes if _matches(q.text, pin)), None)
            if figure is not None:
                kept_figures.remove(figure)
                pinned_figures.append(replace(figure, pinned=True))
            elif quote is not None:
                kept_quotes.remove(quote)
                pinned_quotes.append(replace(quote, pinned=True))
            else:
                made = _pinned(entry, pin, theme_id)
                if isinstance(made, Quote):
                    pinned_quotes.append(made)
                else:
                    pinned_figures.append(made)
        if language:
            kept_figures = [f for f in kept_figures if f.language == language]
            kept_quotes = [q for q in kept_quotes if q.language == language]
        figures += kept_figures
        quotes += kept_quotes
    unique = _one_per_figure([*pinned_figures, *figures], language)
    return Highlights(tuple(unique[:max_figures]), (*pinned_quotes, *quotes), language)


def _one_per_figure(figures: list[KeyFigure], language: str) -> list[KeyFigure]:
    """One figure per key, at the place of its first telling: the pinned one (they come
    first), else the first in the reader's language, else the first."""
    groups: dict[str, list[KeyFigure]] = {}
    for figure in figures:
        groups.setdefault(figure_key(figure.text, figure.language), []).append(figure)
    return [
        next((f for f in group if f.pinned or f.language == language), group[0])
        for group in groups.values()
    ]
