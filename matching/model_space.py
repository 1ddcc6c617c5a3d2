"""A trained version's own retrieval space: `model:<version>`, one vector per job and resume.

Vectors come from the network's shared representation (`embed_jobs` / `embed_resumes`: the text towers and
the relation view), computed with each document's CURRENT interactions, so a candidate with interactions and
no profile text is retrieved by those interactions.

Writing (`write_space`) goes through every job and resume in primary-key order, in batches; a batch skips the
documents whose stored vector is current (same content and same interactions: `fingerprint`), so a killed
writer resumes where it stopped and never writes a document twice. Only once every document has its vector
and both indexes are built is the version marked `space_ready`; retrieval searches a model's space only then
(`matching.retrieval`), never a half-written one. Promotion writes the space before it activates a version.

Keeping it current (`refresh_active`): the embedding worker, which processes the dirty flags that document
saves, imports and new interactions set, also rewrites those documents' vectors in the active version's
space and publishes them to its index.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from config.celery import publish
from matching import selectors
from matching.documents import docs_with_hashes
from matching.encoders import current_encoder, model_space
from matching.index.loaded import loaded_indexes
from matching.models import DocumentVector, ModelVersion
from matching.section_store import encode_sections, prime_cache, store_sections
from matching.vector_store import replace_vectors
from ml.types import InteractionEvent
from recruiting.models import Interaction, Job, Resume

log = logging.getLogger(__name__)

KIND_MODELS = {"job": Job, "resume": Resume}
# on_progress(kind, documents done, documents of that kind)
ProgressFn = Callable[[str, int, int], None]


def batch_size() -> int:
    return int(getattr(settings, "MODEL_SPACE_BATCH", 512))


def _fk(kind: str) -> str:
    return "job_id" if kind == "job" else "resume_id"


# --------------------------------------------------------------------------------------- interactions
def interaction_events(kind: str, ids: Iterable[int]) -> dict[int, list[InteractionEvent]]:
    """Each document's current interactions, oldest first (what the model reads as its history)."""
    out: dict[int, list[InteractionEvent]] = defaultdict(list)
    ids = list(ids)
    if not ids:
        return out
    rows = (
        Interaction.objects.filter(**{f"{_fk(kind)}__in": ids})
        .order_by("created_at", "id")
        .values_list("job_id", "resume_id", "kind", "created_at")
    )
    for job_id, resume_id, event_kind, at in rows:
        owner = job_id if kind == "job" else resume_id
        out[owner].append(InteractionEvent(str(job_id), str(resume_id), event_kind, at.timestamp()))
    return out


