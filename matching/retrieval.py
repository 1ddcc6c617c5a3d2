"""Two-stage matching: retrieve nearest neighbours by embedding, then rerank with the active model.

Stage 1 (retrieval): the query document's vector is searched in the index of the other kind
(``matching.index``). With a trained model active whose own space is complete (``space_ready``: every
document has its ``model:<version>`` vector, see ``matching.model_space``), that space is searched with the
query embedded now by ``model.embed_jobs/embed_resumes`` from its content and current interactions;
otherwise the zero-shot encoder space (``encoder:<encoder version>``). Hits are checked against the
caller's pool and the filters in PostgreSQL (tenancy, location, exclusions); when too few pass, the
search widens (x4 each round) and, for very selective filters, switches to scoring the filtered pool
directly (``MATCH_POOL_SCAN_MAX``, 50 000 documents at most).

Stage 2 (rerank): the ``MATCH_RERANK_K`` best survivors are scored by the active co-teaching model
(``rank_jobs`` / ``rank_resumes`` with the query's current interactions: total, text view, relation view). With no trained model active the answer is
zero-shot: the exact cosine of the encoder vectors, reported as ``model: "zero-shot"``.

Vectors: PostgreSQL holds them (``DocumentVector``). The *query* document is embedded on the fly when
its vector is missing or older than its content, and stored. Documents of the *pool* without a vector
are skipped until the embedding worker stores one (seconds after a save); the response reports how
many documents of that kind are waiting (``pending_embeddings``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from matching import documents, selectors
from matching.compat.projection import projection as compat_projection
from matching.compat.projection import serving_base
from matching.embedding import ensure_document_vector
from matching.encoders import current_encoder, encoder_space, model_space
from matching.filters import Filters, filter_candidates, filter_jobs
from matching.index import QUANTISED_KINDS, LoadedIndex, load_vectors, loaded_indexes
from matching.model_space import interaction_events
from matching.models import DocumentVector, ModelVersion
from matching.section_store import prime_cache
from matching.selectors import ActiveModel
from matching.seniority import infer_seniority
from ml.types import InteractionEvent, JobDoc, ResumeDoc
from recruiting.models import Job, Resume

log = logging.getLogger(__name__)

ZERO_SHOT = "zero-shot"
# zero-shot answers search this many neighbours per result asked for (widened while filters leave fewer): the
# accepted ones are scored exactly and the best k returned; the pool check and exact scores of MATCH_RETRIEVE_K
# (600) hits, which a reranker needs, cost a model-less answer ~30 ms for nothing (bench/serving.py)
ZERO_SHOT_FETCH_PER_RESULT = 4


def retrieve_k() -> int:
    return int(getattr(settings, "MATCH_RETRIEVE_K", 600))


def rerank_k() -> int:
    return int(getattr(settings, "MATCH_RERANK_K", retrieve_k()))


def history_k() -> int:
    return int(getattr(settings, "MATCH_HISTORY_K", 200))


def max_fetch() -> int:
    return int(getattr(settings, "MATCH_MAX_FETCH", 5000))


def pool_scan_max() -> int:
    return int(getattr(settings, "MATCH_POOL_SCAN_MAX", 50_000))


# --------------------------------------------------------------------------------------- results
@dataclass
class Scored:
    object_id: int
    total: float
    text: float | None
    relation: float | None
    similarity: float  # stage-1 cosine


@dataclass
class Ranking:
    model_tag: str
    model_version: int | None
    encoder: str
    space: str
    backend: str
    generation: int
    indexed: int
    reranked: int
    items: list[Scored]
    embedded_query: bool = False
    pending_embeddings: int = 0
    notes: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    candidate_ids: list[int] = field(default_factory=list)  # what the first stage handed to the reranker


def nan_to_none(x) -> float | None:
    x = float(x)
    return None if not np.isfinite(x) else round(x, 6)


# --------------------------------------------------------------------------------------- stage 1
def retrieve(
    index: LoadedIndex | None,
    query: np.ndarray,
    need: int,
    accept: Callable[[list[int]], set[int]],
    pool_ids: Callable[[int], list[int] | None],
    fetch: int | None = None,
) -> list[tuple[int, float]]:
    """Up to `need` (id, cosine) best first, each accepted by `accept` (pool and filters); the first search
    fetches `fetch` neighbours (default `MATCH_RETRIEVE_K`), widened while the filters leave fewer than `need`."""
    if index is None or len(index.index) == 0 or need <= 0:
        return []
    idx = index.index
    size = len(idx)
    fetch = min(size, max(need, retrieve_k() if fetch is None else fetch))
    kept: dict[int, float] = {}
    seen: set[int] = set()
    while True:
        hits = idx.search(query, fetch)
        new = [(i, s) for i, s in hits if i not in seen]
        seen.update(i for i, _ in new)
        if new:
            ok = accept([i for i, _ in new])
            kept.update((i, s) for i, s in new if i in ok)
        if len(kept) >= need or fetch >= size:
            break
        if fetch >= max_fetch():
            # A selective filter: score the filtered pool itself instead of widening further.
            ids = pool_ids(pool_scan_max())
            if ids is not None:
                vecs = idx.vectors_of(ids)
                if vecs:
                    vid = list(vecs)
                    sims = np.stack([vecs[i] for i in vid]) @ np.asarray(query, dtype=np.float32)
                    ok = accept(vid) if len(vid) <= 4 * need else set(vid)
                    kept = {i: float(s) for i, s in zip(vid, sims, strict=True) if i in ok}
            break
        fetch = min(size, fetch * 4)
    return sorted(kept.items(), key=lambda p: (-p[1], p[0]))[:need]


def _choose_space(am: ActiveModel, encoder_space: str, base: ModelVersion | None = None) -> str:
    """The active model's own space once every document has its vector there (`space_ready`), or while it
    serves a compatible update against an older complete space (`base`: its own part is searched beside it);
    else the encoder's: never a half-written space alone."""
    if am.model is None or not (am.version.space_ready or base is not None):
        return encoder_space
    return model_space(am.version.version)


