"""Fixtures for the ml/ library tests: no database, no Django.

The real MiniLM encoder is loaded once per session; network-logic tests use the deterministic HashingEncoder
(same interface) so they run in seconds. Torch runs single-threaded here: deterministic and faster on a
shared 2-core machine.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.data.splits import time_split
from ml.data.synthetic import make_synthetic
from ml.embedding import EmbeddingCache, HashingEncoder, get_encoder
from ml.network import TrainConfig, train

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def minilm():
    return get_encoder()


@pytest.fixture(scope="session")
def hashing_encoder():
    return HashingEncoder()


def index_pairs(data, events) -> np.ndarray:
    ji = {j.id: i for i, j in enumerate(data.jobs)}
    ri = {r.id: i for i, r in enumerate(data.resumes)}
    return np.array([(ji[e.job_id], ri[e.resume_id]) for e in events], dtype=np.int64).reshape(-1, 2)


@pytest.fixture(scope="session")
def synthetic():
    """Dense enough that interactions carry a collaborative signal text cannot see (hidden latent taste)."""
    return make_synthetic(150, 400, 4000, label_noise=0.2, latent_weight=3.0, seed=0)


@pytest.fixture(scope="session")
def trained(synthetic, hashing_encoder):
    """One co-teaching model trained on the first 80% (in time) of the synthetic log, with the per-batch
    small-loss rule: these tests read its per-batch kept fraction. The default rule (selection="memory") has its
    own training test in test_coteaching_memory.py, and the platform's in tests/matching/test_demo_data_learns.py."""
    train_data, test_data = time_split(synthetic.data, fraction=0.8)
    cache = EmbeddingCache(hashing_encoder)
    progress = []
    model = train(
        train_data,
        TrainConfig(epochs=10, seed=0, selection="batch"),
        cache=cache,
        progress=progress.append,
        clean_mask_fn=synthetic.clean_mask_fn,
    )
    return {"model": model, "train": train_data, "test": test_data, "cache": cache, "progress": progress}
