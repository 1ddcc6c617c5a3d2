"""A skills section split into items."""

from __future__ import annotations

import re

from recruiting.parsing.lines import strip_bullet
from recruiting.validators import MAX_LIST_ITEMS

_SKILL_SPLIT_RE = re.compile(r"\s*(?:[,;|•·▪◦●■►/]\s+|[,;|•·▪◦●■►]|\s+[-–—]\s+|\s{3,}|\t)\s*")


def parse_skills(lines: list[str]) -> list[str]:
    """Split a skills section into items: 'Python, SQL | Docker • AWS', one per line, 'Languages: Go, Rust'."""
    skills: list[str] = []
    seen: set[str] = set()
    for raw in lines:
        line = strip_bullet(raw)
        if not line:
            continue
        # "Programming languages: Python, Go" — the category label is not a skill
        label = re.match(r"^([A-Za-z][A-Za-z &/-]{1,40}):\s*(.+)$", line)
        if label:
            line = label.group(2)
        for item in _SKILL_SPLIT_RE.split(line):
            item = _strip_brackets(item.strip(" .\t-–—*"))
            if item.lower().startswith("and "):
                item = item[4:].strip()
            if not item or len(item) > 80 or len(item.split()) > 6:
                continue
            key = item.lower()
            if key not in seen:
                seen.add(key)
                skills.append(item)
    return skills[:MAX_LIST_ITEMS]


def _strip_brackets(item: str) -> str:
    """Drop brackets left unbalanced by a split: '(Python' -> 'Python', 'Excel (advanced)' stays."""
    for _ in range(2):
        if item.startswith(("(", "[")) and not item.endswith((")", "]")):
            item = item[1:].strip()
        if item.endswith((")", "]")) and item.count("(") + item.count("[") < item.count(")") + item.count(
            "]"
        ):
            item = item[:-1].strip()
    return item
