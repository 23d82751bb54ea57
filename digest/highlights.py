"""The week's highlights: key figures ("5 % de leur PIB", "un milliard de dollars par
mois") and quotes with their speaker, for a "key figures" block and a "quote of the week".

Found by patterns over the entries' plain text, in issue order; editors steer them in
front matter with `highlights: {pin: [...], drop: [...]}`: a pinned text goes first (and
is added if the patterns missed it), a dropped one never shows. Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from digest.models import Entry, Issue

MAX_FIGURES = 4
MIN_QUOTE_WORDS = 4

_NUMBER = r"\d+(?:[.,]\d+)?"
_WORD_NUMBER = (
    r"(?:un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|cent|one|two|three|four|five"
    r"|six|seven|eight|nine|ten|a|an|half a)"
)
_SCALE = r"(?:milliards?|millions?|billions?|trillions?|bn|mn|m)"
_CURRENCY_WORDS = r"(?:d['’]euros|de dollars|d['’]dollars|de livres|euros?|dollars?|pounds?)"
_CONNECTOR = r"(?:de|du|des|d['’]|par|aux?|of|per|a|in|for)"
_TAIL_WORD = r"[^\s,.;:!?«»“”\"()]+"
_FIGURE_RE = re.compile(
    rf"(?<![\w.,])(?:"
    rf"{_NUMBER}\s?(?:%|pour\s?cent\b|per\s?cent\b|percent\b)"
    rf"|(?:{_NUMBER}|{_WORD_NUMBER})\s+{_SCALE}\s+{_CURRENCY_WORDS}"
    rf"|[$€£]\s?{_NUMBER}(?:\s?(?:{_SCALE}|billion|million)\b)?"
    rf"|{_NUMBER}\s?(?:{_SCALE}\s?)?(?:€|\$|£)"
    rf")"
    rf"(?:\s+{_CONNECTOR}\s*{_TAIL_WORD}(?:\s+{_TAIL_WORD}){{0,1}})?",
    re.IGNORECASE,
)
_TRAILING_WORDS = {"à", "a", "de", "du", "des", "la", "le", "les", "et", "en", "to", "the",
                   "of", "and", "pour", "sur", "that", "que"}  # fmt: skip
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
_NOT_NAMES = {"Il", "Elle", "Ils", "Elles", "On", "Le", "La", "Les", "He", "She", "They",
              "It", "The", "We", "Nous", "Sur", "Pour", "Selon", "Mais", "Et"}  # fmt: skip


@dataclass(frozen=True)
class KeyFigure:
    text: str
    """The figure with a few words of what it counts, e.g. "5 % de leur PIB"."""
    sentence: str
    entry_id: str
    pinned: bool = False


@dataclass(frozen=True)
class Quote:
    text: str
    """The words quoted, without the quotation marks."""
    speaker: str
    """Who said it, when the text names them; empty otherwise."""
    entry_id: str
    pinned: bool = False


@dataclass(frozen=True)
class Highlights:
    key_figures: tuple[KeyFigure, ...]
    quotes: tuple[Quote, ...]

    @property
    def quote(self) -> Quote | None:
        """Quote of the week: a pinned one, else the first with a named speaker, else the
        first."""
        return next(
            (q for q in self.quotes if q.pinned),
            next((q for q in self.quotes if q.speaker), self.quotes[0] if self.quotes else None),
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


def find_figures(entry: Entry) -> list[KeyFigure]:
    found = []
    for sentence in _sentences(entry.text):
        for match in _FIGURE_RE.finditer(sentence):
            found.append(KeyFigure(_trim(match.group(0)), sentence, entry.id))
    return found


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


def find_quotes(entry: Entry, context: str = "") -> list[Quote]:
    """Quotes of at least MIN_QUOTE_WORDS words; the speaker is the name attached to the
    quote ("…», a déclaré X", "X said") or else the last person the text has speaking."""
    text = " ".join(entry.text.split())
    found = []
    for match in _QUOTE_RE.finditer(text):
        words = (match["a"] or match["b"] or match["c"] or "").strip()
        if len(words.split()) < MIN_QUOTE_WORDS:
            continue
        after = _SPEAKER_AFTER.match(text[match.end() :])
        speaker = after["name"] if after else _last_speaker(text[: match.start()])
        if speaker in _NOT_NAMES:
            speaker = ""
        if speaker:
            speaker = _full_name(speaker, f"{context} {text}")
        found.append(Quote(words, speaker, entry.id))
    return found


def _matches(text: str, wanted: str) -> bool:
    a, b = " ".join(text.casefold().split()), " ".join(wanted.casefold().strip('«»“”" ').split())
    return bool(b) and (b in a or a in b)


def _pinned(entry: Entry, pin: str) -> KeyFigure | Quote:
    stripped = pin.strip()
    if stripped[:1] in {"«", "“", '"'}:
        words, _, speaker = stripped.partition(" — ")
        return Quote(words.strip('«»“”" '), speaker.strip(), entry.id, pinned=True)
    return KeyFigure(stripped, "", entry.id, pinned=True)


def highlights(issue: Issue, max_figures: int = MAX_FIGURES) -> Highlights:
    """Key figures and quotes of the issue, pinned first, dropped left out, no repeats."""
    context = " ".join(e.text for e in issue.entries)
    figures: list[KeyFigure] = []
    quotes: list[Quote] = []
    pinned_figures: list[KeyFigure] = []
    pinned_quotes: list[Quote] = []
    for entry in issue.entries:
        kept_figures = [
            f for f in find_figures(entry) if not any(_matches(f.text, d) for d in entry.drops)
        ]
        kept_quotes = [
            q for q in find_quotes(entry, context)
            if not any(_matches(q.text, d) for d in entry.drops)
        ]  # fmt: skip
        for pin in entry.pins:
            figure = next((f for f in kept_figures if _matches(f.text, pin)), None)
            quote = next((q for q in kept_quotes if _matches(q.text, pin)), None)
            if figure is not None:
                kept_figures.remove(figure)
                pinned_figures.append(KeyFigure(figure.text, figure.sentence, entry.id, True))
            elif quote is not None:
                kept_quotes.remove(quote)
                pinned_quotes.append(Quote(quote.text, quote.speaker, entry.id, True))
            else:
                made = _pinned(entry, pin)
                if isinstance(made, Quote):
                    pinned_quotes.append(made)
                else:
                    pinned_figures.append(made)
        figures += kept_figures
        quotes += kept_quotes
    unique: dict[str, KeyFigure] = {}
    for figure in [*pinned_figures, *figures]:
        unique.setdefault(" ".join(figure.text.casefold().split()), figure)
    return Highlights(tuple(list(unique.values())[:max_figures]), (*pinned_quotes, *quotes))
