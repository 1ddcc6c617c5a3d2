"""What erasing a document leaves to clean outside PostgreSQL, done by a worker after the erasure commits.

The erasure itself (recruiting.services) deletes the rows, the file and, by cascade, the stored vectors; the
`document_erased` receiver removes the document from every loaded index at once (a delta). That delta only
tombstones the document: the index's base file still holds its vector. `compact_after_erasure` rewrites every
index of the kind from PostgreSQL (the base file and its deltas are deleted when the new one commits) and drops
the section-embedding cache file, which holds vectors of the erased document's sections under their text
hashes; the next training rebuilds it. For resumes it also rewrites every stored model artifact that still holds
an erased resume (`scrub_model_artifacts`): its graph node, frozen vector and edges, keyword nodes only it had
(skill strings from its text), and its history rows are removed (`ml.erase`), the new artifact is written
atomically under a new name and verified, the version row is pointed at it, and only then is the old file
deleted: serving never sees a half-written artifact, and every process reloads the model on the new sha256.
A training run removes resumes erased since its snapshot before it writes its artifact (`erase_gone_resumes`).
"""

from __future__ import annotations

import hashlib
import logging
import os

from django.conf import settings
from django.db import transaction

from config.celery import publish, runs_eagerly
from matching.index.build import build_index
from matching.models import ModelVersion, VectorIndex
from matching.redis_client import ResilientRedis
from matching.training.artifacts import ARTIFACT_DIR, model_storage, read_verified_artifact, write_artifact
from matching.training.errors import ArtifactUnavailable
from ml.artifacts import load_model_from_bytes, load_state_from_bytes, save_state_to_bytes
from ml.erase import erase_documents, stored_resume_ids
from recruiting.models import Resume

log = logging.getLogger(__name__)
_flags = ResilientRedis(log)


def compact_after_erasure(kind: str) -> dict:
    spaces = list(
        VectorIndex.objects.filter(kind=kind).exclude(artifact_name="").values_list("space", flat=True)
    )
    for space in spaces:
        build_index(space, kind)
    artifacts = scrub_model_artifacts() if kind == "resume" else 0
    return {
        "kind": kind,
        "indexes_rewritten": len(spaces),
        "section_cache_dropped": drop_section_cache(),
        "model_artifacts_rewritten": artifacts,
    }


def _existing_resume_ids(ids: set[str]) -> set[str]:
    numeric = sorted(int(i) for i in ids if i.isascii() and i.isdigit() and len(i) <= 18)
    found: set[str] = set()
    for start in range(0, len(numeric), 10000):
        chunk = numeric[start : start + 10000]
        found |= {str(pk) for pk in Resume.objects.filter(pk__in=chunk).values_list("pk", flat=True)}
    return found | {i for i in ids if not (i.isascii() and i.isdigit() and len(i) <= 18)}  # not ours to judge


def _erase_gone(state: dict) -> bool:
    """Erase from a model state, in place, the resumes no longer in PostgreSQL; whether there were any."""
    stored = stored_resume_ids(state)
    gone = stored - _existing_resume_ids(stored)
    if gone:
        erase_documents(state, resumes=gone)
    return bool(gone)


def erase_gone_resumes(blob: bytes) -> bytes:
    """The artifact without the resumes no longer in PostgreSQL (the same object when it holds none)."""
    state = load_state_from_bytes(blob)
    if not _erase_gone(state):
        return blob
    new = save_state_to_bytes(state)
    load_model_from_bytes(new)  # it still describes a model (ArtifactError otherwise: nothing is replaced)
    return new


def model_artifact(model) -> bytes:
    """A freshly trained model's artifact, without the resumes erased since its snapshot. The state is edited
    before it is serialised, so the model is written once (serialising, reading back and serialising again
    held three copies of a 370 MB model at 1M interactions)."""
    state = model.to_state()
    erased = _erase_gone(state)
    blob = save_state_to_bytes(state)
    del state
    if erased:  # it still describes a model (ArtifactError otherwise: nothing is replaced)
        load_model_from_bytes(blob)
    return blob


def scrub_model_artifacts() -> int:
    """Rewrite every stored artifact that holds an erased resume; returns how many were rewritten."""
    rewritten = 0
    for version_id in ModelVersion.objects.exclude(artifact_name="").values_list("pk", flat=True):
        for _ in range(3):  # rewritten meanwhile (a refit): read it again
            outcome = _scrub_version(version_id)
            if outcome != "raced":
                rewritten += outcome == "rewritten"
                break
    if rewritten:
        from matching.selectors import clear_model_cache

        clear_model_cache()
    return rewritten


def _scrub_version(version_id: int) -> str:
    version = ModelVersion.objects.filter(pk=version_id).exclude(artifact_name="").first()
    if version is None:
        return "clean"
    try:
        blob = read_verified_artifact(version)
    except ArtifactUnavailable as exc:
        log.warning("v%s: artifact not scrubbed: %s", version.version, exc)
        return "clean"
    new = erase_gone_resumes(blob)
    if new is blob:
        return "clean"
    digest = hashlib.sha256(new).hexdigest()
    name, sha = write_artifact(
        new,
        f"{ARTIFACT_DIR}/v{version.version:05d}-erased-{digest[:12]}.tandem",
        temp_prefix=f"erase-v{version.version}",
    )
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().get(pk=version_id)
        if current.artifact_name != version.artifact_name:
            model_storage().delete(name)
            return "raced"
        current.artifact_name, current.artifact_sha256 = name, sha
        current.save(update_fields=["artifact_name", "artifact_sha256"])
    model_storage().delete(version.artifact_name)
    log.info("v%s: erased resumes removed from its artifact (%s)", version.version, name)
    return "rewritten"


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
