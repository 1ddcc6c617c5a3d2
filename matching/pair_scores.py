"""Scores of single pairs: one job against one resume with reasons (the match-score endpoint, stored
documents or raw text), and batches of stored pairs (the scoring worker)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matching import documents, selectors
from matching.embedding import ensure_document_vector
from matching.encoders import current_encoder, encoder_space
from matching.reasons import best_sections, resume_text_of, skill_reasons, skills_in_text, zero_shot_sections
from matching.retrieval import nan_to_none
from ml.types import JobDoc, ResumeDoc
from recruiting import selectors as rsel
from recruiting.models import Job, Resume


class NotVisible(Exception):
    """Stored documents the caller cannot see: `errors` maps the input field to its message."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class PairSide:
    doc: JobDoc | ResumeDoc
    obj: Job | Resume | None = None  # stored document, or None for raw text
    text: str = ""


def score_for_user(
    *,
    user,
    job_id: int | None = None,
    job_text: str = "",
    resume_id: int | None = None,
    resume_text: str = "",
) -> dict:
    """A stored job (one `user` sees) or raw job text against a stored resume or raw resume text.

    Raises NotVisible naming each stored document the user cannot see."""
    errors: dict[str, list[str]] = {}
    job_side = resume_side = None
    if job_id is not None:
        job = rsel.jobs_visible_to(user).select_related("organization").filter(pk=job_id).first()
        if job is None:
            errors["job"] = ["No such job."]
        else:
            job_side = PairSide(documents.job_doc(job), job)
    else:
        job_side = PairSide(raw_job_doc(job_text), None, job_text)
    if resume_id is not None:
        resume = rsel.resumes_visible_to(user).select_related("candidate").filter(pk=resume_id).first()
        if resume is None:
            errors["resume"] = ["No such resume."]
        else:
            resume_side = PairSide(documents.resume_doc(resume), resume)
    else:
        resume_side = PairSide(raw_resume_doc(resume_text), None, resume_text)
    if errors:
        raise NotVisible(errors)
    return {**score_pair(job_side, resume_side), "job": job_id, "resume": resume_id}


def raw_job_doc(text: str) -> JobDoc:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    title = lines[0][:300] if lines else ""
    return JobDoc(
        id="raw-job", title=title, description="\n".join(lines[1:]), skills=tuple(skills_in_text(text))
    )


def raw_resume_doc(text: str) -> ResumeDoc:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return ResumeDoc(
        id="raw-resume",
        headline=lines[0][:300] if lines else "",
        summary="\n".join(lines[1:]),
        skills=tuple(skills_in_text(text)),
    )


def score_pair(job: PairSide, resume: PairSide, *, am: selectors.ActiveModel | None = None) -> dict:
    """One job against one resume: scores and reasons, in the same shape as one ranked item."""
    am = am or selectors.active_model()
    encoder = current_encoder()
    space = encoder_space(encoder)
    if am.model is not None:
        ps = am.model.score_pairs([job.doc], [resume.doc], np.array([[0, 0]]))
        total, text, relation = float(ps.total[0]), nan_to_none(ps.text[0]), nan_to_none(ps.relation[0])
        sims = am.model.section_similarities(job.doc, resume.doc)
    else:
        vj = _side_vector(job, "job", space, encoder)
        vr = _side_vector(resume, "resume", space, encoder)
        cos = float(vj @ vr)
        total, text, relation = max(0.0, cos), max(0.0, cos), None
        sims = zero_shot_sections(encoder, job.doc, [resume.doc])[0]
    if job.obj is not None:
        required, nice = job.obj.required_skills, job.obj.nice_to_have_skills
    else:
        required, nice = list(job.doc.skills), []
    resume_text = resume.text or resume_text_of(resume.doc)
    return {
        "model": am.tag,
        "model_version": am.number,
        "encoder": encoder.version,
        "score": {
            "total": round(total, 6),
            "text": None if text is None else round(text, 6),
            "relation": relation,
        },
        **skill_reasons(required, nice, resume.doc.skills, resume_text),
        "best_sections": best_sections(sims),
        "notes": list(am.notes),
    }


def _side_vector(side: PairSide, kind: str, space: str, encoder) -> np.ndarray:
    if side.obj is not None:
        return ensure_document_vector(kind, side.obj, side.doc, space=space, encoder=encoder)[0]
    return encoder.encode([side.text or side.doc.full_text()])[0]


def score_stored_pairs(pairs: list[list[int]]) -> dict:
    """[[job_id, resume_id], ...] -> {"version": n | None, "scores": [...]}: the active model's total, or
    zero-shot cosine when no version is active; null for a pair whose document is gone."""
    jobs = documents.jobs_by_id({int(j) for j, _ in pairs})
    resumes = documents.resumes_by_id({int(r) for _, r in pairs})
    j_ids, r_ids = sorted(jobs), sorted(resumes)
    ji, ri = {j: i for i, j in enumerate(j_ids)}, {r: i for i, r in enumerate(r_ids)}
    ok = [(k, ji[int(j)], ri[int(r)]) for k, (j, r) in enumerate(pairs) if int(j) in ji and int(r) in ri]
    scores: list[float | None] = [None] * len(pairs)
    if not ok:
        return {"version": None, "scores": scores}
    idx = np.array([[a, b] for _, a, b in ok], dtype=np.int64)
    jd, rd = [jobs[j] for j in j_ids], [resumes[r] for r in r_ids]
    version = selectors.active_model_version()
    if version is None:
        enc = current_encoder()
        vj, vr = enc.encode([d.full_text() for d in jd]), enc.encode([d.full_text() for d in rd])
        values = (vj[idx[:, 0]] * vr[idx[:, 1]]).sum(1)
    else:
        values = selectors.load_model_cached(version).score_pairs(jd, rd, idx).total
    for (k, _, _), v in zip(ok, values, strict=True):
        scores[k] = float(v)
    return {"version": version.version if version is not None else None, "scores": scores}
