"""Two-stage retrieval, reasons, the match cache and index upkeep (hashing encoder: fast)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.core.files.storage import storages

from matching import cache, embedding, encoders, ranking, retrieval, selectors
from matching import index as mindex
from matching.index import Index, LoadedIndex
from matching.index.upkeep import connect_match_signals
from matching.models import DocumentVector, ModelVersion, VectorIndex
from matching.reasons import best_sections, normalise_skill, skill_reasons, skills_in_text
from matching.seniority import infer_seniority
from ml.embedding import EmbeddingCache, HashingEncoder
from ml.network import PairScores
from recruiting import services
from recruiting.models import Candidate


@pytest.fixture
def hashing(tmp_path, settings, monkeypatch):
    from ml.embedding import HashingEncoder

    enc = HashingEncoder()
    monkeypatch.setattr(encoders, "_encoder", enc)
    settings.STORAGES = {
        **settings.STORAGES,
        "models": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "models")},
        },
    }
    storages._storages.pop("models", None)
    mindex.loaded_indexes.clear()
    yield enc
    mindex.loaded_indexes.clear()
    storages._storages.pop("models", None)


def unit(n, dim=32, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# --------------------------------------------------------------------------------------- stage 1
def test_retrieve_widens_then_scans_the_pool_for_selective_filters(settings):
    settings.MATCH_RETRIEVE_K = 50
    settings.MATCH_MAX_FETCH = 200
    vecs = unit(3000)
    idx = Index.build(np.arange(3000), vecs, backend="exact")
    loaded = LoadedIndex("s", "resume", idx, 1, "a")
    q = vecs[0]
    exact = np.argsort(-(vecs @ q))
    far = {int(i) for i in exact[-5:]}  # the five least similar pass the filter
    calls = []

    def accept(ids):
        calls.append(len(ids))
        return {i for i in ids if i in far}

    got = retrieval.retrieve(loaded, q, 10, accept, lambda limit: sorted(far))
    assert [i for i, _ in got] == [int(i) for i in exact[-5:]]
    assert calls[0] == 50 and len(calls) >= 3  # 50, 200, then the pool scan

    # an unselective filter stops at the first round
    calls.clear()
    got = retrieval.retrieve(loaded, q, 10, lambda ids: set(ids), lambda limit: None)
    assert [i for i, _ in got] == [int(i) for i in exact[:10]] and len(got) == 10


# --------------------------------------------------------------------------------------- end to end
class FakeModel:
    """Scores resumes by the reverse of their id: stage 2 must follow it, whatever stage 1 said."""

    cache = EmbeddingCache(HashingEncoder())  # where serving puts the stored section vectors

    def rank_resumes(self, job, resumes, interactions=None):
        ids = np.array([int(r.id) for r in resumes], dtype=np.float32)
        total = 1.0 - ids / (ids.max() + 1)
        return PairScores(total, total * 0.9, np.full(len(ids), 0.5, np.float32))

    def section_similarities(self, job, resume):
        return {
            "title:headline": 0.2,
            "skills:skills": 0.9,
            "description:experience": 0.0,
            "whole:whole": 0.5,
        }

    def section_similarities_many(self, job, resumes):
        return [self.section_similarities(job, r) for r in resumes]


@pytest.fixture
def pool(db, hashing, make_org, make_recruiter, django_capture_on_commit_callbacks):
    org = make_org()
    recruiter = make_recruiter(org)
    job = services.job_create(
        organization=org,
        data={"title": "Python engineer", "description": "python django", "required_skills": ["python"]},
    )
    resumes = [
        services.resume_create(
            candidate=Candidate.objects.create(organization=org, location="Berlin"),
            data={"headline": f"python developer {i}", "skills": ["python"] if i % 2 else ["java"]},
        )
        for i in range(12)
    ]
    embedding.embed_documents("resume", [r.pk for r in resumes])
    return {"job": job, "resumes": resumes, "recruiter": recruiter}


@pytest.mark.django_db
def test_zero_shot_is_exact_cosine_and_model_reranks(pool):
    job, resumes, user = pool["job"], pool["resumes"], pool["recruiter"]
    zs = retrieval.rank_candidates(job, user=user, k=5)
    # no reranker: the first stage fetches for the k asked (not MATCH_RERANK_K) and its order is the answer
    assert zs.model_tag == "zero-shot" and zs.reranked == 5 and len(zs.items) == 5
    space = encoders.encoder_space()
    jv = np.frombuffer(bytes(DocumentVector.objects.get(job=job, space=space).vector), "<f4")
    exact = {
        r.pk: float(
            jv @ np.frombuffer(bytes(DocumentVector.objects.get(resume=r, space=space).vector), "<f4")
        )
        for r in resumes
    }
    assert [s.object_id for s in zs.items] == sorted(exact, key=lambda i: (-exact[i], i))[:5]
    for item in zs.items:
        rv = np.frombuffer(
            bytes(DocumentVector.objects.get(resume_id=item.object_id, space=space).vector), "<f4"
        )
        assert item.total == pytest.approx(max(0.0, float(jv @ rv)), abs=1e-5) and item.relation is None

    am = selectors.ActiveModel(ModelVersion(version=3), FakeModel())
    ranked = retrieval.rank_candidates(job, user=user, k=4, am=am)
    assert ranked.model_tag == "v3" and ranked.model_version == 3
    assert [s.object_id for s in ranked.items] == sorted(r.pk for r in resumes)[:4]
    assert all(s.relation == 0.5 for s in ranked.items)
    reasons = ranking.candidate_reasons(am, encoders.current_encoder(), job, ranked)
    first = reasons[ranked.items[0].object_id]
    assert first["best_sections"][0] == {
        "job_section": "skills",
        "resume_section": "skills",
        "similarity": 0.9,
    }
    assert all(s["job_section"] != "whole" and s["similarity"] != 0 for s in first["best_sections"])


@pytest.mark.django_db
def test_model_space_is_used_once_complete(pool):
    """Not while it is being written (even with most vectors indexed); at once when it is complete."""
    job, user = pool["job"], pool["recruiter"]
    version = ModelVersion(version=4)
    am = selectors.ActiveModel(version, FakeModel())
    espace = encoders.encoder_space()
    retrieval.rank_candidates(job, user=user, k=3)  # builds the encoder-space index
    VectorIndex.objects.create(space="model:4", kind="resume", size=12, artifact_name="x")
    assert retrieval._choose_space(am, espace) == espace
    version.space_ready = True
    assert retrieval._choose_space(am, espace) == "model:4"
    assert retrieval._choose_space(selectors.ActiveModel(), espace) == espace


@pytest.mark.django_db
def test_vectors_stored_by_the_worker_reach_the_index(pool, make_org, django_capture_on_commit_callbacks):
    connect_match_signals()
    job, user = pool["job"], pool["recruiter"]
    first = retrieval.rank_candidates(job, user=user, k=50)
    gen = first.generation
    org = pool["resumes"][0].candidate.organization
    new = services.resume_create(
        candidate=Candidate.objects.create(organization=org), data={"headline": "python django engineer"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        with __import__("django").db.transaction.atomic():
            embedding.embed_documents("resume", [new.pk])
    again = retrieval.rank_candidates(job, user=user, k=50)
    assert again.generation == gen + 1 and again.indexed == 13
    assert new.pk in [s.object_id for s in again.items]


# --------------------------------------------------------------------------------------- reasons
def test_skill_normalisation_and_synonyms():
    assert normalise_skill("  Postgres ") == "postgresql" == normalise_skill("PostgreSQL")
    assert normalise_skill("K8s") == "kubernetes" and normalise_skill("Node.js") == "nodejs"
    assert normalise_skill("C#") == "c#" and normalise_skill("C++") == "c++"
    r = skill_reasons(
        ["Python", "Postgres", "Go"], ["Docker"], ["python3", "postgresql"], "I deploy with docker"
    )
    assert r == {
        "matched_skills": ["Python", "Postgres", "Docker"],
        "missing_skills": ["Go"],
        "missing_nice_to_have": [],
    }
    assert skills_in_text("We use Golang, k8s and React.js") == ["go", "kubernetes", "react"]
    sims = {"title:headline": 0.3, "skills:skills": 0.8, "description:experience": 0.0, "whole:whole": 0.9}
    assert [s["job_section"] for s in best_sections(sims)] == ["skills", "title"]


def test_infer_seniority():
    assert infer_seniority("Senior Python engineer", []) == "senior"
    assert infer_seniority("Head of Engineering", []) == "executive"
    assert infer_seniority("Developer", [{"title": "Junior developer"}]) == "junior"
    assert infer_seniority("Developer", [{"start": "2010", "end": "2017"}]) == "senior"
    assert infer_seniority("Developer", []) == "mid"


# --------------------------------------------------------------------------------------- cache
def test_cache_keys_refs_and_invalidation(settings):
    settings.MATCH_CACHE_URL = settings.REDIS_URL
    cache.client.reset()
    k1 = cache.make_key("v1", "candidates", 5, "u1", {"k": 20})
    k2 = cache.make_key("v2", "candidates", 5, "u1", {"k": 20})
    assert k1 != k2 and k1 != cache.make_key("v1", "candidates", 5, "u1", {"k": 10})
    assert cache.put(k1, {"results": [1]}, [("job", 5), ("resume", 9)])
    assert cache.put(k2, {"results": [2]}, [("job", 5)])
    assert cache.get(k1) == {"results": [1]}
    assert cache.invalidate_document("resume", 9) == 1
    assert cache.get(k1) is None and cache.get(k2) is not None
    cache.put(k1, {"results": [1]}, [("job", 5)])
    assert cache.invalidate_all(keep_tag="v2") >= 1
    assert cache.get(k1) is None and cache.get(k2) is not None
    cache.invalidate_all()
    assert cache.get(k2) is None


def test_cache_with_redis_down_answers_none_fast(settings, caplog):
    settings.MATCH_CACHE_URL = "redis://127.0.0.1:6390/0"
    cache.client.reset()
    try:
        t = time.perf_counter()
        with caplog.at_level("WARNING", logger="matching.cache"):
            assert cache.get("tandem:match:x") is None
        assert time.perf_counter() - t < 2
        assert any("unavailable" in r.message for r in caplog.records)
        # the breaker: no second attempt (and no second timeout) for a few seconds
        errors = cache.client.errors
        assert cache.put("tandem:match:x", {}, []) is False and cache.invalidate_document("job", 1) == 0
        assert cache.client.errors == errors
    finally:
        cache.client.reset()
