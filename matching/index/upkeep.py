"""Keep the nearest-neighbour indexes and the match cache in step with the documents.

Connected by `connect_match_signals()` (call it from `MatchingConfig.ready()`; idempotent):

* ``DocumentVector`` saved (the embedding worker's ``update_or_create``, or an on-the-fly embedding):
  after the transaction commits, the new vectors are published to the index of their (space, kind)
  as one delta per transaction (``index.apply_changes``), and cached rankings that mention the
  document are dropped.
* ``document_erased`` (a resume or job erased): removed from every index of its kind at once and
  every cached ranking that mentions it is dropped. (The ranking also re-checks its hits against
  PostgreSQL, so an erased resume never shows even before the delta is read.)
* ``document_saved``: cached rankings that mention the document are dropped (content, status,
  location or remote may have changed); its new vector arrives through the first bullet.
* ``documents_imported`` / ``interactions_imported`` (one per committed import batch): the same as the
  per-object signals, for every document or pair of the batch.
* ``interaction_recorded``: cached rankings that mention the job or the resume are dropped (e.g. a
  reject must take effect for ``exclude=rejected``).
* ``matching.signals.model_activated``: every cached ranking of other versions is dropped (the model
  tag in the key changes anyway, so none could be served).

`build_model_space(version)` indexes a trained model's retrieval vectors once the worker has stored
them. `rebuild_stale_indexes()` and `reconcile_index()` are for a periodic task.
"""

from __future__ import annotations

import logging
import threading

from django.db import transaction
from django.db.models.signals import post_save

from matching import cache
from matching.documents import document_kind
from matching.encoders import model_space
from matching.index.build import apply_changes, needs_rebuild
from matching.index.engines import choose_backend
from matching.index.loaded import loaded_indexes
from matching.index.storage import load_vectors
from matching.models import DocumentVector, ModelVersion, VectorIndex
from matching.signals import model_activated
from recruiting import signals as rsignals

log = logging.getLogger(__name__)

_pending = threading.local()


# --------------------------------------------------------------------------------------- changes
def vectors_stored(space: str, kind: str, object_ids) -> int | None:
    """Publish the stored vectors of these documents to the (space, kind) index (if it is built)."""
    ids = sorted({int(i) for i in object_ids})
    if not ids:
        return None
    found, vecs = load_vectors(space, kind, ids=ids)
    gone = sorted(set(ids) - set(found.tolist()))
    gen = apply_changes(space, kind, upsert_ids=found, upsert_vectors=vecs, remove_ids=gone)
    for oid in ids:
        cache.invalidate_document(kind, oid)
    _maybe_rebuild(space, kind)
    return gen


def document_removed(kind: str, object_id: int) -> list[int]:
    """Remove a document from every index of its kind and from the cache. Returns the new generations."""
    gens = []
    for space in VectorIndex.objects.filter(kind=kind).values_list("space", flat=True):
        gen = apply_changes(space, kind, remove_ids=[object_id])
        if gen is not None:
            gens.append(gen)
    cache.invalidate_document(kind, object_id)
    return gens


def _maybe_rebuild(space: str, kind: str) -> None:
    row = VectorIndex.objects.filter(space=space, kind=kind).first()
    if row is None:
        return
    loaded = loaded_indexes.peek(
        space, kind
    )  # never loads an index just to decide (the worker may not hold one)
    live = len(loaded.index) if loaded and loaded.generation == row.generation else None
    if needs_rebuild(row, live):
        # Small indexes rebuild inline (under a second); large ones are left to `rebuild_stale_indexes`.
        if (live or row.size) < 50_000:
            loaded_indexes.rebuild(space, kind)
        else:
            log.info("index %s/%s needs a rebuild; left to the periodic task", space, kind)


def rebuild_stale_indexes() -> list[tuple[str, str]]:
    """Rebuild every index with too many deltas or on the wrong back-end for its size."""
    done = []
    for row in VectorIndex.objects.all():
        loaded = loaded_indexes.get(row.space, row.kind, build=False)
        live = len(loaded.index) if loaded else row.size
        if needs_rebuild(row, live) or choose_backend(live) != row.backend:
            loaded_indexes.rebuild(row.space, row.kind)
            done.append((row.space, row.kind))
    return done


def reconcile_index(space: str, kind: str) -> dict:
    """Compare the index with PostgreSQL and publish what differs (missing or extra documents)."""
    loaded = loaded_indexes.get(space, kind)
    fk = "job_id" if kind == "job" else "resume_id"
    in_db = set(DocumentVector.objects.filter(space=space, kind=kind).values_list(fk, flat=True))
    in_index = set(loaded.index.ids().tolist()) if loaded else set()
    missing, extra = sorted(in_db - in_index), sorted(in_index - in_db)
    if missing:
        found, vecs = load_vectors(space, kind, ids=missing)
        apply_changes(space, kind, upsert_ids=found, upsert_vectors=vecs)
    if extra:
        apply_changes(space, kind, remove_ids=extra)
    return {"added": len(missing), "removed": len(extra)}


