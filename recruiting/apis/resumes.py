"""Resumes sent as JSON (uploaded files: `recruiting.apis.uploads`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from recruiting import selectors, services, validators
from recruiting.apis.base import BAD_REQUEST, ScopedDetailView, ScopedListView, entries_field, skills_field
from recruiting.filters import ResumeFilter
from recruiting.models import RESUME_FIELDS, Candidate, Resume


class IntegrityFlagSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text="hidden_characters | injected_instructions | skill_repetition | keyword_stuffing | pasted_job_text"
    )
    reason = serializers.CharField()


class ResumeOutputSerializer(serializers.ModelSerializer):
    has_file = serializers.SerializerMethodField()
    flagged = serializers.SerializerMethodField()
    integrity_flags = IntegrityFlagSerializer(
        many=True,
        read_only=True,
        help_text="what the gamed-resume detector found; flagged text is not scored",
    )

    class Meta:
        model = Resume
        fields = [
            "id",
            "candidate",
            *RESUME_FIELDS,
            "has_file",
            "flagged",
            "integrity_flags",
            "created_at",
            "updated_at",
        ]

    def get_has_file(self, obj: Resume) -> bool:
        return bool(obj.source_file)

    def get_flagged(self, obj: Resume) -> bool:
        return bool(obj.integrity_flags)


class ResumeInputSerializer(serializers.Serializer):
    """JSON resume fields. `full_text` is composed from the sections when omitted (and no file
    was uploaded)."""

    external_id = serializers.CharField(max_length=200, allow_blank=True, default="")
    headline = serializers.CharField(max_length=300, allow_blank=True, default="")
    summary = serializers.CharField(
        allow_blank=True, default="", trim_whitespace=False, max_length=validators.MAX_TEXT_CHARS
    )
    skills = skills_field(default=list)
    experience = entries_field(
        default=list,
        help_text="[{title, company, location, start, end, description}]",
    )
    education = entries_field(default=list, help_text="[{degree, institution, field, year, description}]")
    full_text = serializers.CharField(
        allow_blank=True, required=False, trim_whitespace=False, max_length=validators.MAX_FULL_TEXT_CHARS
    )


# Every writable field but the file name, which only an upload sets.
assert list(ResumeInputSerializer().fields) == [f for f in RESUME_FIELDS if f != "source_file_name"]


class ResumeCreateInputSerializer(ResumeInputSerializer):
    candidate = serializers.PrimaryKeyRelatedField(
        queryset=Candidate.objects.none(),
        required=False,
        help_text="A candidate you manage; job seekers may omit it for their own profile.",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidate"].queryset = selectors.candidates_manageable_by(user)
        self._user = user

    def validate(self, attrs):
        if "candidate" not in attrs:
            own = selectors.candidate_of(self._user)
            if own is None:
                raise serializers.ValidationError({"candidate": ["This field is required."]})
            attrs["candidate"] = own
        return attrs


@extend_schema(tags=["resumes"])
class ResumeListApi(ScopedListView):
    """Resumes you can see: your own; for recruiters, those of your organizations' candidates and of
    candidates who interacted with your organizations' jobs."""

    filterset_class = ResumeFilter
    ordering_fields = ["created_at", "updated_at"]

    def get_queryset(self):
        return selectors.resumes_visible_to(self.request.user)

    @extend_schema(responses=ResumeOutputSerializer(many=True))
    def get(self, request):
        return self.list_response(ResumeOutputSerializer)

    @extend_schema(
        request=ResumeCreateInputSerializer, responses={201: ResumeOutputSerializer, 400: BAD_REQUEST}
    )
    def post(self, request):
        serializer = ResumeCreateInputSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        candidate = data.pop("candidate")
        resume = services.resume_create(candidate=candidate, data=data)
        return Response(ResumeOutputSerializer(resume).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["resumes"])
class ResumeDetailApi(ScopedDetailView):
    """One resume. DELETE erases it: text, stored file, interactions and every derived row; caches
    and indexes are told through `recruiting.signals.document_erased` after commit."""

    input_serializer_class = ResumeInputSerializer
    output_serializer_class = ResumeOutputSerializer

    def get_queryset(self):
        return selectors.resumes_visible_to(self.request.user)

    def get_manageable_queryset(self):
        return selectors.resumes_manageable_by(self.request.user)

    def perform_update(self, obj: Resume, data: dict[str, Any]) -> Resume:
        return services.resume_update(resume=obj, data=data)

    def perform_delete(self, obj: Resume) -> None:
        services.resume_erase(resume=obj)
