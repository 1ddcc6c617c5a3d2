"""Dates and date ranges in resume lines ("Jan 2019 – Present", "2016-2018", "03/2017 to 06/2019")."""

from __future__ import annotations

import re

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?:19[5-9]\d|20\d\d)"
_DATE = (
    rf"(?:{_MONTH},?\s+{_YEAR}|(?:0?[1-9]|1[0-2])[/.]{_YEAR}|{_YEAR}[-/.](?:0?[1-9]|1[0-2])(?!\d)|"
    rf"(?:spring|summer|fall|autumn|winter)\s+{_YEAR}|{_YEAR})"
)
_OPEN_END = r"(?:present|current|currently|now|today|ongoing|date)"
RANGE_RE = re.compile(
    rf"(?<![\w/.])(?P<start>{_DATE})\s*(?:-|–|—|to|until|till|through|thru|~)\s*(?P<end>{_DATE}|{_OPEN_END})(?![\w/])",
    re.I,
)
_SINCE_RE = re.compile(rf"\b(?:since|from)\s+(?P<start>{_DATE})\b", re.I)
YEAR_RE = re.compile(rf"(?<!\d){_YEAR}(?!\d)")


def find_date_range(line: str) -> tuple[str, str, tuple[int, int]] | None:
    """(start, end, span) of the first date range in a line; end is '' when open ('Present')."""
    m = RANGE_RE.search(line)
    if m:
        end = m.group("end")
        if re.fullmatch(_OPEN_END, end, re.I):
            end = "Present"
        return _tidy_date(m.group("start")), _tidy_date(end), m.span()
    m = _SINCE_RE.search(line)
    if m:
        return _tidy_date(m.group("start")), "Present", m.span()
    return None


def _tidy_date(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip().rstrip(",."))
    return text[:1].upper() + text[1:]