@dataclass
class _Part:
    """An older version's complete space searched beside the active version's partial one: its index and the
    query projected into it (matching.compat)."""

    space: str
    index: LoadedIndex | None
    vector: np.ndarray
    method: str


def _base_part(am: ActiveModel, base: ModelVersion, target_kind: str, vector: np.ndarray) -> _Part:
    space = model_space(base.version)
    proj = compat_projection(am.version, target_kind)
    return _Part(space, loaded_indexes.get(space, target_kind), proj.apply(vector), proj.method)


def _search(query: _Query, need: int, accept, pool_ids, fetch: int | None = None) -> list[tuple[int, float]]:
    """Stage 1 over the query's space; with a base part, over both parts merged into one ranking: a document
    with a vector of the active version is scored there, the others by their base vector and the projected
    query (cosines on one scale: both vectors unit length)."""
    own = retrieve(query.index, query.vector, need, accept, pool_ids, fetch)
    base = query.base
    if query.index is not None:
        own = _exact_similarities(query.index, query.space, query.target_kind, own, query.vector)
    if base is None:
        return own
    old = retrieve(base.index, base.vector, need, accept, pool_ids)
    if base.index is not None:
        old = _exact_similarities(base.index, base.space, query.target_kind, old, base.vector)
    have = query.index.index.vectors_of([i for i, _ in old]) if query.index is not None and old else {}
    merged = dict(own)
    merged.update((i, s) for i, s in old if i not in have and i not in merged)
    return sorted(merged.items(), key=lambda p: (-p[1], p[0]))[:need]


def _query_vector(
    am: ActiveModel, space: str, kind: str, obj, doc, encoder, events
) -> tuple[np.ndarray, bool]:
    """In a model space the query is embedded now, with its current interactions (fresh after every
    apply or reject); in the encoder space the stored vector is read (or embedded once and stored)."""
    if space.startswith("model:"):
        prime_cache(am.model.cache, kind, [(obj.pk, doc)])  # its stored section vectors, not the encoder
        embed = am.model.embed_jobs if kind == DocumentVector.Kind.JOB else am.model.embed_resumes
        return np.asarray(embed([doc], interactions=events)[0], dtype=np.float32), True
    return ensure_document_vector(kind, obj, doc, space=space, encoder=encoder)


def _history_vector(space: str, target_kind: str, query_id: int, events) -> np.ndarray | None:
    """The mean vector of the documents the query interacted with positively (None without any): the
    query for a document with no text of its own, e.g. a candidate with applications and no profile."""
    query_kind = "job" if target_kind == "resume" else "resume"
    if events is None:
        events = interaction_events(query_kind, [query_id]).get(query_id, [])
    ids = {int(e.resume_id if target_kind == "resume" else e.job_id) for e in events if e.strength > 0}
    _, vecs = load_vectors(space, target_kind, ids=sorted(ids))
    mean = vecs.mean(axis=0) if len(vecs) else None
    if mean is None or not np.linalg.norm(mean) > 0:
        return None
    return (mean / np.linalg.norm(mean)).astype(np.float32)


