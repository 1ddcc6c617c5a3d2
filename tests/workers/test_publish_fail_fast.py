"""Queueing never makes a write wait on Redis: short broker timeouts, a breaker, dirty flags the beat re-sends."""

from __future__ import annotations

import socket
import time

import pytest
from celery import Celery
from kombu.exceptions import OperationalError

import config.celery as celery_config
from matching.models import EmbeddingMark
from recruiting.models import Job


@pytest.fixture
def frozen_redis():
    """A listener that accepts connections and never answers: what a SIGSTOPped Redis looks like."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


@pytest.fixture(autouse=True)
def _fresh_breaker():
    celery_config._broker_down_until = 0.0
    yield
    celery_config._broker_down_until = 0.0


@pytest.mark.timeout(60)
def test_publishing_to_a_frozen_broker_fails_within_seconds(frozen_redis):
    app = Celery("frozen-probe")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = frozen_redis
    started = time.monotonic()
    sent = celery_config.publish(
        lambda: app.send_task("workers.tasks.embedding.embed_dirty_documents"), what="probe"
    )
    took = time.monotonic() - started
    assert sent is False and took < 10, took
    # the breaker: the next publish does not even try
    started = time.monotonic()
    assert celery_config.publish(lambda: pytest.fail("tried"), what="probe") is False
    assert time.monotonic() - started < 0.1


@pytest.mark.django_db
def test_a_write_commits_and_answers_when_the_broker_refuses(
    make_org, make_recruiter, make_job, client_for, monkeypatch
):
    assert not celery_config.runs_eagerly()
    calls = []

    def refuse(*args, **kwargs):
        calls.append(1)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    from workers.tasks.embedding import embed_dirty_documents

    monkeypatch.setattr(embed_dirty_documents, "delay", refuse)
    org = make_org()
    job = make_job(org)
    api = client_for(make_recruiter(org))
    with django_on_commit_immediately(monkeypatch):
        for title in ("Renamed once", "Renamed twice"):
            response = api.patch(f"/api/jobs/{job.pk}/", {"title": title}, format="json")
            assert response.status_code == 200, response.content
    assert Job.objects.get(pk=job.pk).title == "Renamed twice"
    assert len(calls) <= 1  # the second write did not wait on the broker again
    assert EmbeddingMark.objects.filter(
        kind="job", object_id=job.pk, dirty=True
    ).exists()  # the beat's record


def django_on_commit_immediately(monkeypatch):
    """Run on_commit callbacks at once (the test's transaction never commits)."""
    import contextlib

    from django.db import transaction

    @contextlib.contextmanager
    def ctx():
        with monkeypatch.context() as patch:
            patch.setattr(transaction, "on_commit", lambda fn, using=None, robust=False: fn())
            yield

    return ctx()
