"""Writers: a full build publishes a new base artifact; a change publishes one delta file; both raise
``VectorIndex.generation`` under a row lock, so writers in different processes serialise."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence

import numpy as np
from django.db import transaction
from django.utils import timezone

from matching.index.core import Index, normalise
from matching.index.engines import choose_backend, max_deltas
from matching.index.storage import (
    apply_delta_bytes,
    artifact_name_for,
    base_generation,
    delete_quietly,
    delta_bytes,
    delta_name_for,
    load_vectors,
    read_file,
    write_file,
)
from matching.models import VectorIndex

log = logging.getLogger(__name__)


def build_index(space: str, kind: str, *, backend: str | None = None) -> tuple[VectorIndex, Index]:
    """(Re)build the index of (space, kind) from PostgreSQL and publish it as a new generation.

    Processes pick the new generation up on their next ``LoadedIndexes.get``; ``LoadedIndexes.rebuild``
    also puts it into the calling process's indexes at once.

    Changes published while the vectors were being read are replayed on top before publishing, so a
    concurrent `apply_changes` is never lost.
    """
    row0 = VectorIndex.objects.filter(space=space, kind=kind).values("generation", "artifact_name").first()
    g0 = row0["generation"] if row0 else 0
    t0 = time.monotonic()
    ids, vecs = load_vectors(space, kind)
    idx = Index.build(ids, vecs, backend=backend)
    with transaction.atomic():
        row, _ = VectorIndex.objects.select_for_update().get_or_create(space=space, kind=kind)
        old_name = row.artifact_name
        if old_name and row.generation > g0:
            for g in range(g0 + 1, row.generation + 1):
                try:
                    apply_delta_bytes(idx, read_file(delta_name_for(old_name, g)))
                except FileNotFoundError:
                    pass
        gen = row.generation + 1
        name = artifact_name_for(space, kind, gen)
        blob = idx.to_bytes()
        name = write_file(name, blob)
        row.backend = idx.backend
        row.generation = gen
        row.size = len(idx)
        row.artifact_name = name
        row.artifact_sha256 = hashlib.sha256(blob).hexdigest()
        row.built_at = timezone.now()
        row.save()
        if old_name and old_name != name:
            stale = [old_name] + [
                delta_name_for(old_name, g) for g in range(base_generation(old_name) + 1, gen + 1)
            ]
            transaction.on_commit(lambda: delete_quietly(stale))
    log.info(
        "built %s index %s/%s: %d vectors, generation %d, %.2fs",
        idx.kind_label,
        space,
        kind,
        len(idx),
        gen,
        time.monotonic() - t0,
    )
    return row, idx


def apply_changes(
    space: str,
    kind: str,
    *,
    upsert_ids: Sequence[int] = (),
    upsert_vectors: np.ndarray | None = None,
    remove_ids: Sequence[int] = (),
) -> int | None:
    """Publish one change (insertions/updates and removals) as the next generation of the index.

    Returns the new generation, or None when the index has never been built (the first build reads
    PostgreSQL, so it will include the change).
    """
    up_ids = np.asarray(list(upsert_ids), dtype=np.int64)
    rm_ids = np.asarray(list(remove_ids), dtype=np.int64)
    if len(up_ids) == 0 and len(rm_ids) == 0:
        return None
    up_vecs = normalise(upsert_vectors) if len(up_ids) else np.zeros((0, 0), dtype=np.float32)
    with transaction.atomic():
        row = VectorIndex.objects.select_for_update().filter(space=space, kind=kind).first()
        if row is None or not row.artifact_name:
            return None
        gen = row.generation + 1
        write_file(delta_name_for(row.artifact_name, gen), delta_bytes(up_ids, up_vecs, rm_ids))
        row.generation = gen
        row.save(update_fields=["generation", "updated_at"])
    return gen


def needs_rebuild(row: VectorIndex, live_size: int | None = None) -> bool:
    """Too many deltas on one base, or the size crossed ANN_MIN_SIZE in either direction."""
    if not row.artifact_name:
        return True
    if row.generation - base_generation(row.artifact_name) > max_deltas():
        return True
    return live_size is not None and choose_backend(live_size) != row.backend
