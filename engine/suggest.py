"""'Did you mean' suggestions for names users mistype."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate ``word`` most likely meant (fuzzy match, then case-insensitive), or None.

    Non-string candidates are ignored; ``cutoff`` is difflib's similarity ratio (0 to 1).
    """
    options = [c for c in candidates if isinstance(c, str)]
    matches = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    if matches:
        return matches[0]
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    return None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or an empty string."""
    match = closest(word, candidates)
    return f" (did you mean '{match}'?)" if match else ""


def and_then(message: str, sentence: str) -> str:
    """``message`` followed by a further sentence (what to do next), punctuated once."""
    return f"{message if message.endswith(('.', '?', '!')) else message + '.'} {sentence}"
