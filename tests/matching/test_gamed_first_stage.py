"""Calibration reaches the first stage: with a trained version that has a calibration head, the resume vectors of
its retrieval space are the calibrated ones, and a stuffed resume of another occupation does not climb a job's
ranked candidates through the API when the first stage decides who is reranked (retrieve and rerank k small)."""

from __future__ import annotations

import numpy as np
import pytest

from matching import documents, embedding, selectors
from matching.models import DocumentVector
from ml.robust.attacks import job_ad_paste, keyword_stuffing
from recruiting.models import Candidate, Job, Resume

from .test_model_space import _train_and_promote, platform  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

K = 10
MAX_GAIN = 1  # positions a stuffed resume may gain over its honest original in the served top K


def _stored(space: str, pk: int) -> np.ndarray:
    row = DocumentVector.objects.get(space=space, resume_id=pk)
    return np.frombuffer(bytes(row.vector), dtype="<f4")


def _copy_resume(org, resume: Resume, doc) -> Resume:
    cand = Candidate.objects.create(organization=org, full_name="Copy", location=resume.candidate.location)
    return Resume.objects.create(
        candidate=cand,
        headline=doc.headline,
        summary=doc.summary,
        skills=list(doc.skills),
        experience=list(resume.experience),
        education=list(resume.education),
    )


def _rank(results: list[dict], pk: int) -> int:
    ids = [r["resume"] for r in results]
    return ids.index(pk) + 1 if pk in ids else K + 1


def test_the_first_stage_searches_calibrated_resume_vectors_and_stuffing_does_not_climb(platform, settings):  # noqa: F811
    version = _train_and_promote()
    model = selectors.load_model_cached(version)
    assert model.calibration is not None, "the trained version carries a calibration head"
    space = f"model:{version.version}"
    syn, jobs, resumes = platform["syn"], platform["jobs"], platform["resumes"]

    # stored resume vectors are the calibrated ones (the stored job vectors are the head-less job side)
    some = list(Resume.objects.exclude(pk=platform["blank"].pk).order_by("pk")[:5])
    docs = [documents.resume_doc(r) for r in some]
    calibrated = model.embed_resumes(docs)
    head = model.calibration
    model.set_calibration(None)
    try:
        plain = model.embed_resumes(docs)
    finally:
        model.set_calibration(head)
    stored = np.stack([_stored(space, r.pk) for r in some])
    np.testing.assert_allclose(stored, calibrated, atol=1e-5)
    assert float(np.abs(stored - plain).max()) > 1e-4, "the head changes the stored vectors"

    # a resume of another occupation, its original and a copy stuffed with the job's title, skills and ad
    settings.MATCH_RETRIEVE_K = settings.MATCH_RERANK_K = K
    target_i = 0
    job = jobs[syn.data.jobs[target_i].id]
    occ = syn.job_occ[target_i]
    other = next(i for i, o in enumerate(syn.resume_occ) if o != occ)
    honest = resumes[syn.data.resumes[other].id]
    jd = documents.job_doc(job)
    stuffed_doc = job_ad_paste(keyword_stuffing(documents.resume_doc(honest), jd, 3), jd)
    gamed = _copy_resume(platform["org"], honest, stuffed_doc)
    embedding.embed_documents("resume", [gamed.pk])  # encoder vector, sections, the active model's space
    assert DocumentVector.objects.filter(space=space, resume_id=gamed.pk).exists()

    # the attack is a strong one: in the raw encoder space it buys the stuffed copy a lot of similarity
    v = model.cache.encoder.encode(
        [jd.full_text(), documents.resume_doc(honest).full_text(), stuffed_doc.full_text()]
    )
    assert float(v[0] @ v[2]) > float(v[0] @ v[1]) + 0.2

    body = platform["client"].get(f"/api/jobs/{job.pk}/candidates/", {"k": K}).json()
    assert body["retrieval"]["space"] == space and body["model"] == f"v{version.version}"
    results = body["results"]
    gain = _rank(results, honest.pk) - _rank(results, gamed.pk)
    assert gain <= MAX_GAIN, ([r["resume"] for r in results], honest.pk, gamed.pk)
    if gamed.pk in {r["resume"] for r in results}:
        row = next(r for r in results if r["resume"] == gamed.pk)
        assert row["flagged"] is True
    assert Job.objects.filter(pk=job.pk).exists()
