"""What a resume file says, as the parser found it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ParsedResume:
    """What a resume file says, in the shape `services.resume_create` takes (see `resume_data`)."""

    full_text: str
    name: str = ""
    email: str = ""
    phone: str = ""
    headline: str = ""
    summary: str = ""
    skills: list[str] = field(default_factory=list)
    experience: list[dict[str, Any]] = field(default_factory=list)
    education: list[dict[str, Any]] = field(default_factory=list)
    # every section found, by canonical name ("summary", "skills", "certifications", ...), as raw text
    sections: dict[str, str] = field(default_factory=dict)
    file_format: str = ""

    def resume_data(self) -> dict[str, Any]:
        return {
            "headline": self.headline[:300],
            "summary": self.summary,
            "skills": list(self.skills),
            "experience": [dict(e) for e in self.experience],
            "education": [dict(e) for e in self.education],
            "full_text": self.full_text,
        }

    def candidate_data(self) -> dict[str, str]:
        return {"full_name": self.name[:200], "email": self.email}
