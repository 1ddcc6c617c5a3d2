"""Ranked matches as the API serves them: the one service the match views call.

``ranked_candidates`` (resumes for a job) and ``ranked_jobs`` (open jobs for a resume) each: look the answer
up in the Redis cache (key: model tag, endpoint, document, the caller's scope, the query); on a miss rank it
(``matching.retrieval``: nearest neighbours, then the active model's rerank), explain each result (matched and
missing skills, best sections), add the rows' fields, store it, and return the response body.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence

from django.db.models import Model

from matching import cache, documents, selectors
from matching.encoders import current_encoder
from matching.filters import Filters
from matching.integrity import guard_candidates, spare_rows
from matching.reasons import best_sections, resume_text_of, skill_reasons, zero_shot_sections
from matching.retrieval import Ranking, Scored, rank_candidates, rank_jobs
from matching.section_store import prime_cache
from matching.selectors import ActiveModel
from ml.embedding import EmbeddingCache, shared_cache
from ml.types import JobDoc, ResumeDoc
from recruiting.models import Job, Resume

log = logging.getLogger(__name__)


def ranked_candidates(*, job: Job, user, k: int = 20, filters: Filters | None = None) -> dict:
    """The ranked-candidates response body for `job`, among the resumes `user` sees."""
    filters = filters or Filters()
    t0 = time.perf_counter()
    am, encoder = selectors.active_model(), current_encoder()
    key = _cache_key(am, encoder, "candidates", job, user, k, filters)
    body = _cached_body(key, Resume, "resume")
    if body is not None:
        return body
    ranking = rank_candidates(job, user=user, k=k + spare_rows(k), filters=filters, am=am)
    t = time.perf_counter()
    docs = documents.resumes_by_id([s.object_id for s in ranking.items])
    job_flags = guard_candidates(am, encoder, documents.job_doc(job), ranking, docs, k)
    reasons = candidate_reasons(am, encoder, job, ranking, docs)
    ranking.timings_ms["reasons"] = (time.perf_counter() - t) * 1000
    rows = selectors.candidate_rows([s.object_id for s in ranking.items])
    for rid, flags in job_flags.items():
        if rid in rows:
            rows[rid]["integrity_flags"] = rows[rid]["integrity_flags"] + flags
            rows[rid]["flagged"] = True
    results = _results(ranking.items, rows, reasons, id_field="resume")
    body = {"job": job.pk, **_envelope(ranking, k, filters), "results": results}
    cache.put(key, body, [("job", job.pk)] + [("resume", r["resume"]) for r in results])
    log.debug("candidates job=%s %.1f ms %s", job.pk, (time.perf_counter() - t0) * 1000, ranking.timings_ms)
    return body


def ranked_jobs(*, resume: Resume, user, k: int = 20, filters: Filters | None = None) -> dict:
    """The ranked-jobs response body for `resume`, among the open jobs `user` sees."""
    filters = filters or Filters()
    t0 = time.perf_counter()
    am, encoder = selectors.active_model(), current_encoder()
    key = _cache_key(am, encoder, "jobs", resume, user, k, filters)
    body = _cached_body(key, Job, "job")
    if body is not None:
        return body
    ranking = rank_jobs(resume, user=user, k=k, filters=filters, am=am)
    t = time.perf_counter()
    reasons = job_reasons(am, encoder, resume, ranking)
    ranking.timings_ms["reasons"] = (time.perf_counter() - t) * 1000
    rows = selectors.job_rows([s.object_id for s in ranking.items])
    results = _results(ranking.items, rows, reasons, id_field="job")
    body = {"resume": resume.pk, **_envelope(ranking, k, filters), "results": results}
    cache.put(key, body, [("resume", resume.pk)] + [("job", r["job"]) for r in results])
    log.debug("jobs resume=%s %.1f ms %s", resume.pk, (time.perf_counter() - t0) * 1000, ranking.timings_ms)
    return body


# --------------------------------------------------------------------------------------- cache
def _cache_key(
    am: ActiveModel, encoder, endpoint: str, anchor: Job | Resume, user, k: int, f: Filters
) -> str:
    """Zero-shot answers are keyed by the encoder, so an encoder change never serves old vectors' answers."""
    tag = am.tag if am.model is not None else "zs-" + hashlib.sha1(encoder.version.encode()).hexdigest()[:10]
    # The anchor's newest interaction is in the key: a reject or an application recorded while Redis missed the
    # invalidation changes the key, so the stale entry is never served (it expires on its own).
    params = {"k": k, **f.as_key(), "h": anchor.content_hash, "i": selectors.latest_interaction_id(anchor)}
    return cache.make_key(tag, endpoint, anchor.pk, selectors.cache_scope(user), params)