def _with_history_neighbours(index: LoadedIndex | None, query: _Query, hits, accept, pool_ids):
    """A second first-stage source: the `MATCH_HISTORY_K` nearest neighbours of what the query document
    interacted with (jobs like the ones a candidate applied to: same title, employer, place), so that the
    reranker, which reads that history, sees what it would rank high. Their similarity is still the
    cosine with the query's own vector."""
    have = {i for i, _ in hits}
    extra = [i for i, _ in retrieve(index, query.history, history_k(), accept, pool_ids) if i not in have]
    if not extra:
        return hits
    vectors = index.index.vectors_of(extra)
    q = np.asarray(query.vector, dtype=np.float32)
    return hits + [(i, float(vectors[i] @ q)) for i in extra if i in vectors]


def _exact_similarities(index: LoadedIndex, space: str, kind: str, hits: list[tuple[int, float]], query):
    """Exact cosines for the hits (IVF scores are quantised; other back-ends are already exact)."""
    if not hits or index.index.kind_label.removeprefix("faiss-") not in QUANTISED_KINDS:
        return hits
    ids, vecs = load_vectors(space, kind, ids=[i for i, _ in hits])
    exact = dict(zip(ids.tolist(), (vecs @ np.asarray(query, dtype=np.float32)).tolist(), strict=True))
    return [(i, exact.get(i, s)) for i, s in hits]


# --------------------------------------------------------------------------------------- stage 2
def _rerank(am: ActiveModel, query: _Query, docs: Sequence, hits: list[tuple[int, float]]) -> list[Scored]:
    if not hits:
        return []
    if am.model is None:
        out = [Scored(i, max(0.0, s), max(0.0, s), None, s) for i, s in hits]
    else:
        rank = am.model.rank_resumes if query.target_kind == "resume" else am.model.rank_jobs
        # stored section vectors into the model's section cache: no encoder run for stored documents
        prime_cache(am.model.cache, query.target_kind, [(i, d) for (i, _), d in zip(hits, docs, strict=True)])
        scores = rank(query.doc, docs, interactions=query.events)
        out = [
            Scored(i, float(scores.total[n]), nan_to_none(scores.text[n]), nan_to_none(scores.relation[n]), s)
            for n, (i, s) in enumerate(hits)
        ]
    out.sort(key=lambda x: (-x.total, -x.similarity, x.object_id))
    return out


@dataclass
class _Query:
    """The query document, prepared for stage 1: its vector in the chosen space and that space's index."""

    doc: JobDoc | ResumeDoc
    target_kind: str  # the kind ranked: "resume" for a job's candidates, "job" for a resume's jobs
    encoder: object
    space: str
    vector: np.ndarray
    embedded: bool  # the vector was computed for this request
    index: LoadedIndex | None
    timings: dict[str, float]
    events: list[InteractionEvent] | None  # the query document's current interactions (with a model)
    history: np.ndarray | None = None  # the mean vector of what it interacted with positively
    base: _Part | None = None  # an older complete space searched beside a partial one (compatible update)


def _prepare(am: ActiveModel, obj: Job | Resume, doc: JobDoc | ResumeDoc, *, target_kind: str) -> _Query:
    t = time.perf_counter()
    encoder = current_encoder()
    base = serving_base(am.version) if am.model is not None and not am.version.space_ready else None
    space = _choose_space(am, encoder_space(encoder), base)
    query_kind = "job" if target_kind == "resume" else "resume"
    events = interaction_events(query_kind, [obj.pk]).get(obj.pk, []) if am.model is not None else None
    vector, embedded = _query_vector(am, space, query_kind, obj, doc, encoder, events)
    history = None
    if base is None and (events or not np.any(vector)):  # (a partial space has no history neighbours yet)
        history = _history_vector(space, target_kind, obj.pk, events)
    if not np.any(vector) and history is not None:  # no text to embed: search near what it interacted with
        vector, history = history, None
    index = loaded_indexes.get(space, target_kind)
    part = _base_part(am, base, target_kind, vector) if base is not None else None
    timings = {"prepare": (time.perf_counter() - t) * 1000}
    return _Query(doc, target_kind, encoder, space, vector, embedded, index, timings, events, history, part)


