"""The relation graph's vocabulary: node types, the directed relations, and the keyword nodes a document
attaches to (a message flows from the column node to the row node of an edge)."""

from __future__ import annotations

from ..types import JobDoc, ResumeDoc

NODE_TYPES = ("job", "resume", "skill", "category", "location")
JOB, RESUME, SKILL, CATEGORY, LOCATION = range(5)

RELATIONS = (
    "job<-skill", "skill<-job", "resume<-skill", "skill<-resume",
    "job<-category", "category<-job", "resume<-category", "category<-resume",
    "job<-location", "location<-job", "resume<-location", "location<-resume",
    "job<-resume+", "resume<-job+", "job<-resume-", "resume<-job-",
    "job<-job~", "resume<-resume~", "job<-resume~", "resume<-job~",
)  # fmt: skip
REL = {name: i for i, name in enumerate(RELATIONS)}
INTERACTION_RELATIONS = [REL[k] for k in ("job<-resume+", "resume<-job+", "job<-resume-", "resume<-job-")]
N_REL = len(RELATIONS)


def norm_key(s: str) -> str:
    """Lower-case, single-spaced: one keyword node per spelling variant."""
    return " ".join(s.lower().strip().split())


def doc_keys(doc: JobDoc | ResumeDoc) -> dict[str, list[str]]:
    """Keyword nodes a document attaches to: skills, category, location (normalised, de-duplicated)."""
    return {
        "skill": sorted({norm_key(s) for s in doc.skills if norm_key(s)}),
        "category": [norm_key(doc.category)] if norm_key(doc.category) else [],
        "location": [norm_key(doc.location)] if norm_key(doc.location) else [],
    }
