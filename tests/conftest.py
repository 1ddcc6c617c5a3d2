"""Shared fixtures: organizations, users with roles, authenticated API clients."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # Django is imported inside the fixtures, so tests/ml and tests/bench run without it
    from recruiting.models import Candidate, Organization

_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _fast_isolated_settings(request, tmp_path):
    """A fast password hasher (0.3 s a user otherwise) and uploaded files in a per-test folder."""
    if not request.config.pluginmanager.hasplugin("django"):
        return  # run with -p no:django (tests/ml, tests/bench)
    settings = request.getfixturevalue("settings")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def make_org(db):
    from recruiting.models import Organization

    def make(name: str | None = None) -> Organization:
        n = next(_seq)
        return Organization.objects.create(name=name or f"Org {n}", slug=f"org-{n}")

    return make


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    def make(username: str | None = None, **extra):
        return get_user_model().objects.create_user(
            username=username or f"user{next(_seq)}", password="pw-not-used", **extra
        )

    return make


@pytest.fixture
def make_recruiter(make_user):
    from recruiting.models import Membership

    def make(org: Organization, role: str = "recruiter"):
        user = make_user()
        Membership.objects.create(user=user, organization=org, role=role)
        return user

    return make


@pytest.fixture
def client_for():
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def make(user) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def make_job(db):
    from recruiting.models import Job

    def make(org: Organization, **fields) -> Job:
        defaults = {
            "title": "Backend Engineer",
            "description": "Build Python services with Django and PostgreSQL.",
            "required_skills": ["python", "django", "postgresql"],
            "location": "Berlin",
        }
        defaults.update(fields)
        return Job.objects.create(organization=org, **defaults)

    return make


@pytest.fixture
def make_resume(db):
    from recruiting.models import Candidate, Resume

    def make(candidate: Candidate | None = None, org: Organization | None = None, **fields) -> Resume:
        if candidate is None:
            candidate = Candidate.objects.create(organization=org, full_name=f"Person {next(_seq)}")
        defaults = {
            "headline": "Python developer",
            "summary": "Five years of backend work.",
            "skills": ["python", "django"],
            "experience": [{"title": "Developer", "company": "Acme", "description": "APIs in Django"}],
            "education": [{"degree": "BSc Computer Science", "institution": "TU Berlin", "year": 2015}],
        }
        defaults.update(fields)
        return Resume.objects.create(candidate=candidate, **defaults)

    return make


@pytest.fixture
def celery_eager():
    """Tasks run in this process for the test. The override is removed afterwards, not set back to its value:
    a value written into ``app.conf`` would shadow the Django setting CELERY_TASK_ALWAYS_EAGER for every later
    test (a test that sets the setting would then queue to a broker no worker reads)."""
    from config.celery import app

    had = "task_always_eager" in app.conf.changes
    before = app.conf.changes.get("task_always_eager")
    app.conf.task_always_eager = True
    yield
    if had:
        app.conf.task_always_eager = before
    else:
        app.conf.changes.pop("task_always_eager", None)


@pytest.fixture
def refusing_broker(monkeypatch):
    """The Celery app pointed at a port nothing listens on (a stopped Redis), its producer pool rebuilt."""
    from config import celery as celery_config

    app = celery_config.app
    original = app.conf.broker_url

    def point_at(url: str) -> None:
        app.conf.broker_url = url
        app._pool = None
        app.amqp._producer_pool = None
        celery_config._broker_down_until = 0.0

    point_at("redis://127.0.0.1:1/0")
    yield point_at
    point_at(original)


@pytest.fixture(autouse=True)
def _fresh_dependency_state():
    """Each test starts with PostgreSQL taken as up: a database failure another test provoked (on purpose or by
    a dropped connection) otherwise leaves this process answering 503 for DATABASE_DOWN_RETRY_SECONDS and probing
    for DATABASE_PROBE["suspect"], whatever test runs next (a browser test's sign-in page got a 503)."""
    from config import dependencies

    dependencies.reset()
    yield
    dependencies.reset()
