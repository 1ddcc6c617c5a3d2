"""ml/compat: the d-simplex head, drift compensation estimators, compatibility figures, and the empirical
compatibility criterion on the synthetic set (a new version's projected queries against the old version's index
beat the old version on its own index)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ml.compat import (
    SimplexClassifier,
    compatibility_report,
    fit_projection,
    gain_recovered,
    simplex_vertices,
)
from ml.compat.classes import occupation_classes
from ml.compat.drift import DriftProjection
from ml.data.splits import time_split
from ml.embedding import EmbeddingCache
from ml.metrics import ndcg_at_k, recall_at_k
from ml.network import TrainConfig, train


def test_simplex_vertices_are_a_regular_simplex():
    v = simplex_vertices(32)
    assert v.shape == (33, 32)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    cos = v @ v.T
    off = cos[~np.eye(33, dtype=bool)]
    assert np.allclose(off, -1 / 32, atol=1e-5)
    assert np.allclose(v.sum(axis=0), 0.0, atol=1e-5)


def test_simplex_classifier_is_fixed_and_preallocated():
    head = SimplexClassifier(8, 5)
    assert list(head.parameters()) == []  # nothing learned
    assert head.vertices.shape == (9, 8)  # d + 1 vertices, 5 in use
    z = head.vertices[:5].clone().requires_grad_(True)
    y = torch.arange(5)
    loss = head.loss(z * 10, y)
    assert loss.item() < 0.01  # each vertex is its own class
    assert head.loss(z, torch.full((5,), -1)).item() == 0.0  # documents without a class are skipped
    with pytest.raises(ValueError):
        SimplexClassifier(8, 10)


def test_occupation_classes_cluster_jobs_and_resumes_together():
    rng = np.random.default_rng(0)
    centres = np.eye(4, 16)
    jobs = centres[[0, 1, 2, 3] * 5] + 0.05 * rng.normal(size=(20, 16))
    resumes = centres[[3, 2, 1, 0] * 3] + 0.05 * rng.normal(size=(12, 16))
    resumes[0] = 0.0  # no text
    jc, rc = occupation_classes(jobs, resumes, 4)
    assert rc[0] == -1
    assert len(set(jc.tolist())) == 4
    for j in range(4):  # a resume lands in the cluster of the jobs of its occupation
        same = jc[np.arange(20) % 4 == j]
        assert len(set(same.tolist())) == 1
        r_same = rc[1:][(np.arange(1, 12) % 4) == 3 - j]
        assert set(r_same.tolist()) == {same[0]}


def _drifted(seed: int = 0, n: int = 400, d: int = 16, shift: float = 0.3):
    rng = np.random.default_rng(seed)
    old = rng.normal(size=(n, d))
    old /= np.linalg.norm(old, axis=1, keepdims=True)
    rot, _ = np.linalg.qr(rng.normal(size=(d, d)))
    new = old @ rot + shift + 0.02 * rng.normal(size=(n, d))
    return old.astype(np.float32), new.astype(np.float32), rot


def test_mean_shift_and_query_map_recover_a_drift():
    old, new, _ = _drifted()
    shift_only = old + 0.3
    ms = fit_projection("mean_shift", queries=(old, shift_only))
    assert np.allclose(ms.delta, 0.3, atol=1e-5)
    lq = fit_projection("linear_query", queries=(old, new), ridge=1e-6)
    unit = old / np.linalg.norm(old, axis=1, keepdims=True)
    assert np.mean(np.sum(lq.apply(new) * unit, axis=1)) > 0.99
    # the mean shift alone cannot undo a rotation
    assert np.mean(np.sum(fit_projection("mean_shift", queries=(old, new)).apply(new) * unit, axis=1)) < 0.9


def test_score_map_preserves_the_new_models_cosines_against_old_vectors():
    old_docs, new_docs, _ = _drifted(1, shift=0.0)
    lin = fit_projection("linear", documents=(old_docs, new_docs), ridge=1e-6)
    q = np.random.default_rng(2).normal(size=(5, 16)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    got = old_docs @ lin.apply(q).T
    want = new_docs @ q.T
    for c in range(5):  # same ranking of the documents as the new model over re-embedded ones
        assert np.corrcoef(got[:, c], want[:, c])[0, 1] > 0.995
    back = DriftProjection.from_state(lin.to_state())
    assert np.allclose(back.apply(q), lin.apply(q))
    assert not np.any(lin.apply(np.zeros(16, np.float32)))  # nothing to project


def test_procrustes_recovers_a_rotation_and_stays_orthogonal():
    old_docs, new_docs, rot = _drifted(3, shift=0.0)
    pro = fit_projection("procrustes", documents=(old_docs, new_docs))
    m = pro.weights[:-1].T  # q -> q @ M.T
    assert np.allclose(m @ m.T, np.eye(16), atol=1e-4)  # a rotation: nothing shrunk, nothing stretched
    assert np.allclose(m, rot, atol=0.02)
    q = np.random.default_rng(4).normal(size=(3, 16)).astype(np.float32)
    got, want = old_docs @ pro.apply(q).T, new_docs @ q.T
    assert min(np.corrcoef(got[:, c], want[:, c])[0, 1] for c in range(3)) > 0.99
    # the map fitted on both kinds' documents (stacked by the caller) counts them all
    both = fit_projection("linear_both", documents=(np.vstack([old_docs] * 2), np.vstack([new_docs] * 2)))
    assert both.method == "linear_both" and both.fitted_on == 2 * len(old_docs)


def test_projection_rejects_bad_input():
    with pytest.raises(ValueError):
        fit_projection("rotate", queries=(np.zeros((2, 2)), np.zeros((2, 2))))
    with pytest.raises(ValueError):
        fit_projection("linear", queries=(np.zeros((2, 2)), np.zeros((2, 2))))
    with pytest.raises(ValueError):
        fit_projection("mean_shift", queries=(np.zeros((2, 2)), np.zeros((3, 2))))


def test_compatibility_report():
    c = np.array([[0.5, 0.0], [0.56, 0.6]])
    rep = compatibility_report(c)
    assert rep["ac"] == 1.0
    assert rep["pairs"][0]["gain_recovered"] == pytest.approx(0.6)
    assert rep["am"] == pytest.approx((0.5 + 0.56 + 0.6) / 3)
    assert compatibility_report(np.array([[0.5, 0.0], [0.4, 0.6]]))["ac"] == 0.0
    assert gain_recovered(0.5, 0.5, 0.5) is None


def _quality(syn, resumes: np.ndarray, jobs: np.ndarray) -> tuple[float, float]:
    """Jobs for every 4th resume by cosine, against the TRUE labels of the synthetic set (all jobs)."""
    nj = len(syn.data.jobs)
    rows = np.arange(0, len(syn.data.resumes), 4)
    pairs = np.stack(np.meshgrid(np.arange(nj), rows, indexing="ij"), -1).reshape(-1, 2)
    truth = syn.true_label(pairs).reshape(nj, len(rows))
    nd, rc = [], []
    for c, r in enumerate(rows):
        rel = np.flatnonzero(truth[:, c]).tolist()
        if rel:
            s = jobs @ resumes[r]
            nd.append(ndcg_at_k(s, rel, 10))
            rc.append(recall_at_k(s, rel, 20))
    return float(np.mean(nd)), float(np.mean(rc))


def test_empirical_compatibility_criterion_on_the_synthetic_set(synthetic, hashing_encoder):
    """v1: 2 epochs on the first 30% of the log; v2: all of it, another seed, stationary head and distillation
    from v1. With the linear drift compensation v2's queries against v1's index beat v1 on its own index
    (NDCG@10 and Recall@20 against the synthetic truth); a v2 trained without the compatibility terms and
    queried without compensation falls far below (the index is unusable without them)."""
    cache = EmbeddingCache(hashing_encoder)
    docs = synthetic.data
    cfg = TrainConfig(epochs=4, seed=0, stationary_head=True, distill_weight=1.0)
    v1 = train(time_split(docs, fraction=0.3)[0], dataclasses.replace(cfg, epochs=2), cache=cache)
    v2 = train(docs, dataclasses.replace(cfg, seed=1), cache=cache, previous=v1)
    assert v2.metrics["compat"]["stationary_head"] and v2.metrics["compat"]["distilled"]
    assert {"simplex_ce", "distill"} <= set(v2.metrics["history"][-2]["losses"])
    j1, r1 = v1.embed_jobs(docs.jobs), v1.embed_resumes(docs.resumes)
    j2, r2 = v2.embed_jobs(docs.jobs), v2.embed_resumes(docs.resumes)
    old_old, new_new = _quality(synthetic, r1, j1), _quality(synthetic, r2, j2)
    assert new_new[0] > old_old[0]  # v2 is the better model
    proj = fit_projection("linear", documents=(j1, j2))
    new_old = _quality(synthetic, proj.apply(r2), j1)
    assert new_old[0] > old_old[0] and new_old[1] > old_old[1], (new_old, old_old)
    plain = train(docs, TrainConfig(epochs=4, seed=1), cache=cache)
    unprojected = _quality(synthetic, plain.embed_resumes(docs.resumes), j1)
    assert unprojected[0] < 0.8 * old_old[0]


def test_encoder_fine_tuning_pulls_interacting_texts_together_and_is_versioned(tmp_path, minilm):
    """A few contrastive steps on (resume, job) pairs: the pairs' cosines rise, and the encoder is a new version."""
    from ml.compat.encoder import FINETUNED_NAME, FinetuneConfig, finetune_encoder

    pairs = [
        ("forklift operator warehouse night shifts", "warehouse associate forklift"),
        ("registered nurse icu patient care", "icu nurse hospital"),
        ("java backend developer spring", "senior java engineer"),
        ("retail cashier customer service", "store cashier part time"),
    ]
    before = np.sum(minilm.encode([a for a, _ in pairs]) * minilm.encode([b for _, b in pairs]), axis=1)
    enc, record = finetune_encoder(
        pairs, str(tmp_path / "ft"), FinetuneConfig(epochs=3, batch_size=4, lr=1e-4, max_minutes=2)
    )
    after = np.sum(enc.encode([a for a, _ in pairs]) * enc.encode([b for _, b in pairs]), axis=1)
    assert record["steps"] == 3 and record["loss_last"] < record["loss_first"]
    assert after.mean() > before.mean()
    assert enc.version.startswith(FINETUNED_NAME + ":") and enc.version != minilm.version
