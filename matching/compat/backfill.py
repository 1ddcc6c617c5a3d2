"""The backfill of a compatibly activated version: its own space written behind it on the low-priority queue.

A document is due while it has no current vector in the active version's space (the stored fingerprint of
content and interactions, `matching.model_space.fingerprint`, is the flag): batches go in primary-key order from
the cursor saved after each batch, each batch skips the documents already current, and (document, space) is
unique, so a killed worker redelivered restarts from its last cursor and never writes a document twice. Before
every batch the task checks that its version is still the active one; after a rollback it stops ("paused"),
and it resumes when the version is activated again. Once every document has its vector: the version's indexes
are built, `space_ready` is set, the projection is dropped, and the vectors of the older versions' spaces (and
their indexes) are deleted.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from matching import model_space, selectors
from matching.compat.projection import serving_base
from matching.encoders import current_encoder
from matching.encoders import model_space as space_name
from matching.index.loaded import loaded_indexes
from matching.model_space import KIND_MODELS, missing_ids, write_vectors
from matching.models import DocumentVector, ModelVersion, SectionVectors, VectorIndex

log = logging.getLogger(__name__)


def batch_size() -> int:
    return int(getattr(settings, "COMPAT_BACKFILL_BATCH", 256))


def _save(version_id: int, **fields) -> dict:
    with transaction.atomic():
        v = ModelVersion.objects.select_for_update().get(pk=version_id)
        v.backfill = {**(v.backfill or {}), **fields}
        v.save(update_fields=["backfill"])
        return v.backfill


def _still_active(version_id: int) -> bool:
    return ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.ACTIVE).exists()


def on_model_activated(sender, version_id=None, **kwargs) -> None:
    """`model_activated` receiver: a version serving through a projection gets its backfill queued (low
    priority); any other version without its space gets it written (`model_space.on_model_activated`)."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None or version.space_ready:
        return
    if serving_base(version) is None:
        model_space.on_model_activated(sender, version_id=version_id, **kwargs)
        return
    _save(version.pk, state="queued", base=version.compat["base"])
    # The task module calls into this one, so the task is imported where it is queued.
    from workers.tasks.backfill import backfill_space

    transaction.on_commit(lambda: backfill_space.delay(version.pk))


def run_backfill(version_id: int, *, max_batches: int | None = None) -> dict:
    """Write the version's own space from the saved cursor; finish it when nothing is left.

    ``max_batches`` stops early (as a killed worker would), for tests and the benchmark."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None or version.space_ready:
        return {"state": "done"}
    if version.status != ModelVersion.Status.ACTIVE:
        return _save(version_id, state="paused")
    model = selectors.load_model_cached(version)
    state = _save(
        version_id,
        state="running",
        started_at=version.backfill.get("started_at") or timezone.now().isoformat(),
    )
    batches = 0
    for kind, doc_model in KIND_MODELS.items():
        after = int(state.get("cursor", {}).get(kind, 0))
        while True:
            if not _still_active(version_id):
                return _save(version_id, state="paused")
            if max_batches is not None and batches >= max_batches:
                return _save(version_id, state="running")
            ids = list(
                doc_model.objects.filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", flat=True)[: batch_size()]
            )
            if not ids:
                break
            written, _ = write_vectors(model, version.version, kind, ids)
            after, batches = ids[-1], batches + 1
            cursor = {**_save(version_id).get("cursor", {}), kind: after}
            state = _save(
                version_id,
                cursor=cursor,
                batches=int(state.get("batches", 0)) + 1,
                written=int(state.get("written", 0)) + written,
            )
    return finish(version_id, model)


def finish(version_id: int, model) -> dict:
    """Documents created behind the cursor, then the indexes, `space_ready`, the projection dropped, and the
    older spaces deleted."""
    version = ModelVersion.objects.get(pk=version_id)
    space = space_name(version.version)
    for kind in KIND_MODELS:
        for _ in range(3):
            missing = missing_ids(space, kind)
            if not missing:
                break
            for s in range(0, len(missing), batch_size()):
                write_vectors(model, version.version, kind, missing[s : s + batch_size()])
    for kind in KIND_MODELS:
        loaded_indexes.rebuild(space, kind)
    with transaction.atomic():
        v = ModelVersion.objects.select_for_update().get(pk=version_id)
        if v.status != ModelVersion.Status.ACTIVE:
            v.backfill = {**v.backfill, "state": "paused"}
            v.save(update_fields=["backfill"])
            return v.backfill
        older = list(ModelVersion.objects.filter(version__lt=v.version).values_list("pk", "version"))
        spaces = [space_name(n) for _, n in older]
        deleted, _ = DocumentVector.objects.filter(space__in=spaces).delete()
        _drop_unused_sections(v)
        VectorIndex.objects.filter(space__in=spaces).delete()
        ModelVersion.objects.filter(pk__in=[pk for pk, _ in older]).update(space_ready=False)
        v.space_ready = True
        v.compat = {}
        v.backfill = {
            **v.backfill,
            "state": "done",
            "finished_at": timezone.now().isoformat(),
            "deleted_vectors": deleted,
        }
        v.save(update_fields=["space_ready", "compat", "backfill"])
    log.info("v%s: backfill done, %s older vectors deleted", v.version, deleted)
    return v.backfill


def _drop_unused_sections(active: ModelVersion) -> None:
    """Section vectors of fine-tuned encoders no stored space uses any more (older encoder upgrades)."""
    keep = {current_encoder().version, active.encoder_version}
    SectionVectors.objects.filter(encoder_version__contains="-ft:").exclude(encoder_version__in=keep).delete()


def vector_counts() -> dict[str, dict[str, int]]:
    """Vectors per version still stored: {"v<n>": {"job": n, "resume": n}}."""
    rows = (
        DocumentVector.objects.filter(space__startswith="model:")
        .values("space", "kind")
        .annotate(n=Count("id"))
        .order_by("space", "kind")
    )
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(f"v{r['space'].split(':', 1)[1]}", {"job": 0, "resume": 0})[r["kind"]] = r["n"]
    return out


def progress(version: ModelVersion) -> dict:
    """The backfill's state with the counts of the version's own vectors against the documents."""
    if not version.backfill:
        return {}
    space = space_name(version.version)
    done = dict(
        DocumentVector.objects.filter(space=space)
        .values("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    kinds = {}
    for kind, doc_model in KIND_MODELS.items():
        total = doc_model.objects.count()
        kinds[kind] = {"done": done.get(kind, 0), "total": total}
    total = sum(k["total"] for k in kinds.values())
    finished = sum(min(k["done"], k["total"]) for k in kinds.values())
    return {
        **{k: v for k, v in version.backfill.items() if k != "cursor"},
        "documents": kinds,
        "fraction": round(finished / total, 4) if total else 1.0,
    }
