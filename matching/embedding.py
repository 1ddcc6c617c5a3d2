"""Zero-shot document vectors: one DocumentVector per document in the space `encoder:<encoder version>`.

Flow: recruiting sends `document_saved` after a commit; when the content changed, `mark_dirty` flags the
document and `request_embedding` queues one embedding task (debounced through Redis). The task calls
`process_dirty_batch`: it takes a fixed batch of flagged rows in primary-key order, embeds the documents
whose content hash differs from the stored vector's, and clears each flag only if it is still dirty with
the same mark (row locks), so an edit that lands while the batch runs is embedded again by the next batch.
The task re-queues itself until no flag is left; a periodic sweep (beat) catches anything a lost message
left behind and documents that have no vector in the current space (e.g. after an encoder upgrade).

`backfill` does the same in the calling process (manage.py embed_documents); `ensure_document_vector`
embeds one document on demand when a ranking needs its vector before the worker stored it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from config.celery import publish, runs_eagerly
from matching import model_space, selectors
from matching.documents import docs_with_hashes, document_kind
from matching.encoders import current_encoder, encoder_space
from matching.models import DocumentVector, EmbeddingMark
from matching.redis_client import ResilientRedis, redis_client
from matching.section_store import encode_sections, prime_cache, store_sections
from matching.vector_store import replace_vectors
from ml.embedding import EmbeddingCache
from recruiting.models import Job, Resume

log = logging.getLogger(__name__)
_debounce = ResilientRedis(log)  # the queued flag: fail fast, the dirty flags are the durable record

KIND_MODELS = {"job": Job, "resume": Resume}
QUEUED_FLAG_KEY = "tandem:embedding:queued"
QUEUED_FLAG_TTL = 120


# ------------------------------------------------------------------------------------------ marking
def mark_dirty(kind: str, object_ids) -> int:
    """Flag documents for embedding (upsert: dirty=True, a new marked_at). Returns the number flagged."""
    now = timezone.now()
    # In primary-key order, so batches (taken in mark order) follow the documents' primary keys.
    rows = [
        EmbeddingMark(kind=kind, object_id=i, dirty=True, marked_at=now)
        for i in sorted({int(i) for i in object_ids})
    ]
    if not rows:
        return 0
    EmbeddingMark.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["kind", "object_id"],
        update_fields=["dirty", "marked_at"],
        batch_size=2000,
    )
    return len(rows)


def forget(kind: str, object_id: int) -> None:
    """A document was erased: its vectors went with it (FK cascade); drop its flag too."""
    EmbeddingMark.objects.filter(kind=kind, object_id=object_id).delete()


def mark_missing(space: str | None = None) -> int:
    """Flag every document whose vector in `space` (the current encoder's by default) is missing or stale
    (content hash differs): the sweep's safety net for lost messages, failed handlers and encoder upgrades.
    The default sweep also flags documents missing from the active version's ready model space."""
    n = 0 if space else sum(mark_dirty(kind, model_space.missing_in_active(kind)) for kind in KIND_MODELS)
    space = space or encoder_space()
    for kind, model in KIND_MODELS.items():
        fk = "job_id" if kind == "job" else "resume_id"
        current = DocumentVector.objects.filter(
            space=space, content_hash=OuterRef("content_hash"), **{fk: OuterRef("pk")}
        )
        flagged = EmbeddingMark.objects.filter(kind=kind, object_id=OuterRef("pk"), dirty=True)
        ids = list(
            model.objects.exclude(Exists(current)).exclude(Exists(flagged)).values_list("pk", flat=True)
        )
        n += mark_dirty(kind, ids)
    return n


def request_embedding() -> None:
    """Queue one embedding task unless one is already queued (a Redis flag the task clears when it starts).

    Never raises: if Redis is down the flags stay set and the periodic sweep picks them up.
    """
    # The task module calls into this one, so the task is imported where it is queued.
    from workers.tasks.embedding import embed_dirty_documents

    if runs_eagerly():  # in-process (the demo): nothing to debounce, no Redis needed
        embed_dirty_documents.delay()
        return
    client = _debounce.get()
    if client is None:  # Redis failed a moment ago: the flags stay set and the beat re-sends them
        return
    try:
        if not client.set(QUEUED_FLAG_KEY, "1", nx=True, ex=QUEUED_FLAG_TTL):
            return
    except Exception as exc:  # Redis unavailable: the flags stay set and the beat re-sends them
        _debounce.failed("debounce flag", exc)
        return
    publish(embed_dirty_documents.delay, what="embedding")


def clear_request_flag() -> None:
    if runs_eagerly():
        return
    try:
        redis_client().delete(QUEUED_FLAG_KEY)
    except Exception:
        log.warning("could not clear the embedding queued flag", exc_info=True)


def on_document_saved(sender, instance_id, content_changed=True, **kwargs) -> None:
    """recruiting.signals.document_saved receiver (already after commit): flag and queue when content changed."""
    kind = document_kind(sender)
    if kind is None or not content_changed:
        return
    try:
        mark_dirty(kind, [instance_id])
    except Exception:  # the write already committed; never fail the request over derived data
        log.exception("could not flag %s %s for embedding; the sweep will find it", kind, instance_id)
        return
    request_embedding()


def on_interaction_recorded(sender, job_id=None, resume_id=None, **kwargs) -> None:
    """An interaction changes both documents' vectors in the active model space (their relation view and
    history): flag them, so the worker rewrites them. Nothing to do without a ready model space."""
    on_interactions_imported(sender, pairs=[(job_id, resume_id)])


def on_interactions_imported(sender, pairs=(), **kwargs) -> None:
    version = selectors.active_model_version()
    if version is None or not version.space_ready:
        return
    try:
        mark_dirty("job", [j for j, _ in pairs if j is not None])
        mark_dirty("resume", [r for _, r in pairs if r is not None])
    except Exception:  # the interaction already committed; the sweep repairs the model space
        log.exception("could not flag %d interaction pairs for the model space", len(pairs))
        return
    request_embedding()


def on_documents_imported(sender, instance_ids=(), **kwargs) -> None:
    """One import batch: flag its documents together and queue one embedding task."""
    kind = document_kind(sender)
    if kind is None or not instance_ids:
        return
    try:
        mark_dirty(kind, instance_ids)
    except Exception:  # the import already committed; the sweep will find them
        log.exception("could not flag %d imported %ss for embedding", len(instance_ids), kind)
        return
    request_embedding()


def on_document_erased(sender, instance_id, **kwargs) -> None:
    kind = document_kind(sender)
    if kind is not None:
        forget(kind, instance_id)


# ------------------------------------------------------------------------------------------ processing
@dataclass
class BatchResult:
    taken: int = 0  # flagged rows in the batch
    embedded: int = 0  # documents encoded and written
    unchanged: int = 0  # content hash equal to the stored vector's: nothing written
    missing: int = 0  # documents gone since they were flagged
    cleared: int = 0  # flags cleared (the rest were re-marked meanwhile)
    remaining: bool = False


def embed_documents(kind: str, ids: list[int], *, encoder=None) -> tuple[int, int, set[int]]:
    """Embed the documents whose stored vector (current space) has a different content hash.

    Returns (embedded, unchanged, missing ids)."""
    encoder = encoder or current_encoder()
    space = encoder_space(encoder)
    docs = docs_with_hashes(kind, ids)
    missing = set(ids) - set(docs)
    fk = "job_id" if kind == "job" else "resume_id"
    stored = dict(
        DocumentVector.objects.filter(space=space, **{f"{fk}__in": list(docs)}).values_list(
            fk, "content_hash"
        )
    )
    todo = [(pk, h, d) for pk, (h, d) in sorted(docs.items()) if stored.get(pk) != h]
    if todo:
        # The section vectors too (the last section is the whole text: the zero-shot vector), so serving
        # reranks these documents without running the encoder.
        # A batch-local cache: a text repeated in the batch is encoded once, and a section an edit left
        # unchanged is read back from the document's stored section vectors.
        cache = EmbeddingCache(encoder)
        prime_cache(cache, kind, [(pk, d) for pk, _, d in todo])
        sections = encode_sections(cache, [d for _, _, d in todo], batch_size=settings.EMBEDDING_BATCH_SIZE)
        replace_vectors(space, kind, [(pk, h, sections[n, -1]) for n, (pk, h, _) in enumerate(todo)])
        store_sections(encoder.version, kind, [(pk, h, d, sections[n]) for n, (pk, h, d) in enumerate(todo)])
    model_space.refresh_active(kind, sorted(docs))  # the active version's space, where it is ready
    return len(todo), len(docs) - len(todo), missing


def process_dirty_batch(batch_size: int | None = None, *, encoder=None) -> BatchResult:
    batch_size = batch_size or settings.EMBEDDING_DIRTY_BATCH
    marks = list(
        EmbeddingMark.objects.filter(dirty=True)
        .order_by("id")
        .values("id", "kind", "object_id", "marked_at")[:batch_size]
    )
    result = BatchResult(taken=len(marks))
    if not marks:
        return result
    gone: set[tuple[str, int]] = set()
    for kind in KIND_MODELS:
        ids = [m["object_id"] for m in marks if m["kind"] == kind]
        if ids:
            embedded, unchanged, missing = embed_documents(kind, ids, encoder=encoder)
            result.embedded += embedded
            result.unchanged += unchanged
            result.missing += len(missing)
            gone |= {(kind, i) for i in missing}
    now = timezone.now()
    with transaction.atomic():
        seen = {m["id"]: m["marked_at"] for m in marks}
        locked = EmbeddingMark.objects.select_for_update().filter(id__in=list(seen), dirty=True)
        for mark in locked:
            if mark.marked_at != seen[mark.id]:
                continue  # re-marked while we worked: leave it for the next batch
            if (mark.kind, mark.object_id) in gone:
                mark.delete()
            else:
                EmbeddingMark.objects.filter(pk=mark.pk).update(dirty=False, processed_at=now)
            result.cleared += 1
    result.remaining = EmbeddingMark.objects.filter(dirty=True).exists()
    return result


def backfill(
    *, batch_size: int | None = None, on_batch: Callable[[BatchResult, int], None] | None = None
) -> BatchResult:
    """Flag every document without a current vector, then embed the flagged ones batch by batch.

    `on_batch(result, flagged_at_start)` runs after each batch (a progress bar). Returns the totals."""
    mark_missing()
    total = BatchResult()
    flagged = EmbeddingMark.objects.filter(dirty=True).count()
    while True:
        r = process_dirty_batch(batch_size)
        for f in fields(BatchResult):
            if f.name != "remaining":
                setattr(total, f.name, getattr(total, f.name) + getattr(r, f.name))
        if on_batch is not None:
            on_batch(r, flagged)
        if not r.remaining or r.taken == 0:
            return total


# ------------------------------------------------------------------------------------------ on demand
def ensure_document_vector(
    kind: str, obj: Job | Resume, doc, *, space: str, encoder
) -> tuple[np.ndarray, bool]:
    """The encoder-space vector of one document (`doc`: its JobDoc/ResumeDoc), fresh for its content.

    Reads the stored DocumentVector; when there is none yet, or it is for older content (the embedding
    worker has not caught up), embeds `doc.full_text()` now and stores it (same text and hash convention
    as `embed_documents`), so the worker finds it done. Returns (vector, embedded_now).
    """
    fk = "job" if kind == DocumentVector.Kind.JOB else "resume"
    row = (
        DocumentVector.objects.filter(space=space, **{fk: obj}).values_list("content_hash", "vector").first()
    )
    if row is not None and row[0] == obj.content_hash:
        return np.frombuffer(bytes(row[1]), dtype="<f4").astype(np.float32), False
    vec = encoder.encode([doc.full_text()])[0]
    try:
        with transaction.atomic():
            DocumentVector.objects.update_or_create(
                space=space,
                **{fk: obj},
                defaults={
                    "kind": kind,
                    "content_hash": obj.content_hash,
                    "dim": int(vec.shape[0]),
                    "vector": DocumentVector.to_bytes(vec),
                },
            )
    except IntegrityError:  # the worker stored it at the same moment; its vector is as good as ours
        pass
    return vec.astype(np.float32), True
