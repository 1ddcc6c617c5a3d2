"""Queueing never makes a write wait on Redis: short broker timeouts, a breaker, dirty flags the beat re-sends."""

from __future__ import annotations

import socket
import time

import pytest
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
def test_publishing_to_a_frozen_broker_fails_in_under_a_second(frozen_redis):
    """The publisher's own short timeouts (BROKER_PUBLISH_TIMEOUTS, no retry): 2.25 s with the consumers' timeouts
    and one retry, as before."""
    assert isinstance(celery_config.app, celery_config.TandemCelery)
    app = celery_config.TandemCelery("frozen-probe")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = frozen_redis
    started = time.monotonic()
    sent = celery_config.publish(
        lambda: app.send_task("workers.tasks.embedding.embed_dirty_documents"), what="probe"
    )
    took = time.monotonic() - started
    assert sent is False and took < 1.0, took
    consumer = app.connection_for_read()  # consumers keep timeouts longer than the 1 s BRPOP poll
    assert (
        consumer.transport_options["socket_timeout"] > 1
        and app.connection_for_write().transport_options["socket_timeout"] < 1
    )
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


# --- training start: the run is the outbox -----------------------------------------------------------------


@pytest.fixture
def training_env(settings):
    import uuid

    settings.TRAINING_LOCK_KEY = f"tandem:test:training-lock:{uuid.uuid4().hex[:8]}"
    settings.TRAINING_DISPATCH_SECONDS = 0
    yield settings
    from matching.redis_client import redis_client

    redis_client().delete(settings.TRAINING_LOCK_KEY)


def _drain_training_queue() -> int:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    n = client.llen("training")
    client.delete("training")
    return n


@pytest.mark.django_db
@pytest.mark.timeout(60)
def test_training_start_with_the_broker_refusing_is_queued_and_the_dispatcher_sends_it_once(
    make_user, client_for, training_env, refusing_broker, monkeypatch
):
    from matching.models import TrainingRun
    from matching.training.dispatch import WAITING
    from workers.tasks.training import dispatch_training

    assert not celery_config.runs_eagerly()
    _drain_training_queue()
    staff = client_for(make_user(is_staff=True))
    started = time.monotonic()
    with django_on_commit_immediately(monkeypatch):
        response = staff.post("/api/training-runs/")
    assert response.status_code == 202, response.content
    assert time.monotonic() - started < 10
    run = response.json()
    assert (run["status"], run["stage"]) == ("queued", WAITING)
    with django_on_commit_immediately(monkeypatch):
        again = staff.post("/api/training-runs/")
    assert again.status_code == 200 and again.json()["id"] == run["id"]  # one run, not two
    assert dispatch_training.apply().get()["sent"] == 0  # the broker still refuses: still queued
    assert TrainingRun.objects.get(pk=run["id"]).status == "queued"

    refusing_broker(settings_broker_url())  # the broker is back
    result = dispatch_training.apply().get()
    assert result == {"pending": 1, "sent": 1, "run_id": run["id"]}
    sent = TrainingRun.objects.get(pk=run["id"])
    assert sent.celery_task_id and sent.stage == "" and sent.status == "queued"
    assert dispatch_training.apply().get()["sent"] == 0  # sent once
    assert _drain_training_queue() == 1
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.timeout(60)
def test_training_start_with_redis_frozen_answers_at_once_and_the_run_is_sent_later(
    make_user, client_for, training_env, refusing_broker, frozen_redis, monkeypatch
):
    """Redis frozen (the lock cannot be read): the start takes the quick client's timeouts (well under a second; the
    lock's patient client took 3 s), commits a queued run without the lock, and the dispatcher sends it once
    Redis is back."""
    from matching import redis_client as redis_module
    from matching.models import TrainingRun
    from workers.tasks.training import dispatch_training

    _drain_training_queue()
    real_url = training_env.REDIS_URL
    training_env.REDIS_URL = frozen_redis
    monkeypatch.setattr(redis_module, "_client", None)
    monkeypatch.setattr(redis_module, "_quick", None)
    staff = client_for(make_user(is_staff=True))
    staff.get("/healthz")  # the URLconf loaded before anything is timed
    with django_on_commit_immediately(monkeypatch):
        started = time.monotonic()
        response = staff.post("/api/training-runs/")
        took = time.monotonic() - started
        again = staff.post("/api/training-runs/")
    assert response.status_code == 202, response.content
    assert took < 1.0, took
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]
    assert dispatch_training.apply().get()["sent"] == 0  # Redis still down
    training_env.REDIS_URL = real_url  # Redis is back
    monkeypatch.setattr(redis_module, "_client", None)
    monkeypatch.setattr(redis_module, "_quick", None)
    refusing_broker(settings_broker_url())
    result = dispatch_training.apply().get()
    assert result["sent"] == 1 and result["run_id"] == response.json()["id"]
    from matching.training.lock import training_lock

    assert training_lock().holder() == response.json()["id"]  # it runs under the training lock
    assert _drain_training_queue() == 1 and TrainingRun.objects.count() == 1


def settings_broker_url() -> str:
    from django.conf import settings

    return settings.CELERY_BROKER_URL
