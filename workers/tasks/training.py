"""Queue "training": the retrain chain train_model -> evaluate_model -> promote_model, and the nightly trigger.

Run the training queue with `--concurrency 1`; the Redis training lock keeps it to one run across machines
anyway. acks_late + reject_on_worker_lost (settings) mean a worker killed mid-training leaves the message
unacknowledged: Redis hands it out again after the visibility timeout and the run restarts cleanly under a
new attempt (matching.training.runs.train_run is idempotent on the run id).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from celery import shared_task
from django.conf import settings

from matching.model_space import write_active_space
from matching.models import ModelVersion, TrainingRun
from matching.training.dispatch import dispatch_pending_runs
from matching.training.errors import Superseded
from matching.training.promotion import compare_with_active, promote_if_better
from matching.training.runs import fail_run, finish_run, start_training_run, train_run
from workers.tasks.common import run_with_retry

log = logging.getLogger(__name__)


def _fail(run: TrainingRun | None, stage: str) -> Callable[[str], None] | None:
    """Records a failure of `stage` on the run (None: no run to record it on)."""
    if run is None:
        return None
    return lambda error: fail_run(run.pk, f"{stage}: {error}")


def _train_unless_superseded(run_id: int) -> int | None:
    """A newer attempt of the run took over (the task was redelivered): not a failure, nothing to do."""
    try:
        return train_run(run_id)
    except Superseded as exc:
        log.warning("%s", exc)
        return None


def _version_and_run(version_id: int | None) -> tuple[ModelVersion | None, TrainingRun | None]:
    version = ModelVersion.objects.filter(pk=version_id).first() if version_id else None
    run = version.training_runs.order_by("-created_at").first() if version else None
    return version, run


@shared_task(bind=True, max_retries=None, acks_late=True)
def train_model(self, run_id: int) -> int | None:
    """Snapshot, train, evaluate on the held-out slice, write the artifact, create the candidate version."""
    return run_with_retry(
        self,
        partial(_train_unless_superseded, run_id),
        max_retries=settings.TRAINING_TASK_MAX_RETRIES,
        on_failure=partial(fail_run, run_id),
        what=f"run {run_id}",
    )


@shared_task(bind=True, max_retries=None, acks_late=True)
def evaluate_model(self, version_id: int | None) -> int | None:
    """Evaluate the candidate and the active version on the candidate's held-out slice."""
    version, run = _version_and_run(version_id)
    if version is None or version.status != ModelVersion.Status.CANDIDATE:
        return version_id if version is not None and version.status == ModelVersion.Status.ACTIVE else None
    run_with_retry(
        self,
        partial(compare_with_active, version.pk),
        max_retries=settings.TRAINING_TASK_MAX_RETRIES,
        on_failure=_fail(run, "evaluation"),
        what=f"evaluation of v{version.version}",
    )
    return version.pk


@shared_task(bind=True, max_retries=None, acks_late=True)
def promote_model(self, version_id: int | None) -> dict | None:
    """Activate the candidate only if it beats the active version (or zero-shot) on its held-out slice."""
    version, run = _version_and_run(version_id)
    if version is None:
        return None
    decision = run_with_retry(
        self,
        partial(promote_if_better, version.pk),
        max_retries=settings.TRAINING_TASK_MAX_RETRIES,
        on_failure=_fail(run, "promotion"),
        what=f"promotion of v{version.version}",
    )
    if run:
        finish_run(run.pk)
    log.info("v%s: %s", version.version, decision.reason)
    return {"version_id": version.pk, "promoted": decision.promoted, "reason": decision.reason}


@shared_task(bind=True, max_retries=8, acks_late=True)
def write_model_space(self, version_id: int) -> dict | None:
    """Write an activated version's own retrieval space (resumable: a redelivered task skips what is written)."""
    return run_with_retry(self, partial(write_active_space, version_id), what=f"model space of {version_id}")


@shared_task(acks_late=True)
def nightly_retrain() -> dict:
    """Beat entry point: start the chain unless a run is in progress (then that one stands)."""
    run, created = start_training_run(requested_by=None, trigger="nightly")
    return {"run_id": run.pk, "created": created}


@shared_task(acks_late=True)
def dispatch_training() -> dict:
    """Beat (on the default queue, never behind a training): send the runs committed while the broker or Redis
    was down."""
    return dispatch_pending_runs()
