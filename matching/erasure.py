"""What erasing a document leaves to clean outside PostgreSQL, done by a worker after the erasure commits.

The erasure itself (recruiting.services) deletes the rows, the file and, by cascade, the stored vectors; the
`document_erased` receiver removes the document from every loaded index at once (a delta). That delta only
tombstones the document: the index's base file still holds its vector. `compact_after_erasure` rewrites every
index of the kind from PostgreSQL (the base file and its deltas are deleted when the new one commits) and drops
the section-embedding cache file, which holds vectors of the erased document's sections under their text
hashes; the next training rebuilds it.
"""

from __future__ import annotations

import logging
import os

from django.conf import settings

from config.celery import publish, runs_eagerly
from matching.index.build import build_index
from matching.models import VectorIndex
from matching.redis_client import ResilientRedis

log = logging.getLogger(__name__)
_flags = ResilientRedis(log)


def compact_after_erasure(kind: str) -> dict:
    spaces = list(
        VectorIndex.objects.filter(kind=kind).exclude(artifact_name="").values_list("space", flat=True)
    )
    for space in spaces:
        build_index(space, kind)
    return {"kind": kind, "indexes_rewritten": len(spaces), "section_cache_dropped": drop_section_cache()}


def drop_section_cache() -> bool:
    """Delete the section-embedding cache file and this process's in-memory copy of it."""
    from ml import embedding as ml_embedding

    with ml_embedding._singleton_lock:
        ml_embedding._shared_caches.clear()
    path = getattr(settings, "TRAINING_EMBEDDING_CACHE", "")
    if not path:
        return False
    try:
        os.remove(path)
    except FileNotFoundError:
        return False
    return True


def _flag(kind: str) -> str:
    return f"tandem:compaction:queued:{kind}"


def request_compaction(kind: str) -> None:
    """Queue one compaction of `kind` (in process when eager) unless one is queued and not started yet (a
    Redis flag the task clears when it starts), so erasing a whole organization rewrites each index once, a
    few seconds later. Never raises: without Redis or a broker it is left to the next request or rebuild."""
    # The task module calls into this one, so the task is imported where it is queued.
    from workers.tasks.embedding import compact_indexes

    if runs_eagerly():
        compact_indexes.delay(kind)
        return
    client = _flags.get()
    if client is None:
        return
    try:
        if not client.set(_flag(kind), "1", nx=True, ex=settings.COMPACTION_DELAY_SECONDS + 600):
            return
    except Exception as exc:
        _flags.failed("compaction flag", exc)
        return
    publish(
        lambda: compact_indexes.apply_async(args=[kind], countdown=settings.COMPACTION_DELAY_SECONDS),
        what=f"{kind} index compaction",
    )


def compaction_started(kind: str) -> None:
    """Clear the queued flag: an erasure committed from now on queues a compaction of its own."""
    client = None if runs_eagerly() else _flags.get()
    if client is None:
        return
    try:
        client.delete(_flag(kind))
    except Exception as exc:
        _flags.failed("compaction flag", exc)
