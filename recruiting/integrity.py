"""The gamed-resume detector (``ml.robust.detector``) applied to a stored resume: its flags and their reasons,
kept on the resume (``Resume.integrity_flags``) and shown by the resume API and in ranked-candidate rows."""

from __future__ import annotations

from typing import Any

from ml.robust.detector import detect
from ml.types import ResumeDoc


def _entry_text(entry) -> str:
    if not isinstance(entry, dict):
        return str(entry or "")
    return " ".join(str(v) for v in entry.values() if isinstance(v, str | int | float) and str(v).strip())


def resume_integrity_flags(resume: Any) -> list[dict[str, str]]:
    """[{"kind", "reason"}] of what the detector finds in a ``Resume``'s sections and its full text (any object
    with the resume's fields: the migration passes its historical model)."""
    doc = ResumeDoc(
        id=str(resume.pk or ""),
        headline=resume.headline or "",
        summary=resume.summary or "",
        skills=tuple(str(s) for s in resume.skills or []),
        experience=tuple(t for t in (_entry_text(e) for e in resume.experience or []) if t),
        education=tuple(t for t in (_entry_text(e) for e in resume.education or []) if t),
    )
    return [f.to_dict() for f in detect(doc, raw_texts=[resume.full_text or ""])]
