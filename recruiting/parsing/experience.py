"""An experience section split into entries around date ranges: {title, company, location, start, end, description}."""

from __future__ import annotations

import re
from typing import Any

from recruiting.parsing.dates import find_date_range
from recruiting.parsing.lines import TITLE_WORDS, clip_entry, is_bullet, strip_bullet
from recruiting.validators import MAX_LIST_ITEMS

_COMPANY_HINTS = re.compile(
    r"\b(?:inc|llc|ltd|gmbh|ag|corp|corporation|company|co|group|plc|sa|bv|labs?|technologies|"
    r"systems|solutions|hospital|clinic|bank|university|consulting|partners|holdings|foods|stores?|"
    r"logistics|health|healthcare|medical|center|centre)\b\.?",
    re.I,
)
_LEGAL_SUFFIX_RE = re.compile(r"^(?:inc|llc|ltd|gmbh|ag|corp|plc|s\.?a|b\.?v|co)\b\.?", re.I)
_HEADER_SPLIT_RE = re.compile(r"\s*(?:\||•|·|\t|\s[–—-]\s|—|–|\s{3,}|\bat\b|@)\s*", re.I)


def _could_be_header(line: str) -> bool:
    return bool(line) and not is_bullet(line) and len(line) <= 120 and not line.rstrip().endswith((".", ";"))


def _title_score(text: str) -> int:
    return sum(w.strip(".,()") in TITLE_WORDS for w in text.lower().split())


def _header_fields(lines: list[str]) -> dict[str, str]:
    """title / company / location from an entry's header lines (dates already removed)."""
    parts: list[str] = []
    for line in lines:
        pieces = [p.strip(" ,;:()[]") for p in _HEADER_SPLIT_RE.split(line)]
        pieces = [p for p in pieces if p]
        if len(pieces) == 1 and "," in pieces[0]:
            # "Senior Engineer, Acme Corp, Berlin" — commas separate fields only without stronger separators
            comma = [p.strip() for p in pieces[0].split(",") if p.strip()]
            if len(lines) == 1 or len(parts) >= 1:
                pieces = comma
        parts.extend(pieces)
    fields: dict[str, str] = {}
    if not parts:
        return fields
    # the part with the most title words is the title; put it first
    if (
        len(parts) >= 2
        and _title_score(parts[1]) > _title_score(parts[0])
        and not _COMPANY_HINTS.search(parts[1])
    ):
        parts[0], parts[1] = parts[1], parts[0]
    elif (
        len(parts) >= 2
        and _COMPANY_HINTS.search(parts[0])
        and not _COMPANY_HINTS.search(parts[1])
        and _title_score(parts[0]) == 0
    ):
        parts[0], parts[1] = parts[1], parts[0]
    if len(parts) == 2 and "," in parts[1]:
        # "Engineer at Google, Mountain View, CA": the company, then its place
        company, _, place = parts[1].partition(",")
        if place.strip() and not _LEGAL_SUFFIX_RE.match(place.strip()):
            parts = [parts[0], company.strip(), place.strip()]
    fields["title"] = parts[0]
    if len(parts) >= 2:
        fields["company"] = parts[1]
    if len(parts) >= 3:
        fields["location"] = ", ".join(parts[2:])
    return fields


def parse_experience(lines: list[str]) -> list[dict[str, Any]]:
    """Entries around date ranges; without any date range, one entry per blank-line block."""
    lines = [line.strip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    anchors = [i for i, line in enumerate(lines) if _is_entry_anchor(line)]
    if not anchors:
        return _blocks_as_entries(lines)

    # Where each entry's header starts: the date line plus up to two header-looking lines right above it.
    starts: list[int] = []
    previous_anchor = -1
    for a in anchors:
        start = a
        while start - 1 > previous_anchor and a - (start - 1) <= 2 and _could_be_header(lines[start - 1]):
            if find_date_range(lines[start - 1]):
                break
            start -= 1
        starts.append(start)
        previous_anchor = a

    entries: list[dict[str, Any]] = []
    for n, (start, anchor) in enumerate(zip(starts, anchors, strict=True)):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        date_start, date_end, span = find_date_range(lines[anchor])  # type: ignore[misc]
        anchor_rest = (lines[anchor][: span[0]] + " " + lines[anchor][span[1] :]).strip(" ,|–—-()[]\t")
        anchor_rest = re.sub(r"\(\s*\)|\[\s*\]", "", anchor_rest).strip(" ,|–—-\t")
        header_lines = [line for line in lines[start:anchor] if line]
        if anchor_rest:
            header_lines.append(strip_bullet(anchor_rest))
        body_start = anchor + 1
        # "Jan 2019 – Present" alone, title and company on the lines below it
        if not header_lines:
            while body_start < end and len(header_lines) < 2 and _could_be_header(lines[body_start]):
                header_lines.append(lines[body_start])
                body_start += 1
        entry: dict[str, Any] = _header_fields(header_lines)
        entry["start"] = date_start
        entry["end"] = date_end
        description = _description(lines[body_start:end])
        if description:
            entry["description"] = description
        entries.append(clip_entry(entry))
    # text before the first dated entry that is not a header (rare): keep it as an undated entry
    lead = [line for line in lines[: starts[0]] if line]
    if lead:
        entries = _blocks_as_entries(lines[: starts[0]]) + entries
    return entries[:MAX_LIST_ITEMS]


def _is_entry_anchor(line: str) -> bool:
    """A header line with a date range at its start or end ('Engineer, Acme (2016-2018)'), not prose."""
    if not line or is_bullet(line) or line.endswith(".") or len(line) > 160:
        return False
    found = find_date_range(line)
    if not found:
        return False
    _, _, (a, b) = found
    before, after = line[:a].strip(" ([|,–—-\t"), line[b:].strip(" )]|,–—-\t")
    return not before or not after or (len(before) <= 100 and len(after) <= 60 and not after[:1].islower())


def _description(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        out.append(strip_bullet(line))
    return "\n".join(out)


def _blocks_as_entries(lines: list[str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if line:
            block.append(line)
            continue
        if block:
            head = block[0]
            if is_bullet(head):
                entry: dict[str, Any] = {"description": _description(block)}
            else:
                entry = _header_fields([head])
                rest = _description(block[1:])
                if rest:
                    entry["description"] = rest
            entries.append(clip_entry(entry))
            block = []
    return entries
