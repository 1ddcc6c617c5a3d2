"""Registry and training services, in process (real PostgreSQL, real Redis lock, real ml training)."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile

from matching.models import ModelVersion, TrainingRun
from matching.redis_client import redis_client
from matching.training import activation, artifacts, errors, lock, promotion, runs, snapshot
from ml.types import InteractionEvent, MatchingData
from tests.matching.synthetic_platform import load_synthetic_platform

pytestmark = pytest.mark.django_db


def _flip_labels(data: MatchingData) -> MatchingData:
    """Every positive event becomes a rejection and vice versa: a model trained on this is worse."""
    flipped = [
        InteractionEvent(e.job_id, e.resume_id, "reject" if e.strength > 0 else "hire", e.timestamp)
        for e in data.interactions
    ]
    return MatchingData(data.jobs, data.resumes, flipped, data.meta)


def _train_on_flipped_labels(data, config, **kwargs):
    from ml.network import train

    return train(_flip_labels(data), config, **kwargs)


def _train(train_fn=None) -> ModelVersion:
    run, created = runs.start_training_run(enqueue=False)
    assert created
    version_id = runs.train_run(run.pk, train_fn=train_fn)
    runs.finish_run(run.pk)
    return ModelVersion.objects.get(pk=version_id)


def _registered(version: int, payload: bytes, status: str = "candidate") -> ModelVersion:
    """A version whose artifact is `payload` (activation checks bytes and checksum, not the model inside)."""
    name = artifacts.model_storage().save(f"models/v{version:05d}-test.tandem", ContentFile(payload))
    return ModelVersion.objects.create(
        version=version,
        status=status,
        artifact_name=name,
        artifact_sha256=hashlib.sha256(payload).hexdigest(),
    )


def test_snapshot_holds_out_the_most_recent_slice(db, settings):
    load_synthetic_platform(seed=1)
    settings.TRAINING_HOLDOUT_FRACTION = 0.15
    snap = snapshot.take_snapshot()
    train_ts = [e.timestamp for e in snap.train.interactions]
    hold_ts = [e.timestamp for e in snap.holdout]
    assert max(train_ts) < min(hold_ts)
    n = len(train_ts) + len(hold_ts)
    assert abs(len(hold_ts) / n - 0.15) < 0.02
    assert snap.window["holdout_start"] and snap.window["max_interaction_id"] > 0
    # the slice read back from the database later (promotion) is the same one
    assert [(e.job_id, e.resume_id, e.kind) for e in snapshot.holdout_events(snap.window)] == [
        (e.job_id, e.resume_id, e.kind) for e in snap.holdout
    ]


def test_restarted_run_reuses_its_version_and_ends_as_a_verified_candidate(
    db, tiny_training, model_storage, settings
):
    """A redelivered task after a worker died mid-training: same version, partial files gone, clean finish."""
    load_synthetic_platform(seed=1)
    run, _ = runs.start_training_run(enqueue=False)
    dead = runs._begin_attempt(run.pk, lock.TrainingLock())  # the attempt that "died"
    stale_version = dead.model_version
    partial = model_storage.save(f"tmp/run{run.pk}-a1-deadbeef.partial", ContentFile(b"half a model"))

    version_id = runs.train_run(run.pk)
    run.refresh_from_db()
    version = ModelVersion.objects.get(pk=version_id)
    assert version_id == stale_version.pk and run.attempt == 2 and ModelVersion.objects.count() == 1
    assert not model_storage.exists(partial) and model_storage.listdir("tmp")[1] == []
    assert version.status == ModelVersion.Status.CANDIDATE
    assert run.epochs == 2 and run.epoch == 2 and run.stage == "compare"
    assert len(run.history) == 2 and "text_bce" in run.history[-1]["losses"]
    assert run.progress["losses"] and 0 < run.progress["kept_fraction"] < 1  # co-teaching dropped pairs
    for key in ("ndcg_at_10", "mrr", "recall_at_50", "auc", "gauc"):
        assert 0.0 <= version.metrics[key] <= 1.0, key
    assert version.metrics["n_queries"] > 0 and version.metrics["zero_shot"]["ndcg_at_10"] is not None
    assert version.data_window["holdout_start"] and version.encoder_version.startswith("hashing-bow")
    with model_storage.open(version.artifact_name, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == version.artifact_sha256
    assert artifacts.load_version_model(version).score_pairs  # loads back through storage

    # a second delivery of the same finished task does nothing
    runs.finish_run(run.pk)
    assert runs.train_run(run.pk) is None

    # the margin decides: an impossible margin keeps zero-shot serving and says why
    settings.PROMOTION_MARGIN = 2.0
    decision = promotion.promote_if_better(version.pk)
    version.refresh_from_db()
    assert not decision.promoted and version.status == ModelVersion.Status.CANDIDATE
    assert "zero-shot cosine" in version.notes and "by more than 2.0000" in version.notes
    assert not ModelVersion.objects.filter(status="active").exists()


def test_promotion_refuses_a_worse_model_and_says_why(db, tiny_training, settings):
    # big enough that a model trained on flipped labels is reliably worse (about 40 held-out jobs)
    load_synthetic_platform(n_jobs=60, n_resumes=150, n_interactions=800, seed=2)
    settings.FIRST_MODEL_POLICY = "always"
    good = _train()
    assert promotion.promote_if_better(good.pk).promoted
    good.refresh_from_db()
    assert (
        good.status == ModelVersion.Status.ACTIVE
        and good.metrics["promotion"]["baseline_kind"] == "zero_shot"
    )

    bad = _train(train_fn=_train_on_flipped_labels)
    comparison = promotion.compare_with_active(bad.pk)
    assert comparison["baseline"]["version"] == good.version
    decision = promotion.promote_if_better(bad.pk)
    bad.refresh_from_db()
    good.refresh_from_db()
    assert not decision.promoted
    assert good.status == ModelVersion.Status.ACTIVE and bad.status == ModelVersion.Status.CANDIDATE
    promo = bad.metrics["promotion"]
    assert promo["baseline_kind"] == "active" and promo["baseline_version"] == good.version
    assert promo["candidate"] < promo["baseline"]
    assert bad.notes.startswith("not promoted: ndcg_at_10") and f"active v{good.version} stays" in bad.notes


def test_activation_refuses_missing_or_corrupt_artifact_and_keeps_current(db, model_storage):
    v1 = _registered(1, b"model one")
    v2 = _registered(2, b"model two")
    activation.activate(v1.pk)
    with model_storage.open(v2.artifact_name, "wb") as f:
        f.write(b"model twX")  # corrupted in storage
    with pytest.raises(errors.ArtifactUnavailable) as err:
        activation.activate(v2.pk)
    assert err.value.code == "artifact_corrupt" and "does not match the recorded" in str(err.value)
    model_storage.delete(v2.artifact_name)
    with pytest.raises(errors.ArtifactUnavailable) as err:
        activation.activate(v2.pk)
    assert err.value.code == "artifact_missing"
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.status == ModelVersion.Status.ACTIVE and v2.status == ModelVersion.Status.CANDIDATE
    failed = _registered(3, b"three", status="failed")
    with pytest.raises(errors.ActivationRefused):
        activation.activate(failed.pk)
    assert list(ModelVersion.objects.filter(status="active").values_list("pk", flat=True)) == [v1.pk]


def test_activate_switches_in_one_step_and_rollback_walks_back(db, model_storage):
    v1, v2, v3 = (_registered(n, f"model {n}".encode()) for n in (1, 2, 3))
    for v in (v1, v2, v3):
        activation.activate(v.pk)
    statuses = dict(ModelVersion.objects.values_list("version", "status"))
    assert statuses == {1: "retired", 2: "retired", 3: "active"}
    assert activation.rollback().pk == v2.pk
    assert activation.rollback().pk == v1.pk  # walks back, does not toggle
    with pytest.raises(errors.NothingToRollBack):
        activation.rollback()
    assert activation.rollback(to_version_id=v3.pk).pk == v3.pk
    assert ModelVersion.objects.filter(status="active").count() == 1
    # a rollback target with a broken artifact is refused; the current one stays
    model_storage.delete(v2.artifact_name)
    with pytest.raises(errors.ArtifactUnavailable):
        activation.rollback(to_version_id=v2.pk)
    assert ModelVersion.objects.get(status="active").pk == v3.pk


def test_failed_artifact_write_leaves_nothing_under_the_final_name(model_storage, monkeypatch):
    import os

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        artifacts.write_artifact(b"x" * 1000, "models/v00001-test.tandem", temp_prefix="run1-a1")
    assert not model_storage.exists("models/v00001-test.tandem")
    assert model_storage.listdir("tmp")[1] == []


def test_one_training_at_a_time(db, tiny_training):
    first, created = runs.start_training_run(enqueue=False)
    again, created_again = runs.start_training_run(enqueue=False)
    assert created and not created_again and again.pk == first.pk
    assert lock.TrainingLock().holder() == first.pk
    runs.fail_run(first.pk, "test over")
    first.refresh_from_db()
    assert first.status == TrainingRun.Status.FAILED and first.error == "test over"
    assert lock.TrainingLock().holder() is None
    third, created = runs.start_training_run(enqueue=False)
    assert created and third.pk != first.pk


def test_a_run_whose_lock_expired_is_marked_abandoned(db, tiny_training):
    orphan, _ = runs.start_training_run(enqueue=False)
    redis_client().delete(tiny_training.TRAINING_LOCK_KEY)  # TTL ran out, worker gone
    fresh, created = runs.start_training_run(enqueue=False)
    orphan.refresh_from_db()
    assert created and orphan.status == "failed" and "lock expired" in orphan.error
    assert runs.train_run(orphan.pk) is None  # a late redelivery of the orphan does nothing
