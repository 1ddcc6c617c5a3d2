"""A query of a web request that does not return (PostgreSQL frozen mid-query: no server-side timeout fires) is
cut by the client-side deadline and answered with a JSON 503 within about the deadline, not the worker kill."""

from __future__ import annotations

import time

import pytest
from django.db import connections
from rest_framework.response import Response

from config import dependencies
from config.query_deadline import watchdog
from recruiting.apis import auth

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stuck_query(monkeypatch, settings):
    """`GET /api/auth/me/` runs a query that would not return for 60 s (pg_sleep stands in for a frozen server:
    the client sees the same thing, a socket with no answer)."""
    settings.DATABASE_REQUEST_QUERY_SECONDS = 0.5

    def get(self, request):
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_sleep(60)")
        return Response({})

    monkeypatch.setattr(auth.MeApi, "get", get)
    dependencies.reset()
    yield
    connections["default"].close()  # the cut connection; the next use opens a new one
    with connections["default"].cursor() as cursor:  # the server-side sleeper, left running by the cut
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE query = 'SELECT pg_sleep(60)' AND pid <> pg_backend_pid()"
        )
    dependencies.reset()


@pytest.mark.timeout(60)
def test_a_query_past_the_deadline_answers_503_at_once(stuck_query, make_user, client_for):
    api = client_for(make_user())
    fired = watchdog.fired
    started = time.monotonic()
    response = api.get("/api/auth/me/")
    took = time.monotonic() - started
    assert response.status_code == 503 and response.json()["dependency"] == "database"
    assert response["Retry-After"]
    assert took < 3, took  # the deadline (0.5 s) plus the watchdog's tick, not 60 s
    assert watchdog.fired == fired + 1


def test_queries_within_the_deadline_are_untouched(make_user, client_for, settings):
    settings.DATABASE_REQUEST_QUERY_SECONDS = 2
    api = client_for(make_user())
    fired = watchdog.fired
    for _ in range(3):
        assert api.get("/api/auth/me/").status_code == 200
    with connections["default"].cursor() as cursor:  # outside a request: no bound at all
        cursor.execute("SELECT pg_sleep(2.5)")
    assert watchdog.fired == fired
