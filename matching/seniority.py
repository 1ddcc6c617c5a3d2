"""A resume's seniority level, inferred from its titles and years of experience (jobs state theirs)."""

from __future__ import annotations

import re
from datetime import date

_LEVEL_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "executive",
        ("cto", "ceo", "cfo", "coo", "cio", "vp", "vice president", "director", "head of", "chief"),
    ),
    ("lead", ("lead", "principal", "staff", "architect", "manager")),
    ("senior", ("senior", "sr")),
    ("intern", ("intern", "internship", "trainee", "apprentice")),
    ("junior", ("junior", "jr", "graduate", "entry level", "entry-level")),
)
_YEAR = re.compile(r"(19|20)\d{2}")


def _years(entry: dict) -> float:
    start = _YEAR.search(str(entry.get("start") or ""))
    if not start:
        return 0.0
    end_raw = str(entry.get("end") or "")
    end = _YEAR.search(end_raw)
    end_year = int(end.group(0)) if end else date.today().year
    return max(0.0, end_year - int(start.group(0)))


def infer_seniority(headline: str, experience: list | None) -> str:
    """A resume's level from its headline / latest title words, else from its years of experience."""
    titles = [headline or ""] + [
        str(e.get("title") or "") for e in (experience or [])[:1] if isinstance(e, dict)
    ]
    text = " " + re.sub(r"[^a-z ]+", " ", " ".join(titles).lower()) + " "
    for level, words in _LEVEL_WORDS:
        if any(f" {w} " in text for w in words):
            return level
    years = sum(_years(e) for e in experience or [] if isinstance(e, dict))
    if years >= 10:
        return "lead"
    if years >= 5:
        return "senior"
    if 0 < years < 2:
        return "junior"
    return "mid"
