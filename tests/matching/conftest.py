"""Fixtures for the registry / training tests: hashing encoder, private artifact storage, tiny training."""

from __future__ import annotations

import pytest
from django.core.files.storage import storages

from matching import encoders, selectors


@pytest.fixture
def hashing_encoder(monkeypatch):
    """The fast deterministic encoder (ml.embedding.HashingEncoder) in place of MiniLM for this test."""
    from ml.embedding import HashingEncoder

    enc = HashingEncoder()
    monkeypatch.setattr(encoders, "_encoder", enc)
    return enc


@pytest.fixture
def model_storage(tmp_path, settings):
    """storages["models"] on a private directory."""
    root = tmp_path / "models"
    settings.STORAGES = {
        **settings.STORAGES,
        "models": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    storages._storages.pop("models", None)
    selectors.clear_model_cache()
    yield storages["models"]
    storages._storages.pop("models", None)
    selectors.clear_model_cache()


@pytest.fixture
def tiny_training(settings, hashing_encoder, model_storage):
    """A training config that runs in seconds, no on-disk embedding cache, a private lock key."""
    import uuid

    settings.TRAINING_CONFIG = {"epochs": 2, "batch_size": 128, "hidden": 32, "knn": 3}
    settings.TRAINING_EMBEDDING_CACHE = ""
    settings.TRAINING_PROGRESS_INTERVAL = 0.0
    settings.TRAINING_LOCK_KEY = f"tandem:test:training-lock:{uuid.uuid4().hex[:8]}"
    settings.EVAL_RANDOM_NEGATIVES = 30
    yield settings
    from matching.redis_client import redis_client

    redis_client().delete(settings.TRAINING_LOCK_KEY)
