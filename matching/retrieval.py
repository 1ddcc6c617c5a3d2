"""Two-stage matching: retrieve nearest neighbours by embedding, then rerank with the active model.

Stage 1 (retrieval): the query document's vector is searched in the index of the other kind
(``matching.index``). With a trained model active and its retrieval vectors indexed for (nearly) every
document (space ``model:<version>``), that space is searched with ``model.embed_jobs/embed_resumes``;
otherwise the zero-shot encoder space (``encoder:<encoder version>``). Hits are checked against the
caller's pool and the filters in PostgreSQL (tenancy, location, exclusions); when too few pass, the
search widens (x4 each round) and, for very selective filters, switches to scoring the filtered pool
directly (``MATCH_POOL_SCAN_MAX``, 50 000 documents at most).

Stage 2 (rerank): the ``MATCH_RERANK_K`` (200) best survivors are scored by the active co-teaching
model (``score_pairs``: total, text view, relation view). With no trained model active the answer is
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

from matching import conversion
from matching import match_selectors as msel
from matching.index import LoadedIndex, load_vectors, registry
from matching.models import DocumentVector, VectorIndex
from matching.reasons import (
    best_sections,
    resume_text_of,
    skill_reasons,
    skills_in_text,
    zero_shot_sections,
)
from ml.types import JobDoc, ResumeDoc
from recruiting.models import Job, Resume

log = logging.getLogger(__name__)

ZERO_SHOT = "zero-shot"


def retrieve_k() -> int:
    return int(getattr(settings, "MATCH_RETRIEVE_K", 300))


def rerank_k() -> int:
    return int(getattr(settings, "MATCH_RERANK_K", 200))


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


def _nan_to_none(x) -> float | None:
    x = float(x)
    return None if not np.isfinite(x) else round(x, 6)


# --------------------------------------------------------------------------------------- stage 1
def retrieve(
    index: LoadedIndex | None,
    query: np.ndarray,
    need: int,
    accept: Callable[[list[int]], set[int]],
    pool_ids: Callable[[int], list[int] | None],
) -> list[tuple[int, float]]:
    """Up to `need` (id, cosine) best first, each accepted by `accept` (pool and filters)."""
    if index is None or len(index.index) == 0 or need <= 0:
        return []
    idx = index.index
    size = len(idx)
    fetch = min(size, max(need, retrieve_k()))
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


def _pending(kind: str) -> int:
    try:
        from matching.models import EmbeddingMark

        return EmbeddingMark.objects.filter(kind=kind, dirty=True).count()
    except Exception:  # noqa: BLE001 - the marks table is the workers' and optional here
        return 0


def _choose_space(am: msel.ActiveModel, target_kind: str, encoder_space: str) -> str:
    """The trained model's space when its retrieval vectors are indexed for >= 95% of the documents."""
    if am.model is None:
        return encoder_space
    ms = msel.model_space(am.version.version)
    sizes = dict(
        VectorIndex.objects.filter(kind=target_kind, space__in=[ms, encoder_space]).values_list(
            "space", "size"
        )
    )
    if sizes.get(ms, 0) > 0 and sizes.get(ms, 0) >= 0.95 * sizes.get(encoder_space, 0):
        return ms
    return encoder_space


def _query_vector(am, space: str, kind: str, obj, doc, encoder) -> tuple[np.ndarray, bool]:
    if space.startswith("model:"):
        embed = am.model.embed_jobs if kind == DocumentVector.Kind.JOB else am.model.embed_resumes
        return np.asarray(embed([doc])[0], dtype=np.float32), True
    return msel.document_vector(kind, obj, doc, space=space, encoder=encoder)


def _exact_similarities(index: LoadedIndex, space: str, kind: str, hits: list[tuple[int, float]], query):
    """Exact cosines for the hits (IVF-SQ8 scores are quantised; other back-ends are already exact)."""
    if not hits or index.index.kind_label != "faiss-ivf_sq8":
        return hits
    ids, vecs = load_vectors(space, kind, ids=[i for i, _ in hits])
    exact = dict(zip(ids.tolist(), (vecs @ np.asarray(query, dtype=np.float32)).tolist(), strict=True))
    return [(i, exact.get(i, s)) for i, s in hits]


# --------------------------------------------------------------------------------------- stage 2
def _rerank(
    am, query_doc, docs: Sequence, hits: list[tuple[int, float]], *, query_is_job: bool
) -> list[Scored]:
    if not hits:
        return []
    if am.model is None:
        out = [Scored(i, max(0.0, s), max(0.0, s), None, s) for i, s in hits]
    else:
        scores = (
            am.model.rank_resumes(query_doc, docs) if query_is_job else am.model.rank_jobs(query_doc, docs)
        )
        out = [
            Scored(
                i, float(scores.total[n]), _nan_to_none(scores.text[n]), _nan_to_none(scores.relation[n]), s
            )
            for n, (i, s) in enumerate(hits)
        ]
    out.sort(key=lambda x: (-x.total, -x.similarity, x.object_id))
    return out


