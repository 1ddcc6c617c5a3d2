"""Line-level helpers shared by the section parsers: bullets, paragraphs, entry clipping, title words."""

from __future__ import annotations

import re
from typing import Any

from recruiting.validators import MAX_ITEM_CHARS

_BULLET_CHARS = "•·▪◦●○■□►▸‣⁃*–—-"
BULLET_RE = re.compile(rf"^\s*[{re.escape(_BULLET_CHARS)}]\s+|^\s*[•·▪◦●○■□►▸‣⁃]\s*")


def strip_bullet(line: str) -> str:
    """The line without its leading bullet ('• Python' -> 'Python')."""
    return BULLET_RE.sub("", line, count=1).strip()


def join_paragraphs(lines: list[str]) -> str:
    """Lines joined into paragraphs (blank lines separate them), bullets dropped."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if not line.strip():
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(strip_bullet(line))
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


def is_bullet(line: str) -> bool:
    return bool(BULLET_RE.match(line))


def clip_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An experience or education entry without empty values, its strings cut to what the model takes."""
    return {
        k: v[:MAX_ITEM_CHARS] if isinstance(v, str) else v for k, v in entry.items() if v not in ("", None)
    }


# Words that mark a job title: a line with them is a headline or a position, not a person's name.
TITLE_WORDS = frozenset(
    """
    engineer developer manager analyst scientist nurse designer consultant director lead head
    architect administrator specialist coordinator assistant associate intern officer accountant
    technician supervisor representative cashier clerk driver operator programmer researcher teacher
    advisor adviser executive president vp cto ceo cfo founder co-founder owner senior junior
    principal staff controller auditor planner buyer merchandiser worker handler dispatcher
    therapist practitioner pharmacist physician marketer strategist writer editor recruiter sales
    support agent instructor tutor trainee apprentice rn lpn
    """.split()
)
