"""Queue "embedding": zero-shot document vectors, in dirty-flag batches (see matching.embedding_services)."""

from __future__ import annotations

import logging

from celery import shared_task

from matching import embedding_services
from workers.tasks.common import TRANSIENT_ERRORS, backoff

log = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=8, acks_late=True)
def embed_dirty_documents(self, batch_size: int | None = None, sweep: bool = False) -> dict:
    """Embed one fixed batch of flagged documents; re-queue until no flag is left.

    sweep=True (beat) first flags documents that have no vector in the current encoder space."""
    embedding_services.clear_request_flag()
    try:
        if sweep:
            embedding_services.mark_missing()
        result = embedding_services.process_dirty_batch(batch_size)
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    if result.remaining:
        embed_dirty_documents.apply_async(kwargs={"batch_size": batch_size})
    return result.__dict__


@shared_task(bind=True, max_retries=8, acks_late=True)
def embed_document(self, kind: str, object_id: int) -> dict:
    """Embed one document now (if its content hash changed)."""
    try:
        embedded, unchanged, missing = embedding_services.embed_documents(kind, [int(object_id)])
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    return {"embedded": embedded, "unchanged": unchanged, "missing": len(missing)}
