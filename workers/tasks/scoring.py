"""Queue "scoring": batch scoring of (job, resume) pairs with the active model, off the request path."""

from __future__ import annotations

from celery import shared_task

from matching.pair_scores import score_stored_pairs
from workers.tasks.common import run_with_retry


@shared_task(bind=True, max_retries=5, acks_late=True)
def score_pairs(self, pairs: list[list[int]]) -> dict:
    """pairs: [[job_id, resume_id], ...] -> {"version": n | None, "scores": [...]} (zero-shot cosine when no
    version is active; null for a pair whose document is gone)."""
    return run_with_retry(self, lambda: score_stored_pairs(pairs), what="pair scoring")
