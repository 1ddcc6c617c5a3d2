"""Section vectors stored with each document, so serving reads what the embedding worker computed.

The network reranks from frozen section embeddings (``ml.textview``). A process that has not seen a document
yet (a fresh API worker, a restart) used to run MiniLM over every section of the documents it reranked: 13-18 s
for 200. The embedding worker now writes each document's section vectors (``SectionVectors``) beside its
zero-shot vector, and the reranker loads the ones its section cache lacks in one query before scoring.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from django.db import transaction

from matching.models import DocumentVector, SectionVectors
from ml.embedding import EmbeddingCache, text_hash
from ml.textview import job_section_texts, resume_section_texts
from ml.types import JobDoc, ResumeDoc


def _fk(kind: str) -> str:
    return "job_id" if kind == DocumentVector.Kind.JOB else "resume_id"


def section_texts(doc: JobDoc | ResumeDoc) -> list[str]:
    return job_section_texts(doc) if isinstance(doc, JobDoc) else resume_section_texts(doc)


def encode_sections(
    cache: EmbeddingCache, docs: Sequence[JobDoc | ResumeDoc], *, batch_size: int
) -> np.ndarray:
    """(n, sections, dim) vectors of the docs' section texts, through ``cache`` (a text is encoded once)."""
    texts = [t for d in docs for t in section_texts(d)]
    if not docs:
        return np.zeros((0, 0, cache.encoder.dim), dtype=np.float32)
    return cache.encode(texts, batch_size=batch_size).reshape(len(docs), -1, cache.encoder.dim)


def store_sections(
    encoder_version: str,
    kind: str,
    items: Sequence[tuple[int, str, JobDoc | ResumeDoc, np.ndarray]],
) -> int:
    """Store (document id, content hash, doc, (sections, dim) vectors) for each item, replacing the rows of
    the same documents and encoder version."""
    if not items:
        return 0
    fk = _fk(kind)
    rows = [
        SectionVectors(
            kind=kind,
            encoder_version=encoder_version,
            content_hash=content_hash,
            text_hashes=",".join(text_hash(t) for t in section_texts(doc)),
            dim=int(vecs.shape[-1]),
            vectors=np.asarray(vecs, dtype="<f4").tobytes(),
            **{fk: pk},
        )
        for pk, content_hash, doc, vecs in items
    ]
    with transaction.atomic():
        SectionVectors.objects.filter(
            encoder_version=encoder_version, **{f"{fk}__in": [pk for pk, *_ in items]}
        ).delete()
        SectionVectors.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return len(rows)


@functools.lru_cache(maxsize=100_000)
def _section_keys(doc: JobDoc | ResumeDoc) -> tuple[str, ...]:
    """The text hashes of a document's non-empty sections, once per document content: a warm ranking checks
    the same 200 resumes for job after job (hashing their texts again was a sixth of a warm rerank)."""
    return tuple(text_hash(t) for t in section_texts(doc) if t and t.strip())


def prime_cache(cache: EmbeddingCache, kind: str, docs: Sequence[tuple[int, JobDoc | ResumeDoc]]) -> int:
    """Put into ``cache`` the stored section vectors of the (document id, doc) pairs whose section texts it
    lacks. Rows for older content are skipped by their text hashes. Returns the sections added."""
    wanted: dict[int, set[str]] = {}
    for pk, doc in docs:
        lacking = cache.missing(_section_keys(doc))
        if lacking:
            wanted[pk] = set(lacking)
    if not wanted:
        return 0
    fk = _fk(kind)
    found: dict[str, np.ndarray] = {}
    rows = SectionVectors.objects.filter(
        encoder_version=cache.version, **{f"{fk}__in": list(wanted)}
    ).values_list(fk, "text_hashes", "dim", "vectors")
    for pk, hashes, dim, blob in rows:
        vecs = np.frombuffer(bytes(blob), dtype="<f4").reshape(-1, dim)
        for key, vec in zip(hashes.split(","), vecs, strict=True):
            if key in wanted[pk]:
                found[key] = vec
    cache.put(found)
    return len(found)


def prime_cache_for_training(
    cache: EmbeddingCache, jobs: Sequence[JobDoc], resumes: Sequence[ResumeDoc], *, chunk: int = 2000
) -> int:
    """Prime ``cache`` with the stored section vectors of every training document (one query per ``chunk``
    documents), so a retrain encodes only what the embedding worker has not stored: at a million
    interactions, re-encoding every section would cost more than the training itself."""
    added = 0
    for kind, docs in ((DocumentVector.Kind.JOB, list(jobs)), (DocumentVector.Kind.RESUME, list(resumes))):
        for start in range(0, len(docs), chunk):
            part = [(int(d.id), d) for d in docs[start : start + chunk] if str(d.id).isdigit()]
            added += prime_cache(cache, kind, part)
    return added
