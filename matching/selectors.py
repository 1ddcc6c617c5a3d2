"""Reads for the matching app: the active model version and the loaded model behind it.

The loaded model is cached per process, keyed by (version id, artifact sha256): a request compares the
active version (one indexed query) with what it holds and loads the new artifact only after a switch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from matching.models import ModelVersion, TrainingRun

_MAX_LOADED = 2
_loaded: OrderedDict[tuple[int, str], object] = OrderedDict()
_lock = threading.Lock()


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def model_version_list():
    return ModelVersion.objects.all().order_by("-version")


def training_run_in_progress() -> TrainingRun | None:
    return (
        TrainingRun.objects.filter(status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING])
        .order_by("-created_at")
        .first()
    )


def load_model_cached(version: ModelVersion):
    """The ml.network.MatchingModel of `version`, verified against its sha256, loaded once per process."""
    from matching.registry import load_version_model

    key = (version.pk, version.artifact_sha256)
    with _lock:
        model = _loaded.get(key)
        if model is not None:
            _loaded.move_to_end(key)
            return model
    model = load_version_model(version)
    with _lock:
        _loaded[key] = model
        _loaded.move_to_end(key)
        while len(_loaded) > _MAX_LOADED:
            _loaded.popitem(last=False)
    return model


def active_model() -> tuple[ModelVersion, object] | None:
    """(active version, loaded model), or None when no version is active (serve zero-shot cosine)."""
    version = active_model_version()
    if version is None:
        return None
    return version, load_model_cached(version)


def clear_model_cache() -> None:
    with _lock:
        _loaded.clear()
