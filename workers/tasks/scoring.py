"""Queue "scoring": batch scoring of (job, resume) pairs with the active model, off the request path."""

from __future__ import annotations

from celery import shared_task

from workers.tasks.common import TRANSIENT_ERRORS, backoff


@shared_task(bind=True, max_retries=5, acks_late=True)
def score_pairs(self, pairs: list[list[int]]) -> dict:
    """pairs: [[job_id, resume_id], ...] -> {"version": n | None, "scores": [...]} (zero-shot cosine when no
    version is active; null for a pair whose document is gone)."""
    try:
        return _score(pairs)
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc


def _score(pairs: list[list[int]]) -> dict:
    import numpy as np

    from matching.conversion import jobs_by_id, resumes_by_id
    from matching.embedding_services import current_encoder
    from matching.selectors import active_model

    jobs = jobs_by_id({int(j) for j, _ in pairs})
    resumes = resumes_by_id({int(r) for _, r in pairs})
    j_ids, r_ids = sorted(jobs), sorted(resumes)
    ji, ri = {j: i for i, j in enumerate(j_ids)}, {r: i for i, r in enumerate(r_ids)}
    ok = [(k, ji[int(j)], ri[int(r)]) for k, (j, r) in enumerate(pairs) if int(j) in ji and int(r) in ri]
    scores: list[float | None] = [None] * len(pairs)
    if not ok:
        return {"version": None, "scores": scores}
    idx = np.array([[a, b] for _, a, b in ok], dtype=np.int64)
    jd, rd = [jobs[j] for j in j_ids], [resumes[r] for r in r_ids]
    loaded = active_model()
    if loaded is None:
        enc = current_encoder()
        vj, vr = enc.encode([d.full_text() for d in jd]), enc.encode([d.full_text() for d in rd])
        values = (vj[idx[:, 0]] * vr[idx[:, 1]]).sum(1)
        version = None
    else:
        version, model = loaded
        values = model.score_pairs(jd, rd, idx).total
        version = version.version
    for (k, _, _), v in zip(ok, values, strict=True):
        scores[k] = float(v)
    return {"version": version, "scores": scores}