def build_model_space(version: int) -> list[VectorIndex]:
    """Index a trained model's retrieval vectors (space ``model:<version>``) for both kinds."""
    rows = []
    for kind in ("job", "resume"):
        if DocumentVector.objects.filter(space=model_space(version), kind=kind).exists():
            rows.append(loaded_indexes.rebuild(model_space(version), kind)[0])
    return rows


def on_model_activated(version: int | None = None) -> int:
    """Drop every cached ranking (correctness does not depend on it: a cached answer's fingerprint names the
    version that ranked it, matching.ranking)."""
    return cache.invalidate_all(keep_tag=f"v{version}" if version is not None else None)


# --------------------------------------------------------------------------------------- receivers
def _flush_pending() -> None:
    pending: dict[tuple[str, str], set[int]] = getattr(_pending, "items", None) or {}
    _pending.items = {}
    for (space, kind), ids in pending.items():
        try:
            vectors_stored(space, kind, ids)
        except Exception:
            log.exception("could not publish %d %s vectors of %s to the index", len(ids), kind, space)


def on_vector_saved(sender, instance: DocumentVector, **kwargs) -> None:
    items = getattr(_pending, "items", None)
    if items is None:
        items = _pending.items = {}
    items.setdefault((instance.space, instance.kind), set()).add(instance.object_id)
    transaction.on_commit(_flush_pending)


def on_document_erased(sender, instance_id, **kwargs) -> None:
    kind = document_kind(sender)
    if kind is not None:
        document_removed(kind, instance_id)
        from matching.erasure import request_compaction  # erasure imports index.build, like this module

        request_compaction(kind)


def on_document_saved(sender, instance_id, content_changed=True, **kwargs) -> None:
    kind = document_kind(sender)
    if kind is not None:
        cache.invalidate_document(kind, instance_id)


def on_documents_imported(sender, saved_ids=(), **kwargs) -> None:
    """One import batch: cached rankings naming any document it changed are dropped (the new vectors
    reach the index through the embedding worker, one delta per batch)."""
    kind = document_kind(sender)
    if kind is not None:
        for object_id in saved_ids:
            cache.invalidate_document(kind, object_id)


def on_interactions_imported(sender, pairs=(), **kwargs) -> None:
    for job_id, resume_id in pairs:
        on_interaction_recorded(sender, job_id=job_id, resume_id=resume_id)


def on_interaction_recorded(sender, job_id=None, resume_id=None, **kwargs) -> None:
    if job_id is not None:
        cache.invalidate_document("job", job_id)
    if resume_id is not None:
        cache.invalidate_document("resume", resume_id)


def on_model_activated_signal(sender, version_id=None, **kwargs) -> None:
    """matching.signals.model_activated receiver (sent after the activation commits)."""
    number = ModelVersion.objects.filter(pk=version_id).values_list("version", flat=True).first()
    on_model_activated(number)


def connect_match_signals() -> None:
    model_activated.connect(on_model_activated_signal, dispatch_uid="matching.cache.model_activated")
    post_save.connect(on_vector_saved, sender=DocumentVector, dispatch_uid="matching.index.vector_saved")
    rsignals.document_erased.connect(on_document_erased, dispatch_uid="matching.index.document_erased")
    rsignals.document_saved.connect(on_document_saved, dispatch_uid="matching.index.document_saved")
    rsignals.interaction_recorded.connect(
        on_interaction_recorded, dispatch_uid="matching.index.interaction_recorded"
    )
    rsignals.documents_imported.connect(
        on_documents_imported, dispatch_uid="matching.index.documents_imported"
    )
    rsignals.interactions_imported.connect(
        on_interactions_imported, dispatch_uid="matching.index.interactions_imported"
    )


def disconnect_match_signals() -> None:
    model_activated.disconnect(dispatch_uid="matching.cache.model_activated")
    post_save.disconnect(sender=DocumentVector, dispatch_uid="matching.index.vector_saved")
    rsignals.document_erased.disconnect(dispatch_uid="matching.index.document_erased")
    rsignals.document_saved.disconnect(dispatch_uid="matching.index.document_saved")
    rsignals.interaction_recorded.disconnect(dispatch_uid="matching.index.interaction_recorded")
    rsignals.documents_imported.disconnect(dispatch_uid="matching.index.documents_imported")
    rsignals.interactions_imported.disconnect(dispatch_uid="matching.index.interactions_imported")
