"""Content-neighbour search of the relation graph: FAISS (exact, or IVF on large corpora) finds what a dense
similarity block finds, never a row's own index when asked to exclude it."""

from __future__ import annotations

import numpy as np
import pytest

from ml.relation import graph


def _clustered(n: int, dim: int = 32, topics: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((topics, dim))
    x = centres[rng.integers(0, topics, n)] + 0.6 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("exact_max", [10**9, 500])  # flat index, then IVF
def test_faiss_neighbours_match_the_dense_block(monkeypatch, exact_max):
    monkeypatch.setattr(graph, "EXACT_KNN_MAX", exact_max)
    base = _clustered(3000)
    idx, sims = graph.topk_cosine(base, base, 5, exclude_self=True)
    ref_idx, ref_sims = graph._topk_dense(base[:1000], base, 5, True)
    assert idx.shape == (3000, 5)
    assert not (idx == np.arange(3000)[:, None]).any()
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(idx[:1000], ref_idx, strict=True)])
    assert recall >= (0.999 if exact_max > 3000 else 0.9)
    assert np.all(np.diff(sims, axis=1) <= 1e-6)  # best first
    if exact_max > 3000:
        np.testing.assert_allclose(sims[:1000], ref_sims, atol=1e-5)


def test_a_few_query_rows_take_the_dense_path(monkeypatch):
    """Serving attaches a handful of new documents: no index is built for them."""
    base = _clustered(2000)

    def no_index(*a, **k):
        raise AssertionError("an index was built for a small query")

    monkeypatch.setattr("faiss.IndexFlatIP", no_index)
    idx, _ = graph.topk_cosine(base[:3], base, 4)
    assert idx.shape == (3, 4) and list(idx[:, 0]) == [0, 1, 2]