def _cached_body(key: str, result_model: type[Model], id_field: str) -> dict | None:
    """A cached body whose documents all still exist (an entry that outlived an erasure whose
    invalidation Redis missed is dropped, not served)."""
    body = cache.get(key)
    if body is None:
        return None
    if not selectors.all_exist(result_model, [r[id_field] for r in body.get("results", [])]):
        cache.delete(key)
        return None
    body["cached"] = True
    return body


# --------------------------------------------------------------------------------------- body
def _envelope(ranking: Ranking, k: int, filters: Filters) -> dict:
    return {
        "model": ranking.model_tag,
        "model_version": ranking.model_version,
        "encoder": ranking.encoder,
        "k": k,
        "filters": filters.as_key(),
        "cached": False,
        "retrieval": {
            "space": ranking.space,
            "backend": ranking.backend,
            "generation": ranking.generation,
            "indexed": ranking.indexed,
            "reranked": ranking.reranked,
            "embedded_query": ranking.embedded_query,
            "pending_embeddings": ranking.pending_embeddings,
            "timings_ms": {k: round(v, 2) for k, v in ranking.timings_ms.items()},
        },
        "notes": ranking.notes,
    }


def _results(items: list[Scored], rows: dict[int, dict], reasons: dict[int, dict], *, id_field: str) -> list:
    results = []
    for s in items:
        row = rows.get(s.object_id)
        if row is None:  # erased between ranking and now
            continue
        results.append(
            {
                "rank": len(results) + 1,
                id_field: s.object_id,
                **row,
                "similarity": round(s.similarity, 6),
                "score": {
                    "total": round(s.total, 6),
                    "text": s.text if s.text is None else round(s.text, 6),
                    "relation": s.relation,
                },
                **reasons.get(s.object_id, _no_reasons()),
            }
        )
    return results


def _no_reasons() -> dict:
    return {"matched_skills": [], "missing_skills": [], "missing_nice_to_have": [], "best_sections": []}


# --------------------------------------------------------------------------------------- reasons
def section_similarities(
    am: ActiveModel, encoder, job_doc: JobDoc, resume_docs: Sequence[ResumeDoc]
) -> list[dict[str, float]]:
    if not resume_docs:
        return []
    if am.model is not None:
        return [am.model.section_similarities(job_doc, r) for r in resume_docs]
    return zero_shot_sections(encoder, job_doc, resume_docs)


def _section_cache(am: ActiveModel, encoder) -> EmbeddingCache:
    """The section cache the reasons read: the model's, or the serving encoder's for zero-shot."""
    return am.model.cache if am.model is not None else shared_cache(encoder)


def candidate_reasons(
    am: ActiveModel, encoder, job: Job, ranking: Ranking, docs: dict[int, ResumeDoc] | None = None
) -> dict[int, dict]:
    """resume id -> {matched_skills, missing_skills, missing_nice_to_have, best_sections}."""
    ids = [s.object_id for s in ranking.items]
    docs = documents.resumes_by_id(ids) if docs is None else docs
    docs_list = [docs[i] for i in ids if i in docs]
    job_doc = documents.job_doc(job)
    cache = _section_cache(am, encoder)
    prime_cache(cache, "job", [(job.pk, job_doc)])
    prime_cache(cache, "resume", [(int(d.id), d) for d in docs_list])
    sims = section_similarities(am, encoder, job_doc, docs_list)
    out = {}
    for doc, sim in zip(docs_list, sims, strict=True):
        out[int(doc.id)] = {
            **skill_reasons(job.required_skills, job.nice_to_have_skills, doc.skills, resume_text_of(doc)),
            "best_sections": best_sections(sim),
        }
    return out


def job_reasons(am: ActiveModel, encoder, resume: Resume, ranking: Ranking) -> dict[int, dict]:
    """job id -> the same reasons, from the resume's side."""
    ids = [s.object_id for s in ranking.items]
    rdoc = documents.resume_doc(resume)
    jobs = {
        j["id"]: j
        for j in Job.objects.filter(pk__in=ids).values("id", "required_skills", "nice_to_have_skills")
    }
    jdocs = documents.jobs_by_id(ids)
    cache = _section_cache(am, encoder)
    prime_cache(cache, "resume", [(resume.pk, rdoc)])
    prime_cache(cache, "job", [(i, d) for i, d in jdocs.items()])
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
