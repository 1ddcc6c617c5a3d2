"""Writing stored vectors in bulk: one transaction per batch, then one index delta for the batch.

A per-row `update_or_create` costs five queries a vector (savepoints, select, insert or update); a batch of
hundreds is one select, one update and one insert here. The written vectors are published to their space's index when
that index is built (a space never indexed yet is indexed from PostgreSQL when first searched).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.db import transaction
from django.utils import timezone

from matching.index.upkeep import vectors_stored
from matching.models import DocumentVector, VectorIndex


def _fk(kind: str) -> str:
    return "job_id" if kind == DocumentVector.Kind.JOB else "resume_id"


def replace_vectors(space: str, kind: str, items: Sequence[tuple[int, str, np.ndarray]]) -> int:
    """Store (document id, content hash, vector) for each item in `space`: a document's row is updated in
    place when it has one, created otherwise."""
    if not items:
        return 0
    fk = _fk(kind)
    ids = [pk for pk, _, _ in items]
    now = timezone.now()
    with transaction.atomic():
        existing = dict(
            DocumentVector.objects.select_for_update()
            .filter(space=space, **{f"{fk}__in": ids})
            .values_list(fk, "pk")
        )
        rows = [
            DocumentVector(
                pk=existing.get(pk),
                kind=kind,
                space=space,
                content_hash=content_hash,
                dim=int(vec.shape[0]),
                vector=DocumentVector.to_bytes(vec),
                updated_at=now,
                **{fk: pk},
            )
            for pk, content_hash, vec in items
        ]
        updated = [r for r in rows if r.pk is not None]
        DocumentVector.objects.bulk_update(
            updated, ["content_hash", "dim", "vector", "updated_at"], batch_size=500
        )
        # A vector stored meanwhile for the same content (an on-demand query embedding) is as good as ours.
        created = [r for r in rows if r.pk is None]
        DocumentVector.objects.bulk_create(created, batch_size=1000, ignore_conflicts=True)
        if VectorIndex.objects.filter(space=space, kind=kind).exists():
            transaction.on_commit(lambda: vectors_stored(space, kind, ids))
    return len(rows)
