"""Gamed resumes in a ranking: each ranked-candidate row carries the resume's stored flags plus what only this
job shows (the resume copies the job's title and skills, or its ad), and a pair flagged against the job is
scored without the copied part, so copying never raises a candidate.

Every resume is embedded sanitised (``matching.documents`` -> ``ml.robust.detector.sanitize``): hidden
characters, instructions, repeated text and job-ad sentences never reach a vector. What ``sanitize`` cannot
know without the job is handled here, per row of the job's ranking.

Calibration in the first stage: a trained version's own retrieval space (``model:<v>``) holds each resume's
vector from ``embed_resumes``, which reads the section embeddings through the version's calibration head, so its
index is built from calibrated resume vectors and searched with the job's vector (the job side has no head): build
and query agree. In a compatible update (#12) each part holds its own version's vectors and the query projection is
fitted on the active version's calibrated ones. Zero-shot (no trained version), and a promoted version before its
space is written, search the encoder space, which stays the clean MiniLM vectors: every version and #12's
fallback read it, and a head belongs to one trained version (fitted against its network's PGD examples, stored in
its artifact); a head for the bare encoder would be an artifact without a version. There the defence is the
sanitised text and this guard (tests/matching/test_gamed_resumes.py runs zero-shot; test_gamed_first_stage.py
with a calibrated version and a first stage that decides who is reranked).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matching.retrieval import Ranking, Scored
from matching.selectors import ActiveModel
from ml.robust.detector import detect_for_job, sanitize_for_job
from ml.types import JobDoc, ResumeDoc


def _scores(am: ActiveModel, encoder, job: JobDoc, docs: Sequence[ResumeDoc]) -> np.ndarray:
    """Total scores of the resumes for the job (the active model, else the encoder's cosine)."""
    if am.model is not None:
        return np.asarray(am.model.rank_resumes(job, list(docs)).total, dtype=np.float64)
    vecs = encoder.encode([job.full_text(), *(d.full_text() for d in docs)])
    return np.maximum(0.0, vecs[1:] @ vecs[0]).astype(np.float64)


def guard_candidates(
    am: ActiveModel, encoder, job: JobDoc, ranking: Ranking, docs: dict[int, ResumeDoc], k: int | None = None
) -> dict[int, list[dict[str, str]]]:
    """resume id -> this job's flags of the resume (rows without any are left out). A flagged row's total
    loses what the copied part added (its score with and without it, side by side in one call), the rows are
    re-sorted and cut to ``k``. The ranking may hold spare rows past ``k`` (``spare_rows``): they are read only
    when a top-``k`` row is flagged, so a candidate a copier pushed out of the top ``k`` (or out of the first
    stage's cut) comes back when the copier drops."""
    k = len(ranking.items) if k is None else k
    flagged: dict[int, list[dict[str, str]]] = {}
    for n, s in enumerate(ranking.items):
        if n >= k and not flagged:
            break
        doc = docs.get(s.object_id)
        if doc is not None and (flags := detect_for_job(doc, job)):
            flagged[s.object_id] = [f.to_dict() for f in flags]
    if not flagged:
        ranking.items = ranking.items[:k]
        return {}
    ids = list(flagged)
    pairs = [docs[i] for i in ids] + [sanitize_for_job(docs[i], job) for i in ids]
    sc = _scores(am, encoder, job, pairs)
    gain = dict(zip(ids, np.maximum(0.0, sc[: len(ids)] - sc[len(ids) :]).tolist(), strict=True))
    items: list[Scored] = []
    for s in ranking.items:
        if s.object_id in gain:
            s.total = max(0.0, s.total - gain[s.object_id])
        items.append(s)
    items.sort(key=lambda x: (-x.total, -x.similarity, x.object_id))
    ranking.items = items[:k]
    kept = {s.object_id for s in ranking.items}
    return {i: f for i, f in flagged.items() if i in kept}


def spare_rows(k: int) -> int:
    """Rows ranked past ``k`` for the guard to fall back on (a few: their detection runs only when needed)."""
    return min(k, 20)
