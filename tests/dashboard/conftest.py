"""A small two-organization platform for the dashboard's tests: the fast hashing encoder, a private model
storage, a clean match cache, users with passwords (the pages sign in like a person does)."""

from __future__ import annotations

import pytest
from django.core.files.storage import storages

from matching import cache, embedding, encoders
from matching import index as mindex
from matching.index.upkeep import connect_match_signals
from recruiting import services
from recruiting.models import Candidate, ImportJob, Membership

# A real Celery worker for the training page's browser test (tests/workers/conftest.py).
from tests.workers.conftest import start_worker, worker_base_env, worker_settings  # noqa: F401

PASSWORD = "dashboard-pw-1"

JOB = {
    "title": "Backend Engineer (Python)",
    "description": "Build Python services with Django and PostgreSQL. Kubernetes is a plus.",
    "required_skills": ["python", "django", "postgresql"],
    "nice_to_have_skills": ["kubernetes"],
    "location": "Berlin, Germany",
    "seniority": "senior",
}
RESUMES = [
    ("Ada Backend", "Senior Python backend engineer", ["python", "django", "postgresql", "docker"], "Berlin"),
    ("Ben Flask", "Python developer", ["python", "flask", "django"], "Munich"),
    ("Cleo Nurse", "Registered nurse", ["nursing", "patient care"], "Berlin"),
    ("Dan Numbers", "Chartered accountant", ["accounting", "excel"], "Hamburg"),
]


@pytest.fixture
def serving(tmp_path, settings, monkeypatch):
    """Hashing encoder, private artifact storage, an empty match cache and the index signal receivers."""
    from matching import selectors
    from ml.embedding import HashingEncoder

    settings.STORAGES = {
        **settings.STORAGES,
        "models": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "models")},
        },
    }
    settings.EMBEDDING_ENCODER = "hashing"
    monkeypatch.setattr(encoders, "_encoder", HashingEncoder())
    storages._storages.pop("models", None)
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


def _user(username: str, **extra):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)


@pytest.fixture
def world(db, serving, make_org, django_capture_on_commit_callbacks):
    """Org A (a recruiter, an admin, a job, four candidates), org B (a recruiter, a job, a candidate),
    a job seeker with a resume; resume vectors embedded as the worker would."""
    org_a, org_b = make_org("Acme"), make_org("Globex")
    recruiter, admin, other = _user("rita"), _user("adam"), _user("otto")
    Membership.objects.create(user=recruiter, organization=org_a, role="recruiter")
    Membership.objects.create(user=admin, organization=org_a, role="admin")
    Membership.objects.create(user=other, organization=org_b, role="recruiter")
    seeker = _user("sam")
    with django_capture_on_commit_callbacks(execute=False):
        job = services.job_create(organization=org_a, data=JOB)
        other_job = services.job_create(
            organization=org_b, data={**JOB, "title": "Globex Python engineer", "location": "Hamburg"}
        )
        pool = []
        for name, headline, skills, location in RESUMES:
            candidate = Candidate.objects.create(organization=org_a, full_name=name, location=location)
            data = {"headline": headline, "skills": skills, "summary": f"{headline} in {location}."}
            pool.append(services.resume_create(candidate=candidate, data=data))
        other_candidate = Candidate.objects.create(
            organization=org_b, full_name="Gus Globex", location="Hamburg"
        )
        other_resume = services.resume_create(
            candidate=other_candidate, data={"headline": "Python engineer", "skills": ["python"]}
        )
        own = Candidate.objects.create(user=seeker, full_name="Sam Seeker", location="Berlin")
        own_resume = services.resume_create(
            candidate=own, data={"headline": "Django developer", "skills": ["python", "django"]}
        )
    embedding.embed_documents("resume", [r.pk for r in [*pool, other_resume, own_resume]])
    embedding.embed_documents("job", [job.pk, other_job.pk])
    import_job = ImportJob.objects.create(organization=org_a, kind="jobs", format="csv", file_name="jobs.csv")
    return {
        "import_job": import_job,
        "org_a": org_a,
        "org_b": org_b,
        "recruiter": recruiter,
        "admin": admin,
        "other": other,
        "seeker": seeker,
        "job": job,
        "other_job": other_job,
        "pool": pool,
        "other_resume": other_resume,
        "own_resume": own_resume,
    }


@pytest.fixture
def signed_in(client):
    """signed_in(user) -> the Django test client with that user's session."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
