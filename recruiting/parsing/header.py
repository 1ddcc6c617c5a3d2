"""The block above the first heading: the name, contact details and the headline."""

from __future__ import annotations

import re

from recruiting.parsing.lines import TITLE_WORDS
from recruiting.parsing.parsed import ParsedResume

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(r"(?:\+?\d[\d ()./-]{7,}\d)")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b(?:linkedin|github)\.com/\S*", re.I)


def _is_contact(line: str) -> bool:
    if _EMAIL_RE.search(line) or _URL_RE.search(line):
        return True
    digits = sum(ch.isdigit() for ch in line)
    return bool(_PHONE_RE.search(line)) and digits >= 7 and digits >= len(line.replace(" ", "")) * 0.4


def _looks_like_name(text: str) -> bool:
    words = text.replace(",", " ").split()
    if not 2 <= len(words) <= 5 or any(ch.isdigit() for ch in text):
        return False
    if any(w.lower().strip(".") in TITLE_WORDS for w in words):
        return False
    return all(
        w[0].isupper() or w.lower() in {"de", "van", "von", "der", "da", "di", "la", "le"} for w in words
    )


_SEP_RE = re.compile(r"\s+[|•·–—-]\s+|\s*\|\s*|\t+|\s{3,}")


def parse_header(lines: list[str], parsed: ParsedResume) -> None:
    """Fill `parsed`'s contact details, name and headline from the lines above the first heading."""
    rest = _untagged_lines(lines, parsed)
    if not rest:
        return
    rest = _take_name(rest, parsed)
    if not parsed.headline:
        _take_headline(rest, parsed)


def _untagged_lines(lines: list[str], parsed: ParsedResume) -> list[str]:
    """Take the email, phone and labelled fields ('Name: ...'); the lines left say name and headline."""
    rest: list[str] = []
    for raw in lines:
        line = raw.strip().lstrip("#").strip().strip("*_").strip()
        if not line:
            continue
        _take_contact(line, parsed)
        if _is_contact(line) or _take_label(line, parsed):
            continue
        rest.append(line)
    return rest


def _take_contact(line: str, parsed: ParsedResume) -> None:
    email = _EMAIL_RE.search(line)
    if email and not parsed.email:
        parsed.email = email.group(0)
    if not parsed.phone:
        phone = _PHONE_RE.search(_EMAIL_RE.sub(" ", line))
        if phone and sum(ch.isdigit() for ch in phone.group(0)) >= 7:
            parsed.phone = phone.group(0).strip()


def _take_label(line: str, parsed: ParsedResume) -> bool:
    """'Name: Jane Doe', 'Headline: ...', 'Title: ...'; whether the line was one."""
    label = re.match(r"^(name|headline|title)\s*:\s*(.+)$", line, re.I)
    if not label:
        return False
    if label.group(1).lower() == "name":
        parsed.name = label.group(2).strip()
    else:
        parsed.headline = label.group(2).strip()
    return True


def _take_name(rest: list[str], parsed: ParsedResume) -> list[str]:
    """The name from the first line ('Jane Doe | Data Engineer' gives the headline too); the lines after it."""
    parts = [p.strip() for p in _SEP_RE.split(rest[0]) if p.strip()]
    if not parsed.name and parts and _looks_like_name(parts[0]):
        parsed.name = parts[0]
        if len(parts) > 1 and not parsed.headline:
            parsed.headline = parts[1]
        return rest[1:]
    if not parsed.name and len(rest) > 1 and not any(w in TITLE_WORDS for w in rest[0].lower().split()):
        parsed.name = rest[0]
        return rest[1:]
    return rest


def _take_headline(rest: list[str], parsed: ParsedResume) -> None:
    for line in rest:
        if _looks_like_location(line):
            continue
        parsed.headline = _SEP_RE.split(line)[0].strip() if len(line) > 120 else line
        break


def _looks_like_location(line: str) -> bool:
    # "Berlin, Germany", "Austin, TX 78701" — short comma-separated place names without title words
    words = line.lower().replace(",", " ").split()
    return (
        "," in line
        and len(line) < 50
        and not any(w in TITLE_WORDS for w in words)
        and all(w[:1].isupper() or w[:1].isdigit() for w in line.replace(",", " ").split())
    )
