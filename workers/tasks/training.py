"""Queue "training": the retrain chain train_model -> evaluate_model -> promote_model, and the nightly trigger.

Run the training queue with `--concurrency 1`; the Redis training lock keeps it to one run across machines
anyway. acks_late + reject_on_worker_lost (settings) mean a worker killed mid-training leaves the message
unacknowledged: Redis hands it out again after the visibility timeout and the run restarts cleanly under a
new attempt (matching.registry.train_run is idempotent on the run id).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from matching import registry
from matching.models import ModelVersion
from workers.tasks.common import TRANSIENT_ERRORS, backoff

log = logging.getLogger(__name__)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@shared_task(bind=True, max_retries=None, acks_late=True)
def train_model(self, run_id: int) -> int | None:
    """Snapshot, train, evaluate on the held-out slice, write the artifact, create the candidate version."""
    try:
        return registry.train_run(run_id)
    except registry.Superseded as exc:
        log.warning("%s", exc)
        return None
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= settings.TRAINING_TASK_MAX_RETRIES:
            registry.fail_run(run_id, f"gave up after {self.request.retries} retries: {_error_text(exc)}")
            raise
        log.warning("run %s: transient error, retrying: %s", run_id, exc)
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    except Exception as exc:
        log.exception("run %s failed", run_id)
        registry.fail_run(run_id, _error_text(exc))
        raise


def _version_and_run(version_id):
    version = ModelVersion.objects.filter(pk=version_id).first() if version_id else None
    run = version.training_runs.order_by("-created_at").first() if version else None
    return version, run


@shared_task(bind=True, max_retries=None, acks_late=True)
def evaluate_model(self, version_id: int | None) -> int | None:
    """Evaluate the candidate and the active version on the candidate's held-out slice."""
    version, run = _version_and_run(version_id)
    if version is None or version.status != ModelVersion.Status.CANDIDATE:
        return version_id if version is not None and version.status == ModelVersion.Status.ACTIVE else None
    try:
        registry.compare_with_active(version.pk)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= settings.TRAINING_TASK_MAX_RETRIES:
            if run:
                registry.fail_run(run.pk, f"evaluation: {_error_text(exc)}")
            raise
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    except Exception as exc:
        log.exception("evaluation of v%s failed", version.version)
        if run:
            registry.fail_run(run.pk, f"evaluation: {_error_text(exc)}")
        raise
    return version.pk


@shared_task(bind=True, max_retries=None, acks_late=True)
def promote_model(self, version_id: int | None) -> dict | None:
    """Activate the candidate only if it beats the active version (or zero-shot) on its held-out slice."""
    version, run = _version_and_run(version_id)
    if version is None:
        return None
    try:
        decision = registry.promote_if_better(version.pk)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= settings.TRAINING_TASK_MAX_RETRIES:
            if run:
                registry.fail_run(run.pk, f"promotion: {_error_text(exc)}")
            raise
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    except Exception as exc:
        log.exception("promotion of v%s failed", version.version)
        if run:
            registry.fail_run(run.pk, f"promotion: {_error_text(exc)}")
        raise
    if run:
        registry.finish_run(run.pk)
    log.info("v%s: %s", version.version, decision.reason)
    return {"version_id": version.pk, "promoted": decision.promoted, "reason": decision.reason}


@shared_task(acks_late=True)
def nightly_retrain() -> dict:
    """Beat entry point: start the chain unless a run is in progress (then that one stands)."""
    run, created = registry.start_training_run(requested_by=None, trigger="nightly")
    return {"run_id": run.pk, "created": created}
