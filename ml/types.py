"""Plain records the library trains and scores on. The Django side converts rows to these.

Kept free of torch so that the web process can build them without importing the model stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Interaction kinds with a signed strength: positive kinds in rising strength, negative kinds below zero.
# One table for the database, the API and the models, so a kind means the same everywhere.
INTERACTION_STRENGTH: dict[str, int] = {
    "impression": 1,
    "click": 2,
    "apply": 3,
    "shortlist": 4,
    "interview": 5,
    "offer": 6,
    "hire": 7,
    "not_interested": -1,
    "withdraw": -2,
    "reject": -3,
}
POSITIVE_KINDS = tuple(k for k, v in INTERACTION_STRENGTH.items() if v > 0)
NEGATIVE_KINDS = tuple(k for k, v in INTERACTION_STRENGTH.items() if v < 0)

# Section kinds. A job's and a resume's sections pair up by kind for peer-level alignment.
JOB_SECTIONS = ("title", "skills", "description", "company", "location")
RESUME_SECTIONS = ("headline", "skills", "experience", "education", "summary")
# job section -> resume section matched at peer level
PEER_SECTIONS: dict[str, str] = {"title": "headline", "skills": "skills", "description": "experience"}


def _full_text(doc: JobDoc | ResumeDoc) -> str:
    """The non-empty sections joined, built once per document object: serving reads it for every ranking a
    document is in (tf-idf, section texts), and the same string object keeps its hash for the row caches."""
    text = doc.__dict__.get("_full_text")
    if text is None:
        text = "\n".join(v for v in doc.sections().values() if v)
        object.__setattr__(doc, "_full_text", text)  # not a field: equality, hashing and repr ignore it
    return text


@dataclass(frozen=True)
class JobDoc:
    id: str
    title: str
    description: str = ""
    skills: tuple[str, ...] = ()
    company: str = ""
    location: str = ""
    category: str = ""

    def sections(self) -> dict[str, str]:
        return {
            "title": self.title,
            "skills": ", ".join(self.skills),
            "description": self.description,
            "company": self.company,
            "location": self.location,
        }

    def full_text(self) -> str:
        return _full_text(self)


@dataclass(frozen=True)
class ResumeDoc:
    id: str
    headline: str = ""
    summary: str = ""
    skills: tuple[str, ...] = ()
    experience: tuple[str, ...] = ()  # one text per experience entry
    education: tuple[str, ...] = ()
    location: str = ""
    category: str = ""

    def sections(self) -> dict[str, str]:
        return {
            "headline": self.headline,
            "skills": ", ".join(self.skills),
            "experience": "\n".join(self.experience),
            "education": "\n".join(self.education),
            "summary": self.summary,
        }

    def full_text(self) -> str:
        return _full_text(self)


@dataclass(frozen=True)
class InteractionEvent:
    job_id: str
    resume_id: str
    kind: str
    timestamp: float  # seconds since the epoch

    @property
    def strength(self) -> int:
        return INTERACTION_STRENGTH[self.kind]


@dataclass
class MatchingData:
    """A snapshot the models train on: documents plus the interaction log."""

    jobs: list[JobDoc]
    resumes: list[ResumeDoc]
    interactions: list[InteractionEvent]
    meta: dict = field(default_factory=dict)