def _ranking(
    *,
    am,
    encoder,
    space: str,
    target_kind: str,
    index: LoadedIndex | None,
    query_doc,
    query_vec,
    embedded_query: bool,
    accept,
    pool_ids,
    docs_by_id: Callable[[list[int]], dict],
    k: int,
    timings: dict,
) -> Ranking:
    t = time.perf_counter()
    hits = retrieve(index, query_vec, max(k, rerank_k()), accept, pool_ids)
    if index is not None:
        hits = _exact_similarities(index, space, target_kind, hits, query_vec)
    timings["retrieve"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    by_id = docs_by_id([i for i, _ in hits])
    hits = [(i, s) for i, s in hits if i in by_id]  # erased between the index and now
    items = _rerank(am, query_doc, [by_id[i] for i, _ in hits], hits, query_is_job=target_kind == "resume")[
        :k
    ]
    timings["rerank"] = (time.perf_counter() - t) * 1000
    return Ranking(
        model_tag=am.tag,
        model_version=am.version.version if am.model is not None else None,
        encoder=encoder.version,
        space=space,
        backend=index.backend if index else "none",
        generation=index.generation if index else 0,
        indexed=len(index.index) if index else 0,
        reranked=len(hits),
        items=items,
        embedded_query=embedded_query,
        pending_embeddings=_pending(target_kind),
        notes=list(am.notes),
        timings_ms=timings,
    )


# --------------------------------------------------------------------------------------- endpoints
def rank_candidates(job: Job, *, user, k: int = 20, filters: msel.Filters | None = None, am=None) -> Ranking:
    """Resumes for `job` from the pool `user` sees, best first."""
    filters = filters or msel.Filters()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    am = am or msel.active_model()
    encoder = msel.serving_encoder()
    espace = msel.encoder_space(encoder)
    jdoc = conversion.job_doc(job)
    space = _choose_space(am, "resume", espace)
    qvec, embedded = _query_vector(am, space, "job", job, jdoc, encoder)
    index = registry.get(space, "resume")
    timings["prepare"] = (time.perf_counter() - t) * 1000
    pool = msel.filter_candidates(msel.candidate_pool(user), job, filters)

    def accept(ids: list[int]) -> set[int]:
        # The candidates of these resumes, named explicitly: without it PostgreSQL hash-joins the
        # visibility condition against every candidate (30 ms at 100k), with it it uses the key.
        cand_ids = set(Resume.objects.filter(pk__in=ids).values_list("candidate_id", flat=True))
        qs = pool.filter(pk__in=ids, candidate_id__in=cand_ids, candidate__pk__in=cand_ids)
        if not filters.seniority:
            return set(qs.values_list("pk", flat=True))
        return {
            pk
            for pk, headline, exp in qs.values_list("pk", "headline", "experience")
            if msel.infer_seniority(headline, exp) in filters.seniority
        }

    def pool_ids(limit: int) -> list[int] | None:
        ids = list(pool.values_list("pk", flat=True)[: limit + 1])
        return None if len(ids) > limit else ids

    return _ranking(
        am=am,
        encoder=encoder,
        space=space,
        target_kind="resume",
        index=index,
        query_doc=jdoc,
        query_vec=qvec,
        embedded_query=embedded,
        accept=accept,
        pool_ids=pool_ids,
        docs_by_id=conversion.resumes_by_id,
        k=k,
        timings=timings,
    )


def rank_jobs(resume: Resume, *, user, k: int = 20, filters: msel.Filters | None = None, am=None) -> Ranking:
    """Open jobs for `resume` among those `user` sees, best first."""
    filters = filters or msel.Filters()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    am = am or msel.active_model()
    encoder = msel.serving_encoder()
    espace = msel.encoder_space(encoder)
    rdoc = conversion.resume_doc(resume)
    space = _choose_space(am, "job", espace)
    qvec, embedded = _query_vector(am, space, "resume", resume, rdoc, encoder)
    index = registry.get(space, "job")
    timings["prepare"] = (time.perf_counter() - t) * 1000
    pool = msel.filter_jobs(msel.job_pool(user), resume, filters)

    def accept(ids: list[int]) -> set[int]:
        return set(pool.filter(pk__in=ids).values_list("pk", flat=True))

    def pool_ids(limit: int) -> list[int] | None:
        ids = list(pool.values_list("pk", flat=True)[: limit + 1])
        return None if len(ids) > limit else ids

    return _ranking(
        am=am,
        encoder=encoder,
        space=space,
        target_kind="job",
        index=index,
        query_doc=rdoc,
        query_vec=qvec,
        embedded_query=embedded,
        accept=accept,
        pool_ids=pool_ids,
        docs_by_id=conversion.jobs_by_id,
        k=k,
        timings=timings,
    )


# --------------------------------------------------------------------------------------- reasons
def section_similarities(
    am, encoder, job_doc: JobDoc, resume_docs: Sequence[ResumeDoc]
) -> list[dict[str, float]]:
    if not resume_docs:
        return []
    if am.model is not None:
        return [am.model.section_similarities(job_doc, r) for r in resume_docs]
    return zero_shot_sections(encoder, job_doc, resume_docs)


def candidate_reasons(am, encoder, job: Job, ranking: Ranking) -> dict[int, dict]:
    """resume id -> {matched_skills, missing_skills, missing_nice_to_have, best_sections}."""
    ids = [s.object_id for s in ranking.items]
    docs = conversion.resumes_by_id(ids)
    docs_list = [docs[i] for i in ids if i in docs]
    sims = section_similarities(am, encoder, conversion.job_doc(job), docs_list)
    out = {}
    for doc, sim in zip(docs_list, sims, strict=True):
        out[int(doc.id)] = {
            **skill_reasons(job.required_skills, job.nice_to_have_skills, doc.skills, resume_text_of(doc)),
            "best_sections": best_sections(sim),
        }
    return out


def job_reasons(am, encoder, resume: Resume, ranking: Ranking) -> dict[int, dict]:
    """job id -> the same reasons, from the resume's side."""
    ids = [s.object_id for s in ranking.items]
    rdoc = conversion.resume_doc(resume)
    jobs = {
        j["id"]: j
        for j in Job.objects.filter(pk__in=ids).values("id", "required_skills", "nice_to_have_skills")
    }
    jdocs = conversion.jobs_by_id(ids)
    out = {}
    text = resume_text_of(rdoc)
    for i in ids:
        if i not in jdocs or i not in jobs:
            continue
        sims = section_similarities(am, encoder, jdocs[i], [rdoc])[0]
        out[i] = {
            **skill_reasons(jobs[i]["required_skills"], jobs[i]["nice_to_have_skills"], rdoc.skills, text),
            "best_sections": best_sections(sims),
        }
    return out


# --------------------------------------------------------------------------------------- pair score
@dataclass
class PairSide:
    doc: JobDoc | ResumeDoc
    obj: Job | Resume | None = None  # stored document, or None for raw text
    text: str = ""


def raw_job_doc(text: str) -> JobDoc:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    title = lines[0][:300] if lines else ""
    return JobDoc(
        id="raw-job", title=title, description="\n".join(lines[1:]), skills=tuple(skills_in_text(text))
    )


def raw_resume_doc(text: str) -> ResumeDoc:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return ResumeDoc(
        id="raw-resume",
        headline=lines[0][:300] if lines else "",
        summary="\n".join(lines[1:]),
        skills=tuple(skills_in_text(text)),
    )


def score_pair(job: PairSide, resume: PairSide, *, am=None) -> dict:
    """One job against one resume: scores and reasons, in the same shape as one ranked item."""
    am = am or msel.active_model()
    encoder = msel.serving_encoder()
    space = msel.encoder_space(encoder)
    if am.model is not None:
        ps = am.model.score_pairs([job.doc], [resume.doc], np.array([[0, 0]]))
        total, text, relation = float(ps.total[0]), _nan_to_none(ps.text[0]), _nan_to_none(ps.relation[0])
        sims = am.model.section_similarities(job.doc, resume.doc)
    else:
        vj = _side_vector(job, "job", space, encoder)
        vr = _side_vector(resume, "resume", space, encoder)
        cos = float(vj @ vr)
        total, text, relation = max(0.0, cos), max(0.0, cos), None
        sims = zero_shot_sections(encoder, job.doc, [resume.doc])[0]
    if job.obj is not None:
        required, nice = job.obj.required_skills, job.obj.nice_to_have_skills
    else:
        required, nice = list(job.doc.skills), []
    resume_text = resume.text or resume_text_of(resume.doc)
    return {
        "model": am.tag,
        "model_version": am.version.version if am.model is not None else None,
        "encoder": encoder.version,
        "score": {
            "total": round(total, 6),
            "text": None if text is None else round(text, 6),
            "relation": relation,
        },
        **skill_reasons(required, nice, resume.doc.skills, resume_text),
        "best_sections": best_sections(sims),
        "notes": list(am.notes),
    }


def _side_vector(side: PairSide, kind: str, space: str, encoder) -> np.ndarray:
    if side.obj is not None:
        return msel.document_vector(kind, side.obj, side.doc, space=space, encoder=encoder)[0]
    return encoder.encode([side.text or side.doc.full_text()])[0]
