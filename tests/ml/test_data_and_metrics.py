"""Metrics against hand-computed values; splits; synthetic data determinism and noise control."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml.data.splits import cold_start_split, time_split
from ml.data.synthetic import make_synthetic
from ml.metrics import auc, bootstrap_ci, grouped_auc, mrr, ndcg_at_k, paired_difference, recall_at_k


def test_ranking_metrics_by_hand():
    s = np.array([0.9, 0.8, 0.7, 0.1])
    assert auc(s, [1, 0, 1, 0]) == pytest.approx(0.75)
    assert auc([0.5, 0.5], [1, 0]) == pytest.approx(0.5)
    assert math.isnan(auc(s, [1, 1, 1, 1]))
    assert mrr(s, {1}) == pytest.approx(0.5)
    assert recall_at_k(s, [2, 3], k=3) == pytest.approx(0.5)
    dcg = 1 / math.log2(3)
    assert ndcg_at_k(s, [1], k=10) == pytest.approx(dcg)
    assert ndcg_at_k(s, np.array([False, True, False, False]), k=10) == pytest.approx(dcg)
    assert ndcg_at_k(s, [3], k=2) == 0.0
    assert grouped_auc([0.9, 0.1, 0.2, 0.8], [1, 0, 1, 0], ["a", "a", "b", "b"]) == pytest.approx(0.5)


def test_bootstrap_and_paired_difference():
    rng = np.random.default_rng(0)
    v = rng.normal(1.0, 1.0, 400)
    lo, hi = bootstrap_ci(v, n=500, seed=1)
    assert lo < 1.0 < hi and hi - lo < 0.4
    assert bootstrap_ci(v, n=500, seed=1) == (lo, hi)
    d = paired_difference(v + 0.5, v, n=500, seed=0)
    assert d["mean"] == pytest.approx(0.5) and d["lo"] > 0 and d["p_le_0"] == 0.0


def test_synthetic_is_deterministic_with_controlled_noise():
    a = make_synthetic(40, 80, 500, label_noise=0.3, seed=5)
    b = make_synthetic(40, 80, 500, label_noise=0.3, seed=5)
    assert a.data.interactions == b.data.interactions and a.data.jobs == b.data.jobs
    assert len(a.data.interactions) == 500
    assert abs((~a.clean_mask).mean() - 0.3) < 0.06
    # the clean mask is exactly "observed polarity == hidden truth"
    ji = {j.id: i for i, j in enumerate(a.data.jobs)}
    ri = {r.id: i for i, r in enumerate(a.data.resumes)}
    pairs = np.array([(ji[e.job_id], ri[e.resume_id]) for e in a.data.interactions])
    observed = np.array([e.strength > 0 for e in a.data.interactions])
    np.testing.assert_array_equal(a.clean_mask, a.true_label(pairs) == observed)
    np.testing.assert_array_equal(a.clean_mask, a.clean_mask_fn(pairs, observed.astype(float)))
    assert make_synthetic(40, 80, 500, label_noise=0.0, seed=5).clean_mask.all()


def test_time_split_and_cold_start_split():
    syn = make_synthetic(40, 80, 500, seed=1)
    tr, te = time_split(syn.data, fraction=0.75)
    assert len(tr.interactions) == 375 and len(te.interactions) == 125
    assert max(e.timestamp for e in tr.interactions) < min(e.timestamp for e in te.interactions)
    tr2, _ = time_split(syn.data, te.meta["cutoff_ts"])
    assert tr2.interactions == tr.interactions
    tr, te = cold_start_split(syn.data, 0.25, side="job", seed=0)
    cold = set(te.meta["cold_ids"])
    assert cold and all(e.job_id in cold for e in te.interactions)
    assert not cold & {j.id for j in tr.jobs} and not any(e.job_id in cold for e in tr.interactions)
    assert len(tr.interactions) + len(te.interactions) == 500
