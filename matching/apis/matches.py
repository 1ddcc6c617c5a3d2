"""Ranked matches over HTTP.

GET  /api/jobs/{id}/candidates/?k=20&location=&remote=&seniority=&exclude=rejected,hired
GET  /api/resumes/{id}/jobs/?k=20&location=&remote=&seniority=&exclude=
POST /api/match/score  {"job": id | "job_text": str, "resume": id | "resume_text": str}

A job's candidates: recruiters of the job's organization only (anyone else gets 404), ranked among
the resumes they see. A resume's jobs: its candidate, or a recruiter who sees the resume; open jobs
the caller sees. Every answer names the model that ranked it: ``"v<version>"`` or ``"zero-shot"``.
"""

from __future__ import annotations

import functools

from django.http import Http404, HttpResponse, HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.throttling import ScoringThrottle
from matching import pair_scores, ranking, rendering, selectors
from matching.filters import EXCLUDE_KINDS, SENIORITIES, Filters
from recruiting.apis.resumes import IntegrityFlagSerializer


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
    seniority = _CommaList(SENIORITIES, required=False, allow_blank=True, default="")
    exclude = _CommaList(tuple(EXCLUDE_KINDS), required=False, allow_blank=True, default="")

    def to_filters(self) -> Filters:
        d = self.validated_data
        return Filters(
            location=(d.get("location") or "").strip(),
            remote=d.get("remote"),
            seniority=tuple(d.get("seniority") or ()),
            exclude=tuple(sorted({kind for e in d.get("exclude") or () for kind in EXCLUDE_KINDS[e]})),
        )


def _parse_query(request) -> tuple[int, Filters]:
    data = {k: v for k, v in request.query_params.items()}
    if "remote" in data and data["remote"] == "":
        data.pop("remote")
    return _validated_query(tuple(sorted(data.items())))


@functools.lru_cache(maxsize=2048)
def _validated_query(items: tuple[tuple[str, str], ...]) -> tuple[int, Filters]:
    """(k, filters) of a query string's parameters. Cached: the same few queries come back request after
    request, and the serializer cost ~0.4 ms, a sixth of a cached answer's own time. A bad query raises, so it
    is validated (and refused) every time; the result is immutable (Filters is frozen)."""
    s = MatchQuerySerializer(data=dict(items))
    s.is_valid(raise_exception=True)
    return s.validated_data["k"], s.to_filters()


def _parse_query_or_404(request, anchor) -> tuple[int, Filters]:
    """The query, checked after visibility as before: someone who may not see the document gets 404 whatever
    the query (`anchor()` is read only when the query is bad; the answer's probe checks visibility otherwise)."""
    try:
        return _parse_query(request)
    except serializers.ValidationError:
        if anchor() is None:
            raise Http404 from None
        raise


class ScoreInputSerializer(serializers.Serializer):
    job = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    resume = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
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
    flagged = serializers.BooleanField(help_text="The gamed-resume detector found something (see the flags).")
    integrity_flags = IntegrityFlagSerializer(
        many=True,
        help_text="The resume's stored flags plus what only this job shows (the resume copies its title and "
        "skills, or its ad); the flagged text is not scored.",
    )


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
    generation = serializers.IntegerField(allow_null=True, help_text="Staff only (null for others).")
    indexed = serializers.IntegerField(allow_null=True, help_text="Staff only: platform-wide count.")
    reranked = serializers.IntegerField()
    embedded_query = serializers.BooleanField()
    pending_embeddings = serializers.IntegerField(allow_null=True, help_text="Staff only.")
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


_MATCH_PARAMS = [
    OpenApiParameter("k", int, description="Number of results, 1..100 (default 20)."),
    OpenApiParameter("location", str, description="Location contains this text (case-insensitive)."),
    OpenApiParameter(
        "remote",
        bool,
        description="Candidates: false = on-site, the candidate must be in the job's city; true = anywhere. "
        "Jobs: true = remote jobs only, false = on-site jobs only.",
    ),
    OpenApiParameter("seniority", str, description="Comma-separated levels: " + ", ".join(SENIORITIES)),
    OpenApiParameter(
        "exclude",
        str,
        description="Comma-separated: leave out pairs with such an event: " + ", ".join(EXCLUDE_KINDS),
    ),
]


# --------------------------------------------------------------------------------------- views
def _respond(request, answer: ranking.Answer | None) -> HttpResponseBase:
    """A cached answer is sent as the JSON bytes it was stored as, when the client negotiated plain JSON (the
    bytes are what rendering the body would give); any other format (the browsable API, ``indent=``) renders
    the body as usual."""
    if answer is None:
        raise Http404
    if answer.rendered is not None and rendering.renders_as_stored(
        request.accepted_renderer, request.accepted_media_type
    ):
        return HttpResponse(answer.rendered, content_type=rendering.MEDIA_TYPE)
    return Response(answer.as_body())


class JobCandidatesApi(APIView):
    throttle_classes = [ScoringThrottle]  # per user: THROTTLE_RATES['scoring']

    @extend_schema(
        operation_id="job_candidates",
        parameters=_MATCH_PARAMS,
        responses=CandidatesResponseSerializer,
        summary="Ranked candidates for a job",
    )
    def get(self, request, pk: int):
        k, filters = _parse_query_or_404(request, lambda: selectors.job_for_candidates(request.user, pk))
        return _respond(
            request, ranking.candidates_answer(user=request.user, job_id=pk, k=k, filters=filters)
        )


class ResumeJobsApi(APIView):
    throttle_classes = [ScoringThrottle]  # per user: THROTTLE_RATES['scoring']

    @extend_schema(
        operation_id="resume_jobs",
        parameters=_MATCH_PARAMS,
        responses=JobsResponseSerializer,
        summary="Ranked open jobs for a resume",
    )
    def get(self, request, pk: int):
        k, filters = _parse_query_or_404(request, lambda: selectors.resume_for_jobs(request.user, pk))
        return _respond(request, ranking.jobs_answer(user=request.user, resume_id=pk, k=k, filters=filters))


class MatchScoreApi(APIView):
    throttle_classes = [ScoringThrottle]  # per user: THROTTLE_RATES['scoring']

    @extend_schema(
        operation_id="match_score",
        request=ScoreInputSerializer,
        responses=PairScoreResponseSerializer,
        summary="Score one job against one resume (stored or raw text)",
    )
    def post(self, request):
        s = ScoreInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        try:
            body = pair_scores.score_for_user(
                user=request.user,
                job_id=d.get("job"),
                job_text=d.get("job_text", ""),
                resume_id=d.get("resume"),
                resume_text=d.get("resume_text", ""),
            )
        except pair_scores.NotVisible as exc:
            raise serializers.ValidationError(exc.errors) from exc
        return Response(body)
