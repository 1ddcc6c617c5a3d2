"""TrainConfig.epoch_pair_cap: above the cap, every epoch trains on a fresh random sample of the observed pairs,
indexed into the full set, so that selection, noise figures and memory still read the right pairs."""

from __future__ import annotations

import numpy as np

from ml.embedding import EmbeddingCache
from ml.network import TrainConfig, aggregate_interactions, train
from ml.network.sampling import OBSERVED, epoch_pairs, pair_keys


def _epoch(pairs, n_jobs, n_res, config, seed):
    taken = np.unique(pair_keys(pairs.job, pairs.resume, n_res))
    return epoch_pairs(pairs, n_jobs, n_res, config, None, np.random.default_rng(seed), taken)


def test_a_capped_epoch_samples_observed_pairs_and_indexes_the_full_set(synthetic):
    data = synthetic.data
    pairs = aggregate_interactions(data)
    n_jobs, n_res = len(data.jobs), len(data.resumes)
    cap = len(pairs.job) // 3
    config = TrainConfig(epoch_pair_cap=cap)
    first = _epoch(pairs, n_jobs, n_res, config, seed=0)
    second = _epoch(pairs, n_jobs, n_res, config, seed=1)
    for ep in (first, second):
        obs_rows = np.flatnonzero(ep.kind == OBSERVED)
        obs = ep.observed[obs_rows]
        assert len(obs) == cap and len(np.unique(obs)) == cap
        # each observed row is the full set's pair at the index it names
        np.testing.assert_array_equal(ep.job[obs_rows], pairs.job[obs])
        np.testing.assert_array_equal(ep.resume[obs_rows], pairs.resume[obs])
        np.testing.assert_array_equal(ep.label[obs_rows], pairs.label[obs])
        np.testing.assert_array_equal(ep.fold[obs_rows], pairs.fold[obs])
        # negatives are drawn for the sampled positives only (same per-positive counts as uncapped)
        per_pos = config.negatives_per_positive + config.job_negatives_per_positive
        assert (ep.observed < 0).sum() <= per_pos * cap
    assert set(first.observed[first.observed >= 0]) != set(second.observed[second.observed >= 0])


def test_below_the_cap_an_epoch_is_unchanged(synthetic):
    data = synthetic.data
    pairs = aggregate_interactions(data)
    n_jobs, n_res = len(data.jobs), len(data.resumes)
    capped = _epoch(pairs, n_jobs, n_res, TrainConfig(epoch_pair_cap=len(pairs.job)), seed=3)
    uncapped = _epoch(pairs, n_jobs, n_res, TrainConfig(epoch_pair_cap=None), seed=3)
    for field in ("job", "resume", "label", "fold", "observed", "kind"):
        np.testing.assert_array_equal(getattr(capped, field), getattr(uncapped, field))


def test_training_with_a_cap_selects_among_every_observed_pair(synthetic, hashing_encoder):
    pairs = aggregate_interactions(synthetic.data)
    cap = len(pairs.job) // 4
    model = train(
        synthetic.data,
        TrainConfig(
            epochs=5, seed=0, selection="memory", warmup_epochs=2, forget_rate=0.2, epoch_pair_cap=cap
        ),
        cache=EmbeddingCache(hashing_encoder),
        clean_mask_fn=synthetic.clean_mask_fn,
    )
    assert model.metrics["observed_pairs"] == len(pairs.job)
    assert model.metrics["observed_pairs_per_epoch"] == cap
    last = [h for h in model.metrics["history"] if h["stage"] == "train"][-1]
    # memory selection still names noisier positives than it keeps, though each epoch saw a quarter of them
    for view in ("text", "relation"):
        assert last[f"suspect_clean_{view}"] < last[f"memory_kept_clean_{view}"]
