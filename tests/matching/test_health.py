"""/healthz, /readyz and the JSON 503 a request gets while PostgreSQL or Redis is unreachable."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper

from config import dependencies


@pytest.fixture(autouse=True)
def _fresh_breaker():
    dependencies.reset()
    yield
    dependencies.reset()


def test_liveness_and_readiness(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
    body = client.get("/readyz").json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"database", "redis", "model"}
    assert body["checks"]["model"]["detail"].startswith("zero-shot")


def test_readiness_names_a_redis_outage(client, db, monkeypatch):
    from matching import health

    monkeypatch.setattr(health._redis, "get", lambda: None)
    response = client.get("/readyz")
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["checks"]["redis"]["ok"] is False and response.json()["checks"]["database"]["ok"]


def test_database_down_is_a_fast_json_503(make_org, make_recruiter, client_for, monkeypatch):
    org = make_org()
    api = client_for(make_recruiter(org))

    def refuse(self):
        raise OperationalError('connection failed: connection to server at "127.0.0.1" refused')

    with monkeypatch.context() as patch:
        patch.setattr(BaseDatabaseWrapper, "ensure_connection", refuse)
        _requests_while_down(api)


def _requests_while_down(api) -> None:
    response = api.get("/api/jobs/")
    assert response.status_code == 503 and response["Content-Type"] == "application/json"
    assert response.json()["dependency"] == "database" and int(response["Retry-After"]) > 0
    # for a moment this process does not even try: still 503, and liveness still answers
    assert dependencies.database_recently_down()
    assert api.get("/api/jobs/").status_code == 503
    assert api.get("/healthz").status_code == 200
