"""A resume's text split into sections by its headings ("Summary", "Skills", ... and their synonyms)."""

from __future__ import annotations

import re

HEADINGS: dict[str, tuple[str, ...]] = {
    "summary": (
        "summary",
        "professional summary",
        "career summary",
        "executive summary",
        "profile",
        "professional profile",
        "personal profile",
        "career profile",
        "about",
        "about me",
        "objective",
        "career objective",
        "overview",
        "introduction",
    ),
    "skills": (
        "skills",
        "technical skills",
        "key skills",
        "core skills",
        "core competencies",
        "competencies",
        "areas of expertise",
        "expertise",
        "skills and abilities",
        "skills & abilities",
        "skills & expertise",
        "skills and expertise",
        "technologies",
        "tech stack",
        "tools",
        "tools and technologies",
        "tools & technologies",
        "qualifications",
        "key qualifications",
        "strengths",
    ),
    "experience": (
        "experience",
        "work experience",
        "professional experience",
        "relevant experience",
        "employment",
        "employment history",
        "work history",
        "career history",
        "professional history",
        "career",
        "positions held",
    ),
    "education": (
        "education",
        "education and training",
        "education & training",
        "academic background",
        "academic history",
        "qualifications and education",
        "academic qualifications",
        "studies",
    ),
    # recognised so that their text does not run into the sections above
    "certifications": (
        "certifications",
        "certificates",
        "licenses",
        "licenses and certifications",
        "licenses & certifications",
        "certifications and licenses",
    ),
    "projects": ("projects", "personal projects", "selected projects", "key projects"),
    "languages": ("languages", "language skills"),
    "awards": ("awards", "honors", "honours", "achievements", "awards and honors"),
    "publications": ("publications",),
    "volunteering": ("volunteering", "volunteer experience", "volunteer work"),
    "interests": ("interests", "hobbies", "hobbies and interests"),
    "references": ("references",),
    "contact": (
        "contact",
        "contact information",
        "contact details",
        "personal details",
        "personal information",
    ),
    "headline": ("headline", "title", "current title", "desired position", "position"),
}
_HEADING_LOOKUP = {alias: name for name, aliases in HEADINGS.items() for alias in aliases}


def _heading_key(text: str) -> str:
    key = text.strip().strip("#=*_~:|-–— \t").strip()
    key = re.sub(r"\s+", " ", key).lower()
    return key


def _match_heading(line: str) -> tuple[str, str] | None:
    """(section, rest of the line) when the line is a heading, e.g. 'SKILLS', '## Experience', 'Skills: a, b'."""
    stripped = line.strip()
    if not stripped or len(stripped) > 80:
        return None
    name = _HEADING_LOOKUP.get(_heading_key(stripped))
    if name:
        return name, ""
    # "Skills: Python, SQL" — a heading with its content on the same line
    m = re.match(r"^([A-Za-z &/]{3,40}?)\s*[:|]\s*(.+)$", stripped)
    if m:
        name = _HEADING_LOOKUP.get(_heading_key(m.group(1)))
        if name and name != "headline" or name == "headline" and m.group(1).strip().lower() == "headline":
            return name, m.group(2).strip()
    return None


_MAIN_SECTIONS = {"summary", "experience", "education"}


def split_sections(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """(lines above the first heading, {section: lines}). Repeated headings append to one section."""
    header: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] = header
    current_name = ""
    for line in text.split("\n"):
        match = _match_heading(line)
        if match and match[1] and current_name == "skills" and match[0] not in _MAIN_SECTIONS:
            match = None  # "Languages: Python, Go" inside a skills section is a skill group, not a heading
        if match:
            name, rest = match
            current_name = name
            current = sections.setdefault(name, [])
            if current and current[-1] != "":
                current.append("")
            if rest:
                current.append(rest)
            continue
        current.append(line.strip())
    return header, sections
