"""Ranked matches as the API serves them: the one service the match views call.

``candidates_answer`` (resumes for a job) and ``jobs_answer`` (open jobs for a resume) each: look the answer up
in the Redis cache (key: endpoint, document, the caller's scope, the query) and check it with one probe query
(the caller may rank this document; the cached answer's fingerprint is current; its documents still exist); on
a miss rank it (``matching.retrieval``: nearest neighbours, then the active model's rerank), explain each result
(matched and missing skills, best sections), add the rows' fields, store it, and return the response body.

A cached answer is stored already rendered (the exact JSON bytes the API sends, ``"cached": true``) behind a
one-line header (its fingerprint, its result ids, whom it was shaped for): a hit checks the header against the
probe and hands the bytes over without decoding or rendering them again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db.models import Model

from matching import cache, documents, rendering, selectors
from matching.encoders import current_encoder
from matching.filters import Filters
from matching.integrity import guard_candidates, spare_rows
from matching.reasons import best_sections, resume_text_of, skill_reasons, zero_shot_sections
from matching.retrieval import Ranking, Scored, rank_candidates, rank_jobs
from matching.section_store import prime_cache
from matching.selectors import ActiveModel
from ml.embedding import EmbeddingCache, shared_cache
from ml.types import JobDoc, ResumeDoc
from recruiting import selectors as rsel
from recruiting.models import Job, Resume

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """A ranked answer: `body` when computed now; `rendered` (the JSON bytes of the body with ``"cached": true``,
    as `matching.rendering` writes them) when it came from the cache."""

    body: dict | None = None
    rendered: bytes | None = None

    def as_body(self) -> dict:
        return self.body if self.body is not None else json.loads(self.rendered)


def candidates_answer(*, user, job_id: int, k: int = 20, filters: Filters | None = None) -> Answer | None:
    """The ranked-candidates answer for job `job_id`, among the resumes `user` sees; None when `user`
    may not rank this job's candidates (recruiters of the job's organization only)."""
    return _answer(_CANDIDATES, user=user, anchor_id=job_id, k=k, filters=filters or Filters())


def jobs_answer(*, user, resume_id: int, k: int = 20, filters: Filters | None = None) -> Answer | None:
    """The ranked-jobs answer for resume `resume_id`, among the open jobs `user` sees; None when `user`
    may not rank jobs for this resume (its candidate, or a recruiter who sees it)."""
    return _answer(_JOBS, user=user, anchor_id=resume_id, k=k, filters=filters or Filters())


def ranked_candidates(*, job: Job, user, k: int = 20, filters: Filters | None = None) -> dict:
    """`candidates_answer`'s body for a job the caller already checked `user` may rank."""
    answer = candidates_answer(user=user, job_id=job.pk, k=k, filters=filters)
    if answer is None:
        raise LookupError(f"job {job.pk} is not rankable by this user")
    return answer.as_body()


def ranked_jobs(*, resume: Resume, user, k: int = 20, filters: Filters | None = None) -> dict:
    """`jobs_answer`'s body for a resume the caller already checked `user` may rank jobs for."""
    answer = jobs_answer(user=user, resume_id=resume.pk, k=k, filters=filters)
    if answer is None:
        raise LookupError(f"resume {resume.pk} is not rankable by this user")
    return answer.as_body()


def _compute_candidates(
    job: Job, user, k: int, filters: Filters, am: ActiveModel, encoder
) -> tuple[dict, list]:
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
    return body, [("job", job.pk)] + [("resume", r["resume"]) for r in results]


def _compute_jobs(
    resume: Resume, user, k: int, filters: Filters, am: ActiveModel, encoder
) -> tuple[dict, list]:
    ranking = rank_jobs(resume, user=user, k=k, filters=filters, am=am)
    t = time.perf_counter()
    reasons = job_reasons(am, encoder, resume, ranking)
    ranking.timings_ms["reasons"] = (time.perf_counter() - t) * 1000
    rows = selectors.job_rows([s.object_id for s in ranking.items])
    results = _results(ranking.items, rows, reasons, id_field="job")
    body = {"resume": resume.pk, **_envelope(ranking, k, filters), "results": results}
    return body, [("resume", resume.pk)] + [("job", r["job"]) for r in results]


