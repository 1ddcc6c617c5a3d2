"""Queue "embedding": zero-shot document vectors, in dirty-flag batches (see matching.embedding)."""

from __future__ import annotations

from celery import shared_task

from matching import embedding, erasure
from workers.tasks.common import run_with_retry


@shared_task(bind=True, max_retries=8, acks_late=True)
def embed_dirty_documents(self, batch_size: int | None = None, sweep: bool = False) -> dict:
    """Embed one fixed batch of flagged documents; re-queue until no flag is left.

    sweep=True (beat) first flags documents that have no vector in the current encoder space."""
    embedding.clear_request_flag()

    def work() -> embedding.BatchResult:
        if sweep:
            embedding.mark_missing()
        return embedding.process_dirty_batch(batch_size)

    result = run_with_retry(self, work, what="embedding batch")
    if result.remaining:
        embed_dirty_documents.apply_async(kwargs={"batch_size": batch_size})
    return result.__dict__


@shared_task(bind=True, max_retries=8, acks_late=True)
def embed_document(self, kind: str, object_id: int) -> dict:
    """Embed one document now (if its content hash changed)."""
    embedded, unchanged, missing = run_with_retry(
        self, lambda: embedding.embed_documents(kind, [int(object_id)]), what=f"embedding {kind} {object_id}"
    )
    return {"embedded": embedded, "unchanged": unchanged, "missing": len(missing)}


@shared_task(bind=True, max_retries=8, acks_late=True)
def compact_indexes(self, kind: str) -> dict:
    """After an erasure: rewrite the indexes of `kind` without the erased vectors, drop the section cache."""
    erasure.compaction_started(kind)
    return run_with_retry(self, lambda: erasure.compact_after_erasure(kind), what=f"{kind} index compaction")