def _ranking(
    am: ActiveModel,
    query: _Query,
    pool: QuerySet,
    accept: Callable[[list[int]], set[int]],
    docs_by_id: Callable[[list[int]], dict],
    k: int,
) -> Ranking:
    """Stage 1 over the index (hits accepted by `accept`, or the filtered `pool` scanned), then stage 2."""

    def pool_ids(limit: int) -> list[int] | None:
        ids = list(pool.values_list("pk", flat=True)[: limit + 1])
        return None if len(ids) > limit else ids

    index, timings = query.index, query.timings
    t = time.perf_counter()
    if am.model is not None:  # the model reranks the first stage's MATCH_RERANK_K best
        hits = _search(query, max(k, rerank_k()), accept, pool_ids)
    else:  # zero-shot: the first stage's order is the answer, so it fetches for k (not for a reranker)
        hits = _search(query, k, accept, pool_ids, fetch=ZERO_SHOT_FETCH_PER_RESULT * k)
    if query.history is not None and history_k() > 0:
        hits = _with_history_neighbours(index, query, hits, accept, pool_ids)
        if index is not None:
            hits = _exact_similarities(index, query.space, query.target_kind, hits, query.vector)
    timings["retrieve"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    by_id = docs_by_id([i for i, _ in hits])
    hits = [(i, s) for i, s in hits if i in by_id]  # erased between the index and now
    docs = [by_id[i] for i, _ in hits]
    items = _rerank(am, query, docs, hits)[:k]
    timings["rerank"] = (time.perf_counter() - t) * 1000
    return Ranking(
        model_tag=am.tag,
        model_version=am.number,
        encoder=query.encoder.version,
        space=query.space if query.base is None else f"{query.space}+{query.base.space}",
        backend=index.backend if index else "none",
        generation=index.generation if index else 0,
        indexed=len(index.index) if index else 0,
        reranked=len(hits),
        items=items,
        embedded_query=query.embedded,
        pending_embeddings=selectors.pending_embeddings(query.target_kind),
        notes=list(am.notes) + _mixed_note(query),
        timings_ms=timings,
        candidate_ids=[i for i, _ in hits],
    )


def _mixed_note(query: _Query) -> list[str]:
    if query.base is None:
        return []
    own = len(query.index.index) if query.index is not None else 0
    return [
        f"compatible update: {own} {query.target_kind}s searched in {query.space}, the others in "
        f"{query.base.space} with the query projected ({query.base.method}); the backfill is writing the rest"
    ]


# --------------------------------------------------------------------------------------- endpoints
def rank_candidates(
    job: Job, *, user, k: int = 20, filters: Filters | None = None, am: ActiveModel | None = None
) -> Ranking:
    """Resumes for `job` from the pool `user` sees, best first."""
    filters = filters or Filters()
    am = am or selectors.active_model()
    query = _prepare(am, job, documents.job_doc(job), target_kind="resume")
    pool = filter_candidates(selectors.candidate_pool(user), job, filters)

    def accept(ids: list[int]) -> set[int]:
        # The candidates of these resumes, named explicitly: without it PostgreSQL hash-joins the
        # visibility condition against every candidate (30 ms at 100k), with it it uses the key.
        cand_ids = set(Resume.objects.filter(pk__any=ids).values_list("candidate_id", flat=True))
        qs = pool.filter(pk__any=ids, candidate_id__any=cand_ids, candidate__pk__any=cand_ids)
        if not filters.seniority:
            return set(qs.values_list("pk", flat=True))
        return {
            pk
            for pk, headline, exp in qs.values_list("pk", "headline", "experience")
            if infer_seniority(headline, exp) in filters.seniority
        }

    return _ranking(am, query, pool, accept, documents.resumes_by_id, k)


def rank_jobs(
    resume: Resume, *, user, k: int = 20, filters: Filters | None = None, am: ActiveModel | None = None
) -> Ranking:
    """Open jobs for `resume` among those `user` sees, best first."""
    filters = filters or Filters()
    am = am or selectors.active_model()
    query = _prepare(am, resume, documents.resume_doc(resume), target_kind="job")
    pool = filter_jobs(selectors.job_pool(user), resume, filters)

    def accept(ids: list[int]) -> set[int]:
        return set(pool.filter(pk__any=ids).values_list("pk", flat=True))

    return _ranking(am, query, pool, accept, documents.jobs_by_id, k)
