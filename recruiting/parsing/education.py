"""An education section split into {degree, institution, year} entries."""

from __future__ import annotations

import re
from typing import Any

from recruiting.parsing.dates import RANGE_RE, YEAR_RE
from recruiting.parsing.lines import clip_entry, strip_bullet
from recruiting.validators import MAX_LIST_ITEMS

_DEGREE_RE = re.compile(
    r"\b(?:b\.?\s?sc?|b\.?\s?a|b\.?\s?eng|beng|bsn|b\.?\s?s|m\.?\s?sc?|m\.?\s?a|m\.?\s?eng|meng|m\.?\s?s|msn|mba|"
    r"ph\.?\s?d|dphil|md|jd|llb|llm|bachelor'?s?|master'?s?|doctor(?:ate)?|associate(?:'s)?\s+degree|"
    r"associate of|diploma|certificate|certification|a-levels?|abitur|high school|ged|degree|"
    r"licen[cs]e|rn|lpn|cpa|acca|cfa)\b\.?",
    re.I,
)
_INSTITUTION_RE = re.compile(
    r"\b(?:university|universität|universidad|université|college|institute|institut|school|academy|"
    r"polytechnic|hochschule|conservatory|seminary|tu|eth|epfl|mit|ucla|nyu)\b",
    re.I,
)


_EDUCATION_SPLIT_RE = re.compile(r"\s*(?:\||•|·|\t|\s[–—-]\s|—|–|\s{3,})\s*")


def parse_education(lines: list[str]) -> list[dict[str, Any]]:
    """Entries from an education section; a second degree or institution line starts a new entry."""
    entries: list[dict[str, Any]] = []
    current: dict[str, Any] = {}

    def flush() -> None:
        nonlocal current
        if current:
            entries.append(clip_entry(current))
        current = {}

    for raw in lines:
        line = strip_bullet(raw.strip())
        if not line:
            flush()
            continue
        years = YEAR_RE.findall(line)
        text = RANGE_RE.sub(" ", line)
        text = YEAR_RE.sub(" ", text)
        pieces = [p.strip(" ,;:()[]–—-") for p in _EDUCATION_SPLIT_RE.split(text)]
        pieces = [p for p in pieces if p]
        if (
            len(pieces) == 1
            and "," in pieces[0]
            and (_DEGREE_RE.search(pieces[0]) and _INSTITUTION_RE.search(pieces[0]))
        ):
            pieces = [p.strip() for p in pieces[0].split(",") if p.strip()]
        has_degree = any(_DEGREE_RE.search(p) for p in pieces)
        has_institution = any(_INSTITUTION_RE.search(p) for p in pieces)
        # a second degree or institution line starts a new entry
        if current and (
            (has_degree and "degree" in current)
            or (has_institution and "institution" in current and "degree" in current and not has_degree)
        ):
            flush()
        for piece in pieces:
            if "degree" not in current and _DEGREE_RE.search(piece):
                current["degree"] = piece
            elif "institution" not in current and _INSTITUTION_RE.search(piece):
                current["institution"] = piece
            elif "degree" not in current and "institution" in current:
                current["degree"] = piece
            elif "institution" not in current and "degree" in current:
                current["institution"] = piece
            elif "degree" not in current:
                current["degree"] = piece
            else:
                current["description"] = (current.get("description", "") + " " + piece).strip()
        if years:
            current["year"] = int(years[-1])
    flush()
    return entries[:MAX_LIST_ITEMS]
