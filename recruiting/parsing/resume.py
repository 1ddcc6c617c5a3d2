"""A resume file, or its text, parsed into the structured sections."""

from __future__ import annotations

from recruiting.parsing.education import parse_education
from recruiting.parsing.experience import parse_experience
from recruiting.parsing.extraction import extract_text
from recruiting.parsing.header import parse_header
from recruiting.parsing.limits import DEFAULT_LIMITS, ParseLimits
from recruiting.parsing.lines import join_paragraphs, strip_bullet
from recruiting.parsing.parsed import ParsedResume
from recruiting.parsing.plain_text import clean_text
from recruiting.parsing.sections import split_sections
from recruiting.parsing.skills import parse_skills


def parse_resume(
    data: bytes, *, filename: str = "", content_type: str = "", limits: ParseLimits = DEFAULT_LIMITS
) -> ParsedResume:
    """Read and parse one resume file. Raises ParseError / UnsupportedFileType / LimitExceeded."""
    text, fmt = extract_text(data, filename, content_type, limits=limits)
    parsed = parse_text(text)
    parsed.file_format = fmt
    return parsed


def parse_text(text: str) -> ParsedResume:
    """Parse a resume's plain text into its sections."""
    text = clean_text(text)
    header, sections = split_sections(text)
    parsed = ParsedResume(full_text=text)
    parsed.sections = {name: "\n".join(lines).strip() for name, lines in sections.items()}

    parse_header(header + sections.get("contact", []), parsed)
    if sections.get("headline"):
        first = next((line for line in sections["headline"] if line), "")
        if first:
            parsed.headline = strip_bullet(first)
    parsed.summary = join_paragraphs(sections.get("summary", []))
    parsed.skills = parse_skills(sections.get("skills", []))
    parsed.experience = parse_experience(sections.get("experience", []))
    parsed.education = parse_education(sections.get("education", []))
    if not parsed.headline and parsed.experience:
        parsed.headline = str(parsed.experience[0].get("title") or "")
    parsed.headline = parsed.headline[:300]
    return parsed
