"""Sending training runs to the workers without making a request wait on Redis (the runs are the outbox).

A run is committed `queued` first; sending its chain is attempted once it commits (`send_run`, the fail-fast
`publish`). When the broker refuses or stalls the run stays queued with no task id, and the beat's
`dispatch_pending_runs` sends it once the broker answers again. When Redis (the training lock) is down at the
start, the run is still committed queued, without the lock (`queue_without_lock`), one at a time by a
PostgreSQL advisory lock; the dispatcher takes the training lock for it before sending. Either way one run at a
time: a pending run is sent only while it holds the training lock, and a start while one is pending returns it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from celery import chain
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.celery import publish
from matching.models import TrainingRun
from matching.training.lock import training_lock

log = logging.getLogger(__name__)

# The training lock's store is unreachable: start the run without it.
LOCK_DOWN = (redis.ConnectionError, redis.TimeoutError)
_ACTIVE = (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING)
_START_LOCK = 7_316_016  # pg_advisory_xact_lock key serialising lockless starts
# The stage of a queued run the dispatcher still has to send (shown by the API and the models page).
WAITING = "waiting for the broker"


def enqueue_training(run_id: int) -> str:
    """The chain train -> evaluate -> promote for one run. Returns the train task's id."""
    # The task module calls into this one, so the tasks are imported where they are queued.
    from workers.tasks.training import evaluate_model, promote_model, train_model

    result = chain(train_model.s(run_id), evaluate_model.s(), promote_model.s()).apply_async()
    task_id = result.parent.parent.id if result.parent and result.parent.parent else result.id
    TrainingRun.objects.filter(pk=run_id, stage=WAITING).update(stage="")
    TrainingRun.objects.filter(pk=run_id).update(celery_task_id=task_id or "")
    return task_id


def send_run(run_id: int) -> bool:
    """Send the run's chain; False (logged) when the broker is down: the run stays queued for the dispatcher."""
    sent = publish(lambda: enqueue_training(run_id), what=f"training run {run_id}")
    if not sent:
        TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(stage=WAITING)
    return sent


def pending_runs():
    """Queued runs whose chain could not be sent (the broker or Redis was down), oldest first."""
    return TrainingRun.objects.filter(status=TrainingRun.Status.QUEUED, stage=WAITING).order_by("created_at")


def queue_without_lock(*, requested_by, trigger: str, config: dict) -> tuple[TrainingRun, bool]:
    """The run in progress, else a new queued run committed without the training lock (Redis is down)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_START_LOCK])
        current = TrainingRun.objects.filter(status__in=_ACTIVE).order_by("-created_at").first()
        if current is not None:
            return current, False
        run = TrainingRun.objects.create(
            status=TrainingRun.Status.QUEUED,
            requested_by=requested_by,
            trigger=trigger,
            config=config,
            stage=WAITING,
        )
    log.warning("training lock unreachable: run %s committed queued, the dispatcher sends it", run.pk)
    return run, True


def _holds_lock(lock, run: TrainingRun) -> bool:
    """Take (or keep) the training lock for `run`; False while another active run holds it."""
    holder = lock.holder()
    if holder is not None and holder != run.pk:
        if TrainingRun.objects.filter(pk=holder, status__in=_ACTIVE).exists():
            return False
        lock.release(holder)  # a finished run's lock that was never released
    return lock.acquire(run.pk)


def dispatch_pending_runs() -> dict:
    """Beat: send the oldest pending run older than TRAINING_DISPATCH_SECONDS once it holds the training lock."""
    cutoff = timezone.now() - timedelta(seconds=settings.TRAINING_DISPATCH_SECONDS)
    pending = list(pending_runs().filter(created_at__lte=cutoff)[:5])
    lock = training_lock()
    for run in pending:
        try:
            if not _holds_lock(lock, run):
                continue
        except LOCK_DOWN as exc:
            log.warning("training dispatch: Redis still down (%s)", exc)
            return {"pending": len(pending), "sent": 0}
        return {"pending": len(pending), "sent": int(send_run(run.pk)), "run_id": run.pk}
    return {"pending": len(pending), "sent": 0}
