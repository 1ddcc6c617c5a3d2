"""Queue "backfill" (low priority: its own workers, so re-embedding never delays embeddings or training): an
activated version's own retrieval space written behind it (see matching.compat.backfill).

acks_late: a worker killed mid-backfill leaves the message unacknowledged; the redelivered task resumes from the
saved cursor and writes no document twice.
"""

from __future__ import annotations

from functools import partial

from celery import shared_task

from matching.compat.backfill import run_backfill
from workers.tasks.common import run_with_retry


@shared_task(bind=True, max_retries=8, acks_late=True)
def backfill_space(self, version_id: int) -> dict:
    return run_with_retry(self, partial(run_backfill, version_id), what=f"backfill of version {version_id}")
