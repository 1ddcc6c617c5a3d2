"""Candidates: organizations' talent pools and job seekers' own profiles."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from recruiting import selectors, services
from recruiting.apis.base import BAD_REQUEST, ScopedDetailView, ScopedListView
from recruiting.filters import CandidateFilter
from recruiting.models import CANDIDATE_FIELDS, Candidate, Organization


class CandidateOutputSerializer(serializers.ModelSerializer):
    has_account = serializers.SerializerMethodField()

    class Meta:
        model = Candidate
        fields = ["id", "organization", *CANDIDATE_FIELDS, "has_account", "created_at", "updated_at"]

    def get_has_account(self, obj: Candidate) -> bool:
        return obj.user_id is not None


class CandidateInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=200, allow_blank=True, default="")
    full_name = serializers.CharField(max_length=200, allow_blank=True, default="")
    email = serializers.EmailField(allow_blank=True, default="")
    location = serializers.CharField(max_length=200, allow_blank=True, default="")


assert list(CandidateInputSerializer().fields) == list(CANDIDATE_FIELDS), "every candidate field"


class CandidateCreateInputSerializer(CandidateInputSerializer):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(),
        required=False,
        help_text=(
            "Recruiters: the organization whose talent pool the candidate joins (required). "
            "Job seekers: omit it to create your own candidate profile."
        ),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = selectors.organizations_of(user)
        self._user = user

    def validate(self, attrs):
        if "organization" not in attrs:
            if selectors.is_recruiter(self._user):
                raise serializers.ValidationError({"organization": ["This field is required."]})
            if selectors.candidate_of(self._user) is not None:
                raise serializers.ValidationError(
                    {"non_field_errors": ["You already have a candidate profile."]}
                )
        return attrs


@extend_schema(tags=["candidates"])
class CandidateListApi(ScopedListView):
    """Candidates you can see: your organizations' talent pools and applicants to their jobs; a job
    seeker sees only their own profile."""

    filterset_class = CandidateFilter
    ordering_fields = ["created_at", "updated_at", "full_name"]

    def get_queryset(self):
        return selectors.candidates_visible_to(self.request.user)

    @extend_schema(responses=CandidateOutputSerializer(many=True))
    def get(self, request):
        return self.list_response(CandidateOutputSerializer)

    @extend_schema(
        request=CandidateCreateInputSerializer,
        responses={201: CandidateOutputSerializer, 400: BAD_REQUEST},
    )
    def post(self, request):
        serializer = CandidateCreateInputSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization = data.pop("organization", None)
        if organization is not None:
            candidate = services.candidate_create(organization=organization, data=data)
        else:
            candidate = services.candidate_create(user=request.user, data=data)
        return Response(CandidateOutputSerializer(candidate).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["candidates"])
class CandidateDetailApi(ScopedDetailView):
    """One candidate. Changed or erased by the person themselves or by their organization's
    recruiters; applicants from outside your organizations are read-only. DELETE erases the
    candidate with every resume, file, interaction and derived row."""

    input_serializer_class = CandidateInputSerializer
    output_serializer_class = CandidateOutputSerializer

    def get_queryset(self):
        return selectors.candidates_visible_to(self.request.user)

    def get_manageable_queryset(self):
        return selectors.candidates_manageable_by(self.request.user)

    def perform_update(self, obj: Candidate, data: dict[str, Any]) -> Candidate:
        return services.candidate_update(candidate=obj, data=data)

    def perform_delete(self, obj: Candidate) -> None:
        services.candidate_erase(candidate=obj)
