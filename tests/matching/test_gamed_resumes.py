"""A gamed resume end to end: the detector's flag and reason on the resume (API) and in the job's ranked-candidates
row, and the gamed text does not lift the candidate above the same resume without it."""

from __future__ import annotations

import numpy as np
import pytest

from matching import cache, embedding, encoders, retrieval
from ml.robust.attacks import injected_instructions, job_ad_paste, keyword_stuffing
from recruiting.models import Resume

from .test_match_apis import OTHER_RESUMES, _resume, minilm, serving, world  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def _stuffed_nurse_fields(job) -> dict:
    """The nurse of OTHER_RESUMES with the job's title and skills stuffed in three times, the job's ad pasted and
    an instruction to the screener: the attacks of ml/robust/attacks.py, written into resume fields."""
    from matching import documents

    jd, nurse = documents.job_doc(job), OTHER_RESUMES[0]
    doc = documents.ResumeDoc(id="x", headline=nurse["headline"], summary=nurse["summary"])
    doc = injected_instructions(job_ad_paste(keyword_stuffing(doc, jd, 3), jd), jd)
    return {
        **nurse,
        "summary": doc.summary,
        "skills": list(doc.skills) + nurse["skills"],
        "headline": doc.headline,
    }


def test_stuffed_resume_is_flagged_with_reasons_and_not_lifted(world, django_capture_on_commit_callbacks):  # noqa: F811
    job, org, recruiter = world["job"], world["org"], world["recruiter"]
    honest = next(r for r in world["pool"] if r.headline == OTHER_RESUMES[0]["headline"])
    with django_capture_on_commit_callbacks(execute=False):
        gamed = _resume(org, {**_stuffed_nurse_fields(job), "headline": "Registered nurse "})
    embedding.embed_documents("resume", [gamed.pk])

    body = recruiter.get(f"/api/resumes/{gamed.pk}/").json()
    assert body["flagged"] is True
    kinds = {f["kind"] for f in body["integrity_flags"]}
    assert {"injected_instructions", "keyword_stuffing"} <= kinds, body["integrity_flags"]
    assert all(f["reason"] for f in body["integrity_flags"])
    clean = recruiter.get(f"/api/resumes/{honest.pk}/").json()
    assert clean["flagged"] is False and clean["integrity_flags"] == []

    rows = recruiter.get(f"/api/jobs/{job.pk}/candidates/?k=10").json()["results"]
    row = {r["resume"]: r for r in rows}
    assert row[gamed.pk]["flagged"] is True and row[honest.pk]["flagged"] is False
    reasons = " ".join(f["reason"] for f in row[gamed.pk]["integrity_flags"])
    assert "this job's title and skills" in reasons and "instructions" in reasons
    assert "pasted_job_text" in {
        f["kind"] for f in row[gamed.pk]["integrity_flags"]
    }  # only this job shows it
    # Without the defence the gamed text buys a lot of similarity (so the check below could fail) ...
    enc = encoders.current_encoder()
    raw = Resume.objects.get(pk=gamed.pk)
    v = enc.encode([f"{job.title}\n{job.description}", raw.summary, honest.summary])
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.15
    # ... with it the gamed nurse scores like the honest nurse and below both Python developers.
    assert row[gamed.pk]["score"]["total"] <= row[honest.pk]["score"]["total"] + 0.05
    python_devs = [r.pk for r in world["pool"][:2]]
    assert all(row[gamed.pk]["score"]["total"] < row[p]["score"]["total"] for p in python_devs)
    assert np.isfinite(row[gamed.pk]["score"]["total"])


def test_a_copier_does_not_push_an_honest_candidate_out_of_a_short_list(
    world,  # noqa: F811
    settings,
    django_capture_on_commit_callbacks,
):
    """Zero-shot, the first stage cutting at 3: the stuffed nurse's copied text buys her the first stage's top 3
    (the guard then takes her gain away); the list still ends with whom it ends without her."""
    job, org, recruiter = world["job"], world["org"], world["recruiter"]
    settings.MATCH_RETRIEVE_K = settings.MATCH_RERANK_K = 3
    honest_top = [r["resume"] for r in recruiter.get(f"/api/jobs/{job.pk}/candidates/?k=3").json()["results"]]
    from matching import documents

    nurse = OTHER_RESUMES[0]
    stuffed = keyword_stuffing(
        documents.ResumeDoc(id="x", summary=nurse["summary"]), documents.job_doc(job), 1
    )
    with django_capture_on_commit_callbacks(execute=False):
        gamed = _resume(
            org, {**nurse, "summary": stuffed.summary, "skills": [*nurse["skills"], *stuffed.skills]}
        )
    with django_capture_on_commit_callbacks(execute=True):  # the vector reaches the built index
        embedding.embed_documents("resume", [gamed.pk])
    # the first stage and rerank alone, without the guard: the copier takes a place in the top 3
    ids = [s.object_id for s in retrieval.rank_candidates(job, user=world["recruiter_user"], k=3).items]
    assert gamed.pk in ids
    cache.invalidate_all()  # (the new resume's invalidation ran in the captured on-commit callbacks)
    body = recruiter.get(f"/api/jobs/{job.pk}/candidates/?k=3").json()
    assert body["cached"] is False
    assert [r["resume"] for r in body["results"]] == honest_top
