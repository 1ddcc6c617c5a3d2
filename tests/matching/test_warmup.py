"""A fresh web worker loads the active model, the encoder and the stored indexes before its first request
(config/gunicorn.conf.py -> matching/warmup.py), and a failing warm-up never stops the worker."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest
from django.db import OperationalError

from matching import selectors, warmup
from matching.encoders import encoder_space, model_space
from matching.index import loaded_indexes
from tests.matching.test_model_space import _train_and_promote, platform  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)  # warm_serving closes its connections when done


def test_warm_up_loads_what_the_first_request_would(platform):  # noqa: F811
    version = _train_and_promote()
    job = next(iter(platform["jobs"].values()))
    platform["client"].get(f"/api/jobs/{job.pk}/candidates/")
    selectors.clear_model_cache()
    loaded_indexes.clear()

    timings = warmup.warm_serving()

    assert set(timings) == {"model", "encoder", "indexes"}
    assert (version.pk, version.artifact_sha256) in selectors._loaded
    loaded = {key[0] for key in loaded_indexes._entries}
    assert encoder_space() in loaded or model_space(version.version) in loaded


def test_a_failing_warm_up_does_not_raise(monkeypatch):
    def down():
        raise OperationalError("database is down")

    monkeypatch.setattr(selectors, "active_model", down)
    assert warmup.warm_serving() == {}


def test_gunicorn_runs_the_warm_up_in_a_thread(monkeypatch):
    ran = threading.Event()
    monkeypatch.setattr(warmup, "warm_serving", ran.set)
    path = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"
    spec = importlib.util.spec_from_file_location("gunicorn_conf", path)
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    conf.post_worker_init(worker=None)
    assert ran.wait(5)