# --------------------------------------------------------------------------------------- cache
@dataclass(frozen=True)
class _Endpoint:
    name: str
    anchors: Callable  # user -> the anchor documents `user` may rank from (tenancy: recruiting.selectors)
    load: Callable  # QuerySet of the anchor's model, with what the ranking reads
    interaction_field: str
    result_model: type[Model]
    id_field: str
    compute: Callable  # (anchor, user, k, filters, am, encoder) -> (body, cache refs)


_CANDIDATES = _Endpoint(
    "candidates",
    rsel.jobs_manageable_by,
    lambda: Job.objects.select_related("organization"),
    "job_id",
    Resume,
    "resume",
    _compute_candidates,
)
_JOBS = _Endpoint(
    "jobs",
    rsel.resumes_visible_to,
    lambda: Resume.objects.select_related("candidate"),
    "resume_id",
    Job,
    "job",
    _compute_jobs,
)


def _answer(ep: _Endpoint, *, user, anchor_id: int, k: int, filters: Filters) -> Answer | None:
    """A cached answer is served only when its fingerprint (active version and artifact, encoder, the anchor's
    content hash and newest interaction) matches what one probe query reads now and every document it names
    still exists: a change whose invalidation Redis missed (a reject, an erasure, an activation) is never
    served stale. A hit costs one Redis read and one query, and no JSON decoding of the body."""
    t0 = time.perf_counter()
    encoder = current_encoder()
    key = cache.make_key("a", ep.name, anchor_id, selectors.cache_scope(user), {"k": k, **filters.as_key()})
    raw = cache.get_raw(key)
    header, rendered = _split_entry(raw)
    ids = header.get("ids", [])
    probe = selectors.answer_probe(
        ep.anchors(user),
        anchor_id,
        interaction_field=ep.interaction_field,
        result_model=ep.result_model,
        result_ids=ids,
    )
    if probe is None:
        return None
    fingerprint = probe.fingerprint(encoder.version)
    staff = _is_staff(user)
    if raw is not None:
        fresh = header.get("fp") == fingerprint and header.get("staff") == staff
        if fresh and rendered and probe.alive == len(set(ids)):
            return Answer(rendered=rendered)
        cache.delete(key)
    anchor = ep.load().filter(pk=anchor_id).first()
    if anchor is None:  # erased since the probe
        return None
    am = selectors.active_model()
    body, refs = ep.compute(anchor, user, k, filters, am, encoder)
    body = for_viewer(body, staff=staff)
    if (am.version.pk if am.model is not None else None) == probe.active_id:  # ranked by what the probe named
        cache.put_raw(key, _entry(fingerprint, body, ep.id_field, staff), refs)
    log.debug("%s %s=%s %.1f ms", ep.name, ep.id_field, anchor_id, (time.perf_counter() - t0) * 1000)
    return Answer(body=body)


PLATFORM_WIDE_FIELDS = ("indexed", "generation", "pending_embeddings")


def _is_staff(user) -> bool:
    return bool(user.is_staff or user.is_superuser)


def for_viewer(body: dict, *, staff: bool) -> dict:
    """Platform-wide counts (the whole index, every organization's pending work) only for staff."""
    if staff:
        return body
    retrieval = {**body.get("retrieval", {}), **dict.fromkeys(PLATFORM_WIDE_FIELDS)}
    return {**body, "retrieval": retrieval}


def _entry(fingerprint: list, body: dict, id_field: str, staff: bool) -> bytes:
    """Header line (fingerprint, result ids, staff or not) + the body rendered as a hit serves it. Compact JSON
    holds no raw newline, so the first newline ends the header."""
    ids = [r[id_field] for r in body.get("results", [])]
    header = json.dumps({"fp": fingerprint, "ids": ids, "staff": staff}, separators=(",", ":"))
    return header.encode("utf-8") + b"\n" + rendering.render({**body, "cached": True})


def _split_entry(raw: bytes | None) -> tuple[dict, bytes]:
    """(header, rendered body) of a stored entry; ({}, b"") for none or one that does not parse (an older
    format: treated as a miss and replaced)."""
    if raw is None:
        return {}, b""
    head, sep, rendered = raw.partition(b"\n")
    try:
        header = json.loads(head) if sep else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or not isinstance(header.get("ids"), list):
        return {}, b""
    if not all(isinstance(i, int) for i in header["ids"]):
        return {}, b""
    return header, rendered


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
        return am.model.section_similarities_many(job_doc, resume_docs)
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
