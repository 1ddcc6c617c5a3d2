"""The match endpoints end to end: PostgreSQL, Redis, the real MiniLM encoder, the index, the cache."""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.core.files.storage import storages

from matching import cache, embedding, encoders
from matching import index as mindex
from matching.index.upkeep import connect_match_signals
from matching.models import DocumentVector, ModelVersion, VectorIndex
from recruiting import services
from recruiting.models import Candidate, Interaction

pytestmark = pytest.mark.django_db

BACKEND_RESUMES = [
    dict(
        headline="Senior Python backend engineer",
        summary="Builds Django REST APIs on PostgreSQL; eight years of Python.",
        skills=["Python", "Django", "Postgres", "Docker"],
        experience=[
            {"title": "Senior Backend Engineer", "company": "Acme", "description": "Django services"}
        ],
        location="Berlin, Germany",
    ),
    dict(
        headline="Python developer",
        summary="Backend work in Flask and Django.",
        skills=["python", "flask", "django"],
        experience=[{"title": "Developer", "company": "Beta", "description": "Flask APIs"}],
        location="Munich, Germany",
    ),
]
OTHER_RESUMES = [
    dict(
        headline="Registered nurse",
        summary="Intensive care nursing, patient care and triage.",
        skills=["nursing", "patient care"],
        experience=[{"title": "Nurse", "company": "City Hospital", "description": "ICU shifts"}],
        location="Berlin, Germany",
    ),
    dict(
        headline="Chartered accountant",
        summary="Audits, tax returns and bookkeeping for small firms.",
        skills=["accounting", "excel", "tax"],
        experience=[{"title": "Accountant", "company": "Numbers LLP", "description": "audits"}],
        location="Hamburg, Germany",
    ),
    dict(
        headline="Junior frontend developer",
        summary="React and TypeScript single-page apps.",
        skills=["react", "typescript", "css"],
        experience=[{"title": "Junior Developer", "company": "Web Co", "description": "React UIs"}],
        location="Berlin, Germany",
    ),
]


class _MemoEncoder:
    """Real MiniLM, loaded once per session, with texts memoised across tests (they repeat)."""

    def __init__(self, encoder):
        self.encoder, self.version, self.dim = encoder, encoder.version, encoder.dim
        self._memo: dict[str, np.ndarray] = {}

    def encode(self, texts, **kwargs):
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            self._memo.update(zip(missing, self.encoder.encode(missing, **kwargs), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts]).astype(np.float32)


@pytest.fixture(scope="session")
def minilm():
    from ml.embedding import get_encoder

    return _MemoEncoder(get_encoder())


