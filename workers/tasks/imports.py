"""Queue "imports": bulk imports off the request path (recruiting.import_jobs), and the beat's re-send.

A run has its own time limit (IMPORT_TASK_TIME_LIMIT_SECONDS, soft then hard); the worker's memory is bounded by
`--max-memory-per-child` (README). acks_late + reject_on_worker_lost: a worker killed mid-import leaves the
message unacknowledged and the run resumes after its last committed batch.
"""

from __future__ import annotations

from functools import partial

from celery import shared_task
from django.conf import settings

from recruiting import import_jobs
from workers.tasks.common import run_with_retry


@shared_task(
    bind=True,
    max_retries=8,
    acks_late=True,
    soft_time_limit=settings.IMPORT_TASK_TIME_LIMIT_SECONDS,
    time_limit=settings.IMPORT_TASK_TIME_LIMIT_SECONDS + 30,
)
def run_import(self, job_id: int) -> dict:
    """Run or resume one import job; a job another live run holds is looked at again later."""
    outcome = run_with_retry(
        self,
        partial(import_jobs.run_import_job, int(job_id)),
        on_failure=partial(import_jobs.fail_import, int(job_id)),
        what=f"import {job_id}",
    )
    if outcome.status == "busy" and not self.request.is_eager:
        raise self.retry(countdown=settings.IMPORT_STALE_SECONDS, max_retries=None)
    return {"job_id": outcome.job_id, "status": outcome.status}


@shared_task(acks_late=True)
def resend_stale_imports() -> dict:
    """Beat: re-send the jobs whose message was never sent or whose runner died (the job rows are the outbox)."""
    ids = import_jobs.stale_import_ids()
    sent = sum(1 for job_id in ids if import_jobs.queue_import(job_id))
    return {"stale": len(ids), "sent": sent}
