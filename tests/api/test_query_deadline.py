"""A query of a web request that does not return (PostgreSQL frozen mid-query: no server-side timeout fires) is
cut by the client-side deadline and answered with a JSON 503 within about the deadline, not the worker kill."""

from __future__ import annotations

import time

import pytest
from django.db import connections
from django.test import Client
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
    Client().get("/healthz")  # the URLconf and the apps it imports, loaded before anything is timed

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


# --- the probe: a frozen server is told from a slow query in well under a second ---------------------------------


@pytest.fixture
def frozen_listener():
    """Accepts connections (its kernel does) and never answers: what a SIGSTOPped PostgreSQL looks like."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield socket.AF_INET, server.getsockname()
    server.close()


@pytest.fixture
def probing(settings):
    settings.DATABASE_REQUEST_QUERY_SECONDS = 5  # the hard bound stays far away
    settings.DATABASE_PROBE = {"after": 0.2, "timeout": 0.3, "every": 0.3, "suspect": 30}
    dependencies.reset()
    yield settings
    dependencies.reset()


def test_the_probe_tells_a_live_server_from_a_frozen_or_stopped_one(frozen_listener, monkeypatch):
    import socket

    assert dependencies.probe_database(0.5)  # the test database answers
    monkeypatch.setattr(dependencies, "database_address", lambda alias="default": frozen_listener)
    started = time.monotonic()
    assert not dependencies.probe_database(0.3)
    assert time.monotonic() - started < 1
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    monkeypatch.setattr(
        dependencies, "database_address", lambda alias="default": (socket.AF_INET, ("127.0.0.1", port))
    )
    assert not dependencies.probe_database(0.3)


def test_a_slow_query_on_a_live_server_is_probed_and_runs_on(probing, monkeypatch, make_user, client_for):
    def get(self, request):
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_sleep(1.2)")
        return Response({})

    monkeypatch.setattr(auth.MeApi, "get", get)
    api = client_for(make_user())
    fired, probes = watchdog.fired, watchdog.probes
    assert api.get("/api/auth/me/").status_code == 200
    assert watchdog.fired == fired and watchdog.probes >= probes + 2  # probed, answered, not cut


@pytest.mark.timeout(60)
def test_a_query_whose_server_stops_answering_gets_503_in_under_a_second(
    stuck_query, probing, frozen_listener, monkeypatch, make_user, client_for
):
    """The query cannot finish (pg_sleep(60)) and the server no longer answers a new connection (the probe goes
    to a listener that never answers): the old bound waited the full DATABASE_REQUEST_QUERY_SECONDS (5 s)."""
    api = client_for(make_user())
    monkeypatch.setattr(dependencies, "database_address", lambda alias="default": frozen_listener)
    started = time.monotonic()
    response = api.get("/api/auth/me/")
    took = time.monotonic() - started
    assert response.status_code == 503 and response.json()["dependency"] == "database"
    assert took < 1.0, took  # 0.2 s before the probe, its 0.3 s timeout, a 0.05 s tick

    # The process now answers 503 at once; once the down period is over, a request probes before it connects
    # (never libpq's 2 s connect timeout against a frozen server), and passes once the server answers again.
    started = time.monotonic()
    assert api.get("/api/auth/me/").status_code == 503
    assert time.monotonic() - started < 0.2
    monkeypatch.setattr(dependencies, "_db_down_until", 0.0)
    started = time.monotonic()
    assert api.get("/api/auth/me/").status_code == 503
    assert time.monotonic() - started < 0.8
    monkeypatch.undo()  # the real server again (and MeApi.get back)
    monkeypatch.setattr(dependencies, "_db_down_until", 0.0)
    connections[
        "default"
    ].close()  # the cut one; Django closes it at a request's end, the test client does not
    back = api.get("/api/auth/me/")
    assert back.status_code == 200, back.content
