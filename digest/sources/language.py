"""Which language a text is written in, when its source does not say.

py3langid (a maintained fork of langid.py) ships its model inside the package, so the
detection runs offline; this is the only module that imports it. The model (~4.5 MB) is
loaded on first use only, because most entries declare their language.

A declared language always wins over a detected one; detection is only asked when a
source says nothing, and answers None rather than guess on too little text.
"""

from __future__ import annotations

import functools
import re
from typing import Any

MIN_CHARS = 40
"""Below this many letters a detection is a coin toss (a title such as `Kosovo`)."""
MIN_CONFIDENCE = 0.8
_DECLARED = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*$")


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """The ISO 639-1 code of the text's language, or None when the text is too short or
    the model is less sure than `min_confidence` (a probability, 0 to 1)."""
    letters = sum(c.isalpha() for c in text)
    if letters < MIN_CHARS:
        return None
    code, confidence = _identifier().classify(text)
    return str(code) if float(confidence) >= min_confidence else None


def declared_language(value: object) -> str | None:
    """A declared language (`en-GB`, `fr_FR`, `DE`) as its primary code, or None."""
    if not isinstance(value, str):
        return None
    match = _DECLARED.match(value.strip())
    return match.group(1).lower() if match else None
