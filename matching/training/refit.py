"""The final refit: a promoted candidate trained again with the held-out slice before it is indexed and served.

Warm by default (``TrainConfig.refit_epochs``): a few epochs from the measured model's weights on the whole window,
so the nightly run does not pay for its training twice (bench/training_scale.py; the choice of epochs:
bench/refit_validation.py, on a validation split carved from training)."""

from __future__ import annotations

import dataclasses
import hashlib
import time

from django.conf import settings
from django.db import transaction

from matching.erasure import model_artifact
from matching.models import ModelVersion, TrainingRun
from matching.training import encoder_upgrade
from matching.training.artifacts import ARTIFACT_DIR, read_verified_artifact, write_artifact
from matching.training.lock import training_lock
from matching.training.runs import train_with_cache
from matching.training.snapshot import window_data
from ml.artifacts import load_state_from_bytes
from ml.network import TrainConfig, train, warm_start_weights


def refit_version(version: ModelVersion, *, train_fn=None) -> bool:
    """Retrain a promoted candidate on its whole data window, held-out slice included, with its own config.

    The held-out slice is the most recent 15% of the interactions: the promotion check needs it unseen,
    but serving without it would ignore the freshest behaviour. Returns True when the version's artifact was
    replaced; idempotent (a redelivered task finds the refit recorded). The measured artifact stays in
    storage, named in metrics["refit"]."""
    if not settings.TRAINING_FINAL_REFIT or "refit" in version.metrics:
        return False
    t = time.monotonic()
    config = TrainConfig.from_dict(version.config)
    init = None
    if config.refit_epochs:  # warm: a few epochs from the measured weights (read before the window's data)
        init = warm_start_weights(load_state_from_bytes(read_verified_artifact(version)))
        config = dataclasses.replace(config, epochs=min(config.refit_epochs, config.epochs))
    data = window_data(version.data_window)
    interactions = len(data.interactions)
    encoder = encoder_upgrade.training_encoder(version)  # its fine-tuned encoder, if it was trained on one
    model = train_with_cache(data, config, encoder, _RefitProgress(version), train_fn or train, init)
    del data  # what the model keeps of it stays; the rest goes before the artifact is written
    blob = model_artifact(model)
    del model
    name, sha = write_artifact(
        blob,
        f"{ARTIFACT_DIR}/v{version.version:05d}-refit-{hashlib.sha256(blob).hexdigest()[:12]}.tandem",
        temp_prefix=f"refit-v{version.version}",
    )
    refit = {
        "interactions": interactions,
        "epochs": config.epochs,
        "warm_start": init is not None,
        "measured_artifact": version.artifact_name,
        "measured_sha256": version.artifact_sha256,
        "seconds": round(time.monotonic() - t, 3),
    }
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().get(pk=version.pk)
        current.metrics = {**current.metrics, "refit": refit}
        current.artifact_name, current.artifact_sha256 = name, sha
        current.save(update_fields=["metrics", "artifact_name", "artifact_sha256"])
    version.refresh_from_db()
    return True


class _RefitProgress:
    """The refit's epochs on its run (stage "refit"); the run's training history stays the measured model's."""

    def __init__(self, version: ModelVersion):
        run = version.training_runs.order_by("-created_at").first()
        self.run = run if run is not None and run.status == TrainingRun.Status.RUNNING else None
        self.last: tuple = ()
        if self.run is not None:
            TrainingRun.objects.filter(pk=self.run.pk).update(stage="refit")

    def __call__(self, p) -> None:
        if self.run is None or (p.stage, p.epoch) == self.last:
            return
        self.last = (p.stage, p.epoch)
        TrainingRun.objects.filter(pk=self.run.pk).update(stage="refit", epoch=p.epoch, epochs=p.epochs)
        training_lock().extend(self.run.pk)