@pytest.fixture(autouse=True)
def serving(tmp_path, settings, minilm, monkeypatch):
    """Private artifact storage, MiniLM, a fresh registry and an empty match cache for every test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "models": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "models")},
        },
    }
    settings.EMBEDDING_ENCODER = "minilm"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # users are made per test
    monkeypatch.setattr(encoders, "_encoder", minilm)
    settings.MATCH_CACHE_URL = settings.REDIS_URL
    storages._storages.pop("models", None)
    from matching import selectors

    selectors.clear_model_cache()
    mindex.loaded_indexes.clear()
    cache.client.reset()
    cache.invalidate_all()
    connect_match_signals()
    yield
    cache.invalidate_all()
    cache.client.reset()
    mindex.loaded_indexes.clear()
    selectors.clear_model_cache()
    storages._storages.pop("models", None)


def _resume(org, fields, user=None):
    fields = dict(fields)
    location = fields.pop("location")
    candidate = Candidate.objects.create(
        organization=org, user=user, full_name=fields["headline"], location=location
    )
    return services.resume_create(candidate=candidate, data=fields)


@pytest.fixture
def world(make_org, make_recruiter, make_user, client_for, django_capture_on_commit_callbacks):
    org, other_org = make_org("Acme"), make_org("Globex")
    recruiter, other_recruiter = make_recruiter(org), make_recruiter(other_org)
    seeker = make_user()
    with django_capture_on_commit_callbacks(execute=False):
        job = services.job_create(
            organization=org,
            data={
                "title": "Backend Engineer (Python)",
                "description": "Build Python services with Django and PostgreSQL. Kubernetes is a plus.",
                "required_skills": ["python", "django", "postgresql"],
                "nice_to_have_skills": ["kubernetes", "docker"],
                "location": "Berlin, Germany",
                "seniority": "senior",
            },
        )
        nurse_job = services.job_create(
            organization=other_org,
            data={
                "title": "ICU nurse",
                "description": "Intensive care nursing.",
                "required_skills": ["nursing"],
                "location": "Hamburg",
                "seniority": "mid",
            },
        )
        closed_job = services.job_create(
            organization=other_org,
            data={"title": "Python engineer (filled)", "required_skills": ["python"], "status": "closed"},
        )
        pool = [_resume(org, f) for f in BACKEND_RESUMES + OTHER_RESUMES]
        own = _resume(
            None,
            {**BACKEND_RESUMES[1], "headline": "Python developer looking for work", "location": "Hamburg"},
            user=seeker,
        )
    # The embedding worker's job, done here synchronously (resume vectors; jobs are embedded on the fly).
    embedding.embed_documents("resume", [r.pk for r in pool + [own]])
    return {
        "org": org,
        "job": job,
        "nurse_job": nurse_job,
        "closed_job": closed_job,
        "pool": pool,
        "own": own,
        "recruiter": client_for(recruiter),
        "other_recruiter": client_for(other_recruiter),
        "seeker": client_for(seeker),
        "recruiter_user": recruiter,
    }


def _ids(body, field="resume"):
    return [r[field] for r in body["results"]]


# --------------------------------------------------------------------------------------- candidates
def test_recruiter_gets_ranked_candidates_with_reasons(world):
    job, pool = world["job"], world["pool"]
    assert not DocumentVector.objects.filter(job=job).exists()
    resp = world["recruiter"].get(f"/api/jobs/{job.pk}/candidates/?k=5")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["model"] == "zero-shot" and body["model_version"] is None
    assert body["job"] == job.pk and body["cached"] is False and body["k"] == 5
    assert body["retrieval"]["embedded_query"] is True  # the job had no vector: embedded on the fly, stored
    assert DocumentVector.objects.filter(job=job, space=encoders.encoder_space()).exists()
    ids = _ids(body)
    assert set(ids) == {r.pk for r in pool}  # the seeker's own resume is outside the org's pool
    assert set(ids[:2]) == {pool[0].pk, pool[1].pk}  # the two Python developers first
    totals = [r["score"]["total"] for r in body["results"]]
    assert totals == sorted(totals, reverse=True)
    top = body["results"][0]
    assert top["rank"] == 1 and top["score"]["relation"] is None and 0 < top["score"]["text"] <= 1
    first = next(r for r in body["results"] if r["resume"] == pool[0].pk)
    assert first["matched_skills"][:3] == ["python", "django", "postgresql"]  # "Postgres" folded
    assert first["missing_skills"] == [] and "kubernetes" in first["missing_nice_to_have"]
    second = next(r for r in body["results"] if r["resume"] == pool[1].pk)
    assert second["missing_skills"] == ["postgresql"]
    assert first["best_sections"] and {"job_section", "resume_section", "similarity"} <= set(
        first["best_sections"][0]
    )
    assert first["seniority"] == "senior" and first["location"] == "Berlin, Germany"

    again = world["recruiter"].get(f"/api/jobs/{job.pk}/candidates/?k=5").json()
    assert again["cached"] is True and _ids(again) == ids


def test_candidates_are_404_outside_the_jobs_organization(world, client):
    job = world["job"]
    assert world["other_recruiter"].get(f"/api/jobs/{job.pk}/candidates/").status_code == 404
    assert (
        world["seeker"].get(f"/api/jobs/{job.pk}/candidates/").status_code == 404
    )  # sees the job, not its pool
    assert world["recruiter"].get("/api/jobs/999999999/candidates/").status_code == 404
    assert client.get(f"/api/jobs/{job.pk}/candidates/").status_code in (401, 403)


def test_filters_and_bad_parameters(world):
    job, pool, c = world["job"], world["pool"], world["recruiter"]
    berlin = c.get(f"/api/jobs/{job.pk}/candidates/?location=berlin").json()
    assert set(_ids(berlin)) == {pool[0].pk, pool[2].pk, pool[4].pk}
    onsite = c.get(f"/api/jobs/{job.pk}/candidates/?remote=false").json()  # the job's city: Berlin
    assert set(_ids(onsite)) == set(_ids(berlin))
    senior = c.get(f"/api/jobs/{job.pk}/candidates/?seniority=senior,lead").json()
    assert _ids(senior) == [pool[0].pk]
    junior = c.get(f"/api/jobs/{job.pk}/candidates/?seniority=junior").json()
    assert _ids(junior) == [pool[4].pk]
    for query, field in [
        ("k=0", "k"),
        ("k=abc", "k"),
        ("exclude=fired", "exclude"),
        ("seniority=guru", "seniority"),
    ]:
        for _ in range(2):  # parsed queries are cached: a bad one is refused every time
            resp = c.get(f"/api/jobs/{job.pk}/candidates/?{query}")
            assert resp.status_code == 400 and field in resp.json(), (query, resp.content)
    # the same parameters in another order are the same query
    assert _ids(c.get(f"/api/jobs/{job.pk}/candidates/?seniority=junior&k=5").json()) == _ids(junior)


def test_reject_then_exclude_rejected(world, django_capture_on_commit_callbacks):
    job, pool, c = world["job"], world["pool"], world["recruiter"]
    first = c.get(f"/api/jobs/{job.pk}/candidates/?exclude=rejected,hired").json()
    assert pool[0].pk in _ids(first)
    # feedback is an interaction through the existing endpoint
    with django_capture_on_commit_callbacks(execute=True):
        resp = c.post(
            "/api/interactions/", {"job": job.pk, "resume": pool[0].pk, "kind": "reject"}, format="json"
        )
    assert resp.status_code == 201, resp.content
    after = c.get(f"/api/jobs/{job.pk}/candidates/?exclude=rejected,hired").json()
    assert after["cached"] is False  # the interaction dropped the cached ranking
    assert pool[0].pk not in _ids(after)
    # without the exclusion the candidate is still ranked
    assert pool[0].pk in _ids(c.get(f"/api/jobs/{job.pk}/candidates/").json())
    with django_capture_on_commit_callbacks(execute=True):
        services.interaction_record(job=job, resume=pool[1], kind=Interaction.Kind.HIRE)
    hired = c.get(f"/api/jobs/{job.pk}/candidates/?exclude=hired").json()
    assert pool[1].pk not in _ids(hired) and pool[0].pk in _ids(hired)


def test_erased_resume_is_gone_at_once(world, django_capture_on_commit_callbacks):
    job, pool, c = world["job"], world["pool"], world["recruiter"]
    before = c.get(f"/api/jobs/{job.pk}/candidates/").json()
    assert pool[0].pk in _ids(before)
    gen = VectorIndex.objects.get(kind="resume").generation
    with django_capture_on_commit_callbacks(execute=True):
        services.resume_erase(resume=pool[0])
    assert VectorIndex.objects.get(kind="resume").generation == gen + 1  # a removal delta was published
    after = c.get(f"/api/jobs/{job.pk}/candidates/").json()
    assert after["cached"] is False and pool[0].pk not in _ids(after)
    assert pool[0].pk not in mindex.loaded_indexes.get(after["retrieval"]["space"], "resume").index


def test_erased_resume_never_served_from_a_stale_cache_entry(world):
    """Even if the erasure's invalidation never reached Redis, a cached ranking naming a deleted
    resume is not served."""
    job, pool, c = world["job"], world["pool"], world["recruiter"]
    c.get(f"/api/jobs/{job.pk}/candidates/")
    pool[1].delete()  # no signal: nothing invalidated
    after = c.get(f"/api/jobs/{job.pk}/candidates/").json()
    assert after["cached"] is False and pool[1].pk not in _ids(after)


def test_reject_recorded_while_redis_missed_the_invalidation_is_not_served_stale(world, monkeypatch):
    """The invalidation never reached Redis (it was down for that moment): the newest interaction is part of
    the cache key, so the old ranking is not served for its remaining TTL."""
    job, pool, c = world["job"], world["pool"], world["recruiter"]
    first = c.get(f"/api/jobs/{job.pk}/candidates/?exclude=rejected").json()
    assert pool[0].pk in _ids(first)
    assert c.get(f"/api/jobs/{job.pk}/candidates/?exclude=rejected").json()["cached"] is True
    monkeypatch.setattr(cache, "invalidate_document", lambda *args, **kwargs: None)
    services.interaction_record(job=job, resume=pool[0], kind=Interaction.Kind.REJECT)
    after = c.get(f"/api/jobs/{job.pk}/candidates/?exclude=rejected").json()
    assert after["cached"] is False and pool[0].pk not in _ids(after)


def test_activation_whose_invalidation_redis_missed_is_not_served_stale(world, monkeypatch):
    """The cached answer names the version that ranked it: after an activation that never reached Redis the
    old zero-shot answer is not served."""
    from matching.models import ModelVersion

    job, c = world["job"], world["recruiter"]
    url = f"/api/jobs/{job.pk}/candidates/"
    assert c.get(url).json()["model"] == "zero-shot"
    assert c.get(url).json()["cached"] is True
    version = _train_and_register(world)
    monkeypatch.setattr(cache, "invalidate_all", lambda *args, **kwargs: 0)
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.ACTIVE)
    body = c.get(url).json()
    assert body["model"] == f"v{version.version}" and body["cached"] is False
    assert c.get(url).json()["cached"] is True


def test_a_cached_answer_costs_one_query_beyond_authentication(world, django_assert_num_queries):
    """Visibility, the active version, the newest interaction and the results' existence in one probe."""
    job, c = world["job"], world["recruiter"]
    url = f"/api/jobs/{job.pk}/candidates/"
    c.get(url)
    with django_assert_num_queries(2):  # the token, the probe
        assert c.get(url).json()["cached"] is True
    assert world["other_recruiter"].get(url).status_code == 404  # the probe is the visibility check
    assert (
        world["other_recruiter"].get(url + "?k=0").status_code == 404
    )  # a bad query does not reveal the job
    assert c.get(url + "?k=0").status_code == 400


