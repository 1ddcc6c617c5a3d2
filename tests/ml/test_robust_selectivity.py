"""A candidate who applies to everything does not rise for jobs unlike their resume (ml/robust/selectivity.py):
not when the applications are in the training log, not when they arrive after training."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ml.embedding import EmbeddingCache
from ml.network import TrainConfig, train
from ml.robust.attacks import apply_to_share
from ml.robust.selectivity import selective_events, unselective_resumes
from ml.types import InteractionEvent, MatchingData

TOLERANCE = 0.03  # mean total score over the unlike jobs


def _world(synthetic):
    data = synthetic.data
    spammer = replace(data.resumes[0], id="spammer")  # a new candidate who applies to 80% of all jobs
    twin = replace(spammer, id="twin")  # the same resume, no interactions
    unlike = [j for j in data.jobs if j.category != spammer.category]
    t_end = max(e.timestamp for e in data.interactions)
    spam = apply_to_share(spammer.id, data.jobs, 0.8, seed=3, timestamp=t_end - 1000)
    resumes = [*data.resumes, spammer, twin]
    train_data = MatchingData(data.jobs, resumes, [*data.interactions, *spam], dict(data.meta))
    return train_data, spammer, twin, unlike, spam


def _mean_unlike(model, resume, unlike, interactions=None) -> float:
    return float(np.mean(model.rank_jobs(resume, unlike, interactions=interactions).total))


def test_selective_events_drop_only_an_indiscriminate_appliers_own_signals():
    events = [InteractionEvent(f"j{i}", "spam", "apply", i) for i in range(60)]
    events += [InteractionEvent("j1", "spam", "shortlist", 99), InteractionEvent("j1", "ok", "apply", 1)]
    assert unselective_resumes(events, 100) == {"spam"}
    kept = selective_events(events, 100)
    assert [(e.resume_id, e.kind) for e in kept] == [("spam", "shortlist"), ("ok", "apply")]
    assert selective_events(events, 10_000, max_share=0.5) == events  # cap 5,000: nobody is cut


@pytest.fixture(scope="module")
def spam_models(synthetic, hashing_encoder):
    data, *_ = _world(synthetic)
    cfg = TrainConfig(epochs=4, seed=0)
    guarded = train(data, cfg, cache=EmbeddingCache(hashing_encoder))
    unguarded = train(data, replace(cfg, max_apply_min=10**9), cache=EmbeddingCache(hashing_encoder))
    return guarded, unguarded


def test_applying_to_everything_in_training_does_not_lift_unlike_jobs(synthetic, spam_models):
    _, spammer, twin, unlike, spam = _world(synthetic)
    guarded, unguarded = spam_models
    assert guarded.metrics["unselective_events_dropped"] == len(spam)
    gain = _mean_unlike(guarded, spammer, unlike) - _mean_unlike(guarded, twin, unlike)
    assert gain <= TOLERANCE, f"the indiscriminate applier gains {gain:.3f} on unlike jobs"
    # the same log without the rule lifts them (so the check above could fail)
    raw_gain = _mean_unlike(unguarded, spammer, unlike) - _mean_unlike(unguarded, twin, unlike)
    assert raw_gain > gain + TOLERANCE, (raw_gain, gain)


def test_applying_to_everything_after_training_does_not_lift_unlike_jobs(synthetic, spam_models):
    data, _, twin, unlike, _ = _world(synthetic)
    guarded, _ = spam_models
    fresh = apply_to_share(twin.id, data.jobs, 0.8, seed=4, timestamp=2e9)
    before = _mean_unlike(guarded, twin, unlike)
    after = _mean_unlike(guarded, twin, unlike, interactions=fresh)
    assert after <= before + TOLERANCE, (before, after)
    few = fresh[:5]  # a selective candidate's fresh applications still count
    assert not np.allclose(
        guarded.rank_jobs(twin, unlike, interactions=few).total, guarded.rank_jobs(twin, unlike).total
    )
