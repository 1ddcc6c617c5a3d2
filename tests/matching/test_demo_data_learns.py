"""The demo's sample data holds interaction structure that text alone cannot see (home city, favourite
employers, moves into a related family, accidental clicks): a first model trained on it through the platform's
own training service beats zero-shot cosine on its held-out slice and is promoted (small data, seconds)."""

from __future__ import annotations

import pytest

from matching.models import ModelVersion
from matching.training import promotion, runs
from recruiting import sample_data

pytestmark = pytest.mark.django_db

MARGIN = 0.05  # held-out NDCG@10 the trained model must gain over zero-shot cosine


def test_first_model_on_sample_data_beats_zero_shot_and_is_promoted(make_org, tiny_training, settings):
    settings.TRAINING_CONFIG = {"epochs": 6, "batch_size": 128, "hidden": 32, "knn": 3}
    settings.EVAL_RANDOM_NEGATIVES = 50
    settings.TRAINING_FINAL_REFIT = False
    sample_data.load_sample_data(make_org(), jobs=120, resumes=360, interactions=2400, seed=7)
    run, created = runs.start_training_run(enqueue=False)
    assert created
    version = ModelVersion.objects.get(pk=runs.train_run(run.pk))
    runs.finish_run(run.pk)
    trained, zero_shot = version.metrics["ndcg_at_10"], version.metrics["zero_shot"]["ndcg_at_10"]
    assert version.metrics["n_queries"] >= 20
    assert trained >= zero_shot + MARGIN, (trained, zero_shot)
    assert promotion.promote_if_better(version.pk).promoted
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.ACTIVE