def test_a_hit_sends_the_bytes_the_miss_stored(world, monkeypatch):
    """The hit is the miss's response byte for byte but for `cached`, with the same content type and headers, and
    nothing renders it again (the JSON renderer is broken for the hit)."""
    import json

    from rest_framework.renderers import JSONRenderer

    job, c = world["job"], world["recruiter"]
    url = f"/api/jobs/{job.pk}/candidates/?k=5"
    miss = c.get(url)
    assert miss.status_code == 200 and miss.json()["cached"] is False

    def no_rendering(*args, **kwargs):
        raise AssertionError("a hit was rendered again")

    monkeypatch.setattr(JSONRenderer, "render", no_rendering)
    hit = c.get(url)
    monkeypatch.undo()
    assert hit.status_code == 200
    assert hit.content == miss.content.replace(b'"cached":false', b'"cached":true', 1)
    assert hit["Content-Type"] == miss["Content-Type"] == "application/json"
    same = {h for h in miss.headers if h.lower() != "content-length"}
    assert {h: miss[h] for h in same} == {h: hit[h] for h in same} and set(hit.headers) == set(miss.headers)
    assert JSONRenderer().render(json.loads(hit.content)) == hit.content  # what rendering again would give


def test_a_hit_for_another_format_is_rendered_as_usual(world):
    """Only plain JSON is sent as stored: the browsable API and indented JSON render the cached body."""
    job, c = world["job"], world["recruiter"]
    url = f"/api/jobs/{job.pk}/candidates/?k=5"
    compact = c.get(url).json()
    html = c.get(url, HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert b"&quot;cached&quot;: true" in html.content
    indented = c.get(url, HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200 and b'\n  "job": ' in indented.content
    assert indented.json() == {**compact, "cached": True}


def test_platform_wide_counts_for_staff_only_cached_or_not(world):
    """The stored answer is shaped for its user: a recruiter made staff since gets the counts at once."""
    job, c, user = world["job"], world["recruiter"], world["recruiter_user"]
    url = f"/api/jobs/{job.pk}/candidates/"
    for cached in (False, True):
        body = c.get(url).json()
        assert body["cached"] is cached and body["retrieval"]["indexed"] is None
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    body = c.get(url).json()
    assert body["cached"] is False and body["retrieval"]["indexed"] > 0
    assert c.get(url).json() == {**body, "cached": True}


def test_answers_uncached_when_redis_is_down(world, settings, caplog):
    settings.MATCH_CACHE_URL = "redis://127.0.0.1:6390/0"  # nothing listens there
    cache.client.reset()
    job, c = world["job"], world["recruiter"]
    with caplog.at_level("WARNING", logger="matching.cache"):
        t = time.perf_counter()
        first = c.get(f"/api/jobs/{job.pk}/candidates/")
        second = c.get(f"/api/jobs/{job.pk}/candidates/")
        elapsed = time.perf_counter() - t
    assert first.status_code == 200 and second.status_code == 200
    assert first.json()["cached"] is False and second.json()["cached"] is False
    assert _ids(first.json()) == _ids(second.json())
    assert any("match cache unavailable" in r.message for r in caplog.records)
    assert elapsed < 10


# --------------------------------------------------------------------------------------- jobs
def test_candidate_gets_ranked_open_jobs(world, make_user, client_for):
    own = world["own"]
    embedding.embed_documents("job", [world[j].pk for j in ("job", "nurse_job", "closed_job")])
    resp = world["seeker"].get(f"/api/resumes/{own.pk}/jobs/?k=10")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    ids = _ids(body, "job")
    assert world["closed_job"].pk not in ids
    assert ids[0] == world["job"].pk and world["nurse_job"].pk in ids
    top = body["results"][0]
    assert top["title"].startswith("Backend Engineer") and top["organization"] == "Acme"
    assert "python" in top["matched_skills"] and "postgresql" in top["missing_skills"]
    assert body["model"] == "zero-shot" and body["resume"] == own.pk
    # filters on the job side
    assert _ids(world["seeker"].get(f"/api/resumes/{own.pk}/jobs/?seniority=mid").json(), "job") == [
        world["nurse_job"].pk
    ]
    # the recruiter who sees a resume gets their organization's open jobs for it
    rec = world["recruiter"].get(f"/api/resumes/{world['pool'][0].pk}/jobs/").json()
    assert _ids(rec, "job") == [world["job"].pk]
    # someone else's resume is not found
    assert world["seeker"].get(f"/api/resumes/{world['pool'][0].pk}/jobs/").status_code == 404
    assert client_for(make_user()).get(f"/api/resumes/{own.pk}/jobs/").status_code == 404


# --------------------------------------------------------------------------------------- pair score
def test_score_stored_pair_and_raw_text(world):
    c, job, pool = world["recruiter"], world["job"], world["pool"]
    good = c.post("/api/match/score", {"job": job.pk, "resume": pool[0].pk}, format="json")
    bad = c.post("/api/match/score", {"job": job.pk, "resume": pool[2].pk}, format="json")
    assert good.status_code == 200, good.content
    g, b = good.json(), bad.json()
    assert g["model"] == "zero-shot" and g["score"]["total"] > b["score"]["total"]
    assert g["matched_skills"][:3] == ["python", "django", "postgresql"] and g["best_sections"]
    raw = c.post(
        "/api/match/score",
        {
            "job_text": "Data engineer\nWe need Python, Spark and Postgres experience.",
            "resume_text": "Python developer\nBuilt Spark pipelines; some SQL.",
        },
        format="json",
    )
    assert raw.status_code == 200, raw.content
    r = raw.json()
    assert set(r["matched_skills"]) == {"python", "spark"} and r["missing_skills"] == ["postgresql"]
    assert r["job"] is None and 0 < r["score"]["total"] <= 1


@pytest.mark.parametrize(
    "payload,field",
    [
        ({}, "job"),
        ({"job_text": "x"}, "resume"),
        ({"job": 1, "job_text": "x", "resume_text": "y"}, "job"),
        ({"job": "abc", "resume_text": "y"}, "job"),
        ({"job": 999999999, "resume_text": "y"}, "job"),
        ({"job_text": "x", "resume": 999999999}, "resume"),
    ],
)
def test_score_bad_input_names_the_field(make_org, make_recruiter, client_for, payload, field):
    resp = client_for(make_recruiter(make_org())).post("/api/match/score", payload, format="json")
    assert resp.status_code == 400 and field in resp.json(), resp.content


# --------------------------------------------------------------------------------------- activation
def _train_and_register(world) -> ModelVersion:
    """A tiny real co-teaching model over this test's documents, stored as a candidate version."""
    from matching.documents import interaction_event, iter_job_docs, iter_resume_docs
    from matching.training.artifacts import write_artifact
    from ml.artifacts import save_model_to_bytes
    from ml.embedding import EmbeddingCache
    from ml.network import TrainConfig, train
    from ml.types import MatchingData

    job, nurse_job, pool = world["job"], world["nurse_job"], world["pool"]
    for resume, kind in [(pool[0], "hire"), (pool[1], "shortlist"), (pool[2], "reject"), (pool[3], "reject")]:
        services.interaction_record(job=job, resume=resume, kind=kind)
    for resume, kind in [(pool[2], "hire"), (pool[0], "reject"), (pool[4], "reject")]:
        services.interaction_record(job=nurse_job, resume=resume, kind=kind)
    data = MatchingData(
        list(iter_job_docs()),
        list(iter_resume_docs()),
        [interaction_event(i) for i in Interaction.objects.all()],
    )
    encoder = encoders.current_encoder()
    model = train(
        data,
        TrainConfig(epochs=2, batch_size=16, hidden=16, knn=2, warmup_epochs=1, n_folds=2),
        cache=EmbeddingCache(encoder),
    )
    blob = save_model_to_bytes(model)
    name, sha = write_artifact(blob, "models/test-match-v7.tmm", temp_prefix="test")
    return ModelVersion.objects.create(
        version=7,
        status="candidate",
        artifact_name=name,
        artifact_sha256=sha,
        encoder_version=encoder.version,
    )


def test_activation_switches_the_model_and_invalidates_the_cache(world, django_capture_on_commit_callbacks):
    from matching.training import activation

    job, c = world["job"], world["recruiter"]
    url = f"/api/jobs/{job.pk}/candidates/"
    assert c.get(url).json()["model"] == "zero-shot"
    assert c.get(url).json()["cached"] is True
    old_keys = list(cache.client.get().scan_iter(match=f"{cache.PREFIX}a:*"))
    assert old_keys

    version = _train_and_register(world)
    with django_capture_on_commit_callbacks(execute=True):
        activation.activate(version.pk)
    assert not list(cache.client.get().scan_iter(match=f"{cache.PREFIX}a:*"))  # dropped on activation

    body = c.get(url).json()
    assert body["model"] == "v7" and body["model_version"] == 7 and body["cached"] is False
    assert all(r["score"]["relation"] is not None and r["score"]["text"] is not None for r in body["results"])
    assert all(0 <= r["score"]["total"] <= 1 for r in body["results"])
    assert c.get(url).json()["cached"] is True
    pair = c.post("/api/match/score", {"job": job.pk, "resume": world["pool"][0].pk}, format="json").json()
    assert pair["model"] == "v7" and pair["best_sections"]
