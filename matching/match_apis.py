"""Ranked matches over HTTP.

GET  /api/jobs/{id}/candidates/?k=20&location=&remote=&seniority=&exclude=rejected,hired
GET  /api/resumes/{id}/jobs/?k=20&location=&remote=&seniority=&exclude=
POST /api/match/score  {"job": id | "job_text": str, "resume": id | "resume_text": str}

A job's candidates: recruiters of the job's organization only (anyone else gets 404), ranked among
the resumes they see. A resume's jobs: its candidate, or a recruiter who sees the resume; open jobs
the caller sees. Every answer names the model that ranked it: ``"v<version>"`` or ``"zero-shot"``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from matching import cache
from matching import match_selectors as msel
from matching.retrieval import (
    PairSide,
    Ranking,
    candidate_reasons,
    job_reasons,
    rank_candidates,
    rank_jobs,
    raw_job_doc,
    raw_resume_doc,
    score_pair,
)
from recruiting import selectors as rsel
from recruiting.models import Job, Resume

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------- input
class _CommaList(serializers.CharField):
    def __init__(self, choices, **kwargs):
        self.allowed = tuple(choices)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        items = [p.strip().lower() for p in text.split(",") if p.strip()]
        bad = [p for p in items if p not in self.allowed]
        if bad:
            raise serializers.ValidationError(
                f"Unknown value(s): {', '.join(bad)}. Allowed: {', '.join(self.allowed)}."
            )
        return tuple(dict.fromkeys(items))


class MatchQuerySerializer(serializers.Serializer):
    k = serializers.IntegerField(min_value=1, max_value=100, default=20)
    location = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    remote = serializers.BooleanField(required=False, allow_null=True, default=None)
    seniority = _CommaList(msel.SENIORITIES, required=False, allow_blank=True, default="")
    exclude = _CommaList(tuple(msel.EXCLUDE_KINDS), required=False, allow_blank=True, default="")

    def to_filters(self) -> msel.Filters:
        d = self.validated_data
        return msel.Filters(
            location=(d.get("location") or "").strip(),
            remote=d.get("remote"),
            seniority=tuple(d.get("seniority") or ()),
            exclude=tuple(sorted(msel.EXCLUDE_KINDS[e] for e in d.get("exclude") or ())),
        )


def _parse_query(request) -> tuple[int, msel.Filters]:
    data = {k: v for k, v in request.query_params.items()}
    if "remote" in data and data["remote"] == "":
        data.pop("remote")
    s = MatchQuerySerializer(data=data)
    s.is_valid(raise_exception=True)
    return s.validated_data["k"], s.to_filters()


class ScoreInputSerializer(serializers.Serializer):
    job = serializers.IntegerField(required=False, min_value=1)
    resume = serializers.IntegerField(required=False, min_value=1)
    job_text = serializers.CharField(required=False, max_length=50_000, trim_whitespace=True)
    resume_text = serializers.CharField(required=False, max_length=50_000, trim_whitespace=True)

    def validate(self, attrs):
        errors = {}
        for side in ("job", "resume"):
            has_id, has_text = attrs.get(side) is not None, bool(attrs.get(f"{side}_text"))
            if has_id and has_text:
                errors[side] = f"Give either '{side}' or '{side}_text', not both."
            elif not has_id and not has_text:
                errors[side] = f"Required: '{side}' (an id) or '{side}_text'."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


# --------------------------------------------------------------------------------------- output
class ScoreSerializer(serializers.Serializer):
    total = serializers.FloatField()
    text = serializers.FloatField(allow_null=True)
    relation = serializers.FloatField(allow_null=True)


class SectionSerializer(serializers.Serializer):
    job_section = serializers.CharField()
    resume_section = serializers.CharField()
    similarity = serializers.FloatField()


class ReasonsMixin(serializers.Serializer):
    score = ScoreSerializer()
    matched_skills = serializers.ListField(child=serializers.CharField())
    missing_skills = serializers.ListField(child=serializers.CharField())
    missing_nice_to_have = serializers.ListField(child=serializers.CharField())
    best_sections = SectionSerializer(many=True)


class CandidateItemSerializer(ReasonsMixin):
    rank = serializers.IntegerField()
    resume = serializers.IntegerField()
    candidate = serializers.IntegerField()
    name = serializers.CharField()
    headline = serializers.CharField()
    location = serializers.CharField()
    seniority = serializers.CharField(help_text="Inferred from titles and years of experience.")
    similarity = serializers.FloatField(help_text="Stage-1 embedding cosine.")


class JobItemSerializer(ReasonsMixin):
    rank = serializers.IntegerField()
    job = serializers.IntegerField()
    title = serializers.CharField()
    organization = serializers.CharField()
    location = serializers.CharField()
    remote = serializers.BooleanField()
    seniority = serializers.CharField()
    similarity = serializers.FloatField()


class RetrievalInfoSerializer(serializers.Serializer):
    space = serializers.CharField()
    backend = serializers.CharField()
    generation = serializers.IntegerField()
    indexed = serializers.IntegerField()
    reranked = serializers.IntegerField()
    embedded_query = serializers.BooleanField()
    pending_embeddings = serializers.IntegerField()
    timings_ms = serializers.DictField(
        child=serializers.FloatField(), help_text="Server time per stage when the answer was computed."
    )


class _RankingBase(serializers.Serializer):
    model = serializers.CharField(help_text='"v<version>" of the active model, or "zero-shot".')
    model_version = serializers.IntegerField(allow_null=True)
    encoder = serializers.CharField()
    k = serializers.IntegerField()
    filters = serializers.DictField()
    cached = serializers.BooleanField()
    retrieval = RetrievalInfoSerializer()
    notes = serializers.ListField(child=serializers.CharField())


class CandidatesResponseSerializer(_RankingBase):
    job = serializers.IntegerField()
    results = CandidateItemSerializer(many=True)


class JobsResponseSerializer(_RankingBase):
    resume = serializers.IntegerField()
    results = JobItemSerializer(many=True)


class PairScoreResponseSerializer(ReasonsMixin):
    model = serializers.CharField()
    model_version = serializers.IntegerField(allow_null=True)
    encoder = serializers.CharField()
    job = serializers.IntegerField(allow_null=True)
    resume = serializers.IntegerField(allow_null=True)
    notes = serializers.ListField(child=serializers.CharField())


# --------------------------------------------------------------------------------------- helpers
def _model_tag(am, encoder) -> str:
    if am.model is not None:
        return am.tag
    return "zs-" + hashlib.sha1(encoder.version.encode("utf-8")).hexdigest()[:10]


def _envelope(ranking: Ranking, k: int, filters: msel.Filters) -> dict:
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


def _score(s) -> dict:
    return {
        "total": round(s.total, 6),
        "text": s.text if s.text is None else round(s.text, 6),
        "relation": s.relation,
    }


def _still_there(model, ids: list[int]) -> bool:
    return not ids or model.objects.filter(pk__in=ids).count() == len(set(ids))


def _serve_cached(key: str, model, id_field: str):
    """A cached body whose documents all still exist (an entry that outlived an erasure whose
    invalidation Redis missed is dropped, not served)."""
    body = cache.get(key)
    if body is None:
        return None
    ids = [r[id_field] for r in body.get("results", [])]
    if not _still_there(model, ids):
        cache.delete(key)
        return None
    body["cached"] = True
    return body


_MATCH_PARAMS = [
    OpenApiParameter("k", int, description="Number of results, 1..100 (default 20)."),
    OpenApiParameter("location", str, description="Location contains this text (case-insensitive)."),
    OpenApiParameter(
        "remote",
        bool,
        description="Candidates: false = on-site, the candidate must be in the job's city; true = anywhere. "
        "Jobs: true = remote jobs only, false = on-site jobs only.",
    ),
    OpenApiParameter("seniority", str, description="Comma-separated levels: " + ", ".join(msel.SENIORITIES)),
    OpenApiParameter(
        "exclude",
        str,
        description="Comma-separated: leave out pairs with such an event: " + ", ".join(msel.EXCLUDE_KINDS),
    ),
]


# --------------------------------------------------------------------------------------- views
@dataclass(frozen=True)
class _RankedSide:
    """What differs between ranking candidates for a job and jobs for a resume; ``_ranked_response`` does the
    rest (cache lookup, ranking, reasons with their timing, result rows, cache write)."""

    cache_kind: str  # "candidates" | "jobs"
    anchor_field: str  # the body's key for the anchor document ("job" | "resume")
    result_model: type  # Resume | Job
    result_field: str  # each result's id key ("resume" | "job")
    rank: Callable
    reasons: Callable
    result_rows: Callable[[list[int]], dict[int, dict]]  # ids -> {id: fields of the result row}


def _candidate_rows(ids: list[int]) -> dict[int, dict]:
    rows = Resume.objects.filter(pk__in=ids).values(
        "id", "candidate_id", "candidate__full_name", "candidate__location", "headline", "experience"
    )
    return {
        r["id"]: {
            "candidate": r["candidate_id"],
            "name": r["candidate__full_name"],
            "headline": r["headline"],
            "location": r["candidate__location"],
            "seniority": msel.infer_seniority(r["headline"], r["experience"]),
        }
        for r in rows
    }


def _job_rows(ids: list[int]) -> dict[int, dict]:
    rows = Job.objects.filter(pk__in=ids).values(
        "id", "title", "organization__name", "location", "remote", "seniority"
    )
    return {
        r["id"]: {
            "title": r["title"],
            "organization": r["organization__name"],
            "location": r["location"],
            "remote": r["remote"],
            "seniority": r["seniority"],
        }
        for r in rows
    }


CANDIDATES_SIDE = _RankedSide(
    "candidates", "job", Resume, "resume", rank_candidates, candidate_reasons, _candidate_rows
)
JOBS_SIDE = _RankedSide("jobs", "resume", Job, "job", rank_jobs, job_reasons, _job_rows)


def _ranked_response(request, anchor, side: _RankedSide) -> Response:
    t0 = time.perf_counter()
    k, filters = _parse_query(request)
    am = msel.active_model()
    encoder = msel.serving_encoder()
    key = cache.make_key(
        _model_tag(am, encoder),
        side.cache_kind,
        anchor.pk,
        msel.cache_scope(request.user),
        {"k": k, **filters.as_key(), "h": anchor.content_hash},
    )
    body = _serve_cached(key, side.result_model, side.result_field)
    if body is not None:
        return Response(body)
    ranking = side.rank(anchor, user=request.user, k=k, filters=filters, am=am)
    t = time.perf_counter()
    reasons = side.reasons(am, encoder, anchor, ranking)
    ranking.timings_ms["reasons"] = (time.perf_counter() - t) * 1000
    rows = side.result_rows([s.object_id for s in ranking.items])
    results = []
    for s in ranking.items:
        row = rows.get(s.object_id)
        if row is None:  # erased between ranking and now
            continue
        results.append(
            {
                "rank": len(results) + 1,
                side.result_field: s.object_id,
                **row,
                "similarity": round(s.similarity, 6),
                "score": _score(s),
                **reasons.get(s.object_id, _no_reasons()),
            }
        )
    body = {side.anchor_field: anchor.pk, **_envelope(ranking, k, filters), "results": results}
    refs = [(side.anchor_field, anchor.pk)] + [(side.result_field, r[side.result_field]) for r in results]
    cache.put(key, body, refs)
    log.debug(
        "%s %s=%s %.1f ms %s",
        side.cache_kind,
        side.anchor_field,
        anchor.pk,
        (time.perf_counter() - t0) * 1000,
        ranking.timings_ms,
    )
    return Response(body)


class JobCandidatesApi(APIView):
    @extend_schema(
        operation_id="job_candidates",
        parameters=_MATCH_PARAMS,
        responses=CandidatesResponseSerializer,
        summary="Ranked candidates for a job",
    )
    def get(self, request, pk: int):
        job = msel.job_for_candidates(request.user, pk)
        if job is None:
            raise Http404
        return _ranked_response(request, job, CANDIDATES_SIDE)


class ResumeJobsApi(APIView):
    @extend_schema(
        operation_id="resume_jobs",
        parameters=_MATCH_PARAMS,
        responses=JobsResponseSerializer,
        summary="Ranked open jobs for a resume",
    )
    def get(self, request, pk: int):
        resume = msel.resume_for_jobs(request.user, pk)
        if resume is None:
            raise Http404
        return _ranked_response(request, resume, JOBS_SIDE)


def _no_reasons() -> dict:
    return {"matched_skills": [], "missing_skills": [], "missing_nice_to_have": [], "best_sections": []}


class MatchScoreApi(APIView):
    @extend_schema(
        operation_id="match_score",
        request=ScoreInputSerializer,
        responses=PairScoreResponseSerializer,
        summary="Score one job against one resume (stored or raw text)",
    )
    def post(self, request):
        from matching import conversion

        s = ScoreInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        errors = {}
        job_side = resume_side = None
        if d.get("job") is not None:
            job = (
                rsel.jobs_visible_to(request.user).select_related("organization").filter(pk=d["job"]).first()
            )
            if job is None:
                errors["job"] = ["No such job."]
            else:
                job_side = PairSide(conversion.job_doc(job), job)
        else:
            job_side = PairSide(raw_job_doc(d["job_text"]), None, d["job_text"])
        if d.get("resume") is not None:
            resume = (
                rsel.resumes_visible_to(request.user)
                .select_related("candidate")
                .filter(pk=d["resume"])
                .first()
            )
            if resume is None:
                errors["resume"] = ["No such resume."]
            else:
                resume_side = PairSide(conversion.resume_doc(resume), resume)
        else:
            resume_side = PairSide(raw_resume_doc(d["resume_text"]), None, d["resume_text"])
        if errors:
            raise serializers.ValidationError(errors)
        body = score_pair(job_side, resume_side)
        body["job"] = d.get("job")
        body["resume"] = d.get("resume")
        return Response(body)
