"""Training progress: the ml trainer's callback written to the TrainingRun row, and a signal for CLI bars."""

from __future__ import annotations

import time

from django.conf import settings
from django.utils import timezone

from matching.models import TrainingRun
from matching.signals import training_progress
from matching.training.errors import Superseded, TrainingBusy
from matching.training.lock import LocalTrainingLock, TrainingLock


class ProgressWriter:
    """ml.network progress callback -> TrainingRun row, throttled; epoch ends and stage changes always written.

    Every write is conditional on the run still being on this attempt (else `Superseded`), and extends the lock.
    """

    def __init__(self, run_id: int, attempt: int, lock: TrainingLock | LocalTrainingLock | None):
        self.run_id, self.attempt, self.lock = run_id, attempt, lock
        self.interval = settings.TRAINING_PROGRESS_INTERVAL
        self.last_write = 0.0
        self.last_key: tuple = ()
        self.history: list[dict] = []
        self.progress: dict = {}

    def stage(self, stage: str, **progress) -> None:
        """A stage of ours begins (snapshot, encode, evaluate, artifact): the last losses stay visible."""
        self.progress = {**self.progress, "stage_started_at": timezone.now().isoformat(), **progress}
        self._write({"stage": stage, "progress": self.progress})

    def __call__(self, p) -> None:
        now = time.monotonic()
        key = (p.stage, p.epoch)
        if p.stage == "train":
            self.history.append(
                {
                    "epoch": p.epoch,
                    "losses": {k: round(float(v), 6) for k, v in p.losses.items()},
                    "kept_fraction": p.kept_fraction,
                    "clean_kept_fraction": p.clean_kept_fraction,
                    "at": timezone.now().isoformat(),
                }
            )
        if key == self.last_key and now - self.last_write < self.interval:
            return
        self.last_key = key
        if p.stage == "train" or "losses" not in self.progress:
            self.progress = {
                **self.progress,
                "losses": {k: float(v) for k, v in p.losses.items()},
                "kept_fraction": p.kept_fraction,
                "clean_kept_fraction": p.clean_kept_fraction,
            }
        self.progress["updated_at"] = timezone.now().isoformat()
        fields = {
            "stage": p.stage,
            "epoch": p.epoch,
            "epochs": p.epochs,
            "progress": self.progress,
            "history": self.history,
        }
        self._write(fields)

    def _write(self, fields: dict) -> None:
        self.last_write = time.monotonic()
        n = TrainingRun.objects.filter(
            pk=self.run_id, attempt=self.attempt, status=TrainingRun.Status.RUNNING
        ).update(**fields)
        if n == 0:
            raise Superseded(f"run {self.run_id} attempt {self.attempt} is no longer current")
        training_progress.send(sender=TrainingRun, run_id=self.run_id, fields=fields)
        if self.lock is not None and not self.lock.extend(self.run_id):
            # Expired (e.g. Redis restarted): take it again unless another run holds it now.
            if not self.lock.acquire(self.run_id):
                raise TrainingBusy(f"run {self.run_id} lost the training lock to run {self.lock.holder()}")