def fingerprint(content_hash: str, events: list[InteractionEvent]) -> str:
    """What a model-space vector was computed from: the document's content and its interactions."""
    h = hashlib.sha256(content_hash.encode())
    for e in events:
        h.update(f"|{e.job_id},{e.resume_id},{e.kind},{e.timestamp:.6f}".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------------------- writing
def write_vectors(model, version: int, kind: str, ids: list[int]) -> tuple[int, int]:
    """Write the `model:<version>` vectors of these documents whose stored vector is not current.

    Returns (written, current). Publishes the written ones to the space's index when it is built."""
    space = model_space(version)
    docs = docs_with_hashes(kind, ids)
    events = interaction_events(kind, docs)
    prints = {pk: fingerprint(h, events.get(pk, [])) for pk, (h, _) in docs.items()}
    stored = dict(
        DocumentVector.objects.filter(space=space, **{f"{_fk(kind)}__in": list(docs)}).values_list(
            _fk(kind), "content_hash"
        )
    )
    todo = sorted(pk for pk in docs if stored.get(pk) != prints[pk])
    if not todo:
        return 0, len(docs)
    todo_docs = [docs[pk][1] for pk in todo]
    prime_cache(
        model.cache, kind, list(zip(todo, todo_docs, strict=True))
    )  # stored section vectors, no encoder
    todo_events = [e for pk in todo for e in events.get(pk, [])]
    embed = model.embed_jobs if kind == "job" else model.embed_resumes
    vectors = np.asarray(embed(todo_docs, interactions=todo_events), dtype=np.float32)
    replace_vectors(space, kind, [(pk, prints[pk], vec) for pk, vec in zip(todo, vectors, strict=True)])
    if model.cache.version != current_encoder().version:
        # A fine-tuned encoder (an encoder upgrade): the embedding worker writes only the deployment encoder's
        # section vectors, so these are stored here, and serving reranks without running the encoder.
        sections = encode_sections(model.cache, todo_docs, batch_size=settings.EMBEDDING_BATCH_SIZE)
        store_sections(
            model.cache.version,
            kind,
            [
                (pk, docs[pk][0], d, sections[n])
                for n, (pk, d) in enumerate(zip(todo, todo_docs, strict=True))
            ],
        )
    return len(todo), len(docs) - len(todo)


def missing_ids(space: str, kind: str) -> list[int]:
    has = DocumentVector.objects.filter(space=space, **{_fk(kind): OuterRef("pk")})
    return list(KIND_MODELS[kind].objects.exclude(Exists(has)).order_by("pk").values_list("pk", flat=True))


def write_space(
    version: ModelVersion, model, *, on_progress: ProgressFn | None = None, batch: int | None = None
) -> dict[str, int]:
    """Write every document's vector in the version's space, build its indexes, mark it ready."""
    batch = batch or batch_size()
    space = model_space(version.version)
    written = {"job": 0, "resume": 0}
    for kind, doc_model in KIND_MODELS.items():
        total = doc_model.objects.count()
        done, last = 0, 0
        while True:
            ids = list(
                doc_model.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            written[kind] += write_vectors(model, version.version, kind, ids)[0]
            done, last = done + len(ids), ids[-1]
            if on_progress is not None:
                on_progress(kind, min(done, total), total)
        # Documents created after the cursor read its last batch.
        for _ in range(3):
            missing = missing_ids(space, kind)
            if not missing:
                break
            for s in range(0, len(missing), batch):
                written[kind] += write_vectors(model, version.version, kind, missing[s : s + batch])[0]
    for kind in KIND_MODELS:
        loaded_indexes.rebuild(space, kind)
    ModelVersion.objects.filter(pk=version.pk).update(space_ready=True)
    version.space_ready = True
    log.info("v%s: retrieval space %s written (%s)", version.version, space, written)
    return written


def keeps_own_space(version: ModelVersion | None) -> bool:
    """Whether edits are written to the version's own space: once it is ready, and while a compatible update's
    backfill writes it (an edited document then serves from the new version's part at once)."""
    return version is not None and (version.space_ready or bool(version.compat.get("base")))


def refresh_active(kind: str, ids: list[int]) -> int:
    """Rewrite these documents' vectors in the active version's space, if it keeps one."""
    version = selectors.active_model_version()
    if not keeps_own_space(version) or not ids:
        return 0
    model = selectors.load_model_cached(version)
    return write_vectors(model, version.version, kind, ids)[0]


def missing_in_active(kind: str) -> list[int]:
    """Documents without a vector in the active version's ready space (for the periodic sweep)."""
    version = selectors.active_model_version()
    if version is None or not version.space_ready:
        return []
    return missing_ids(model_space(version.version), kind)


def on_model_activated(sender, version_id=None, **kwargs) -> None:
    """`model_activated` receiver: a version activated without its space (a rollback to a version from
    before spaces, a manual activation) serves from the encoder space while a worker writes its own."""
    if ModelVersion.objects.filter(pk=version_id, space_ready=False).exists():
        # The task module calls into this one, so the task is imported where it is queued.
        from workers.tasks.training import write_model_space

        transaction.on_commit(
            lambda: publish(lambda: write_model_space.delay(version_id), what=f"model space of {version_id}")
        )


def write_active_space(version_id: int) -> dict[str, int] | None:
    """Write the space of `version_id` if it is still the active version and its space is not ready."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None or version.space_ready or version.status != ModelVersion.Status.ACTIVE:
        return None
    return write_space(version, selectors.load_model_cached(version))
