"""Jobs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from recruiting import selectors, services, validators
from recruiting.apis.base import BAD_REQUEST, ScopedDetailView, ScopedListView, skills_field
from recruiting.filters import JobFilter
from recruiting.models import JOB_FIELDS, Job, Organization


class JobOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id", "organization", *JOB_FIELDS, "created_at", "updated_at"]


class JobInputSerializer(serializers.Serializer):
    """Writable job fields. Defaults apply on create and PUT; PATCH changes only what is sent."""

    external_id = serializers.CharField(max_length=200, allow_blank=True, default="")
    title = serializers.CharField(max_length=300)
    employer = serializers.CharField(
        max_length=200,
        allow_blank=True,
        default="",
        help_text="The company the job is for, if not the organization.",
    )
    description = serializers.CharField(
        allow_blank=True, default="", trim_whitespace=False, max_length=validators.MAX_TEXT_CHARS
    )
    required_skills = skills_field(default=list)
    nice_to_have_skills = skills_field(default=list)
    location = serializers.CharField(max_length=200, allow_blank=True, default="")
    remote = serializers.BooleanField(default=False)
    seniority = serializers.ChoiceField(choices=Job.Seniority.choices, default=Job.Seniority.MID)
    employment_type = serializers.ChoiceField(
        choices=Job.EmploymentType.choices, default=Job.EmploymentType.FULL_TIME
    )
    salary_min = serializers.IntegerField(min_value=0, allow_null=True, default=None)
    salary_max = serializers.IntegerField(min_value=0, allow_null=True, default=None)
    salary_currency = serializers.CharField(max_length=3, allow_blank=True, default="USD")
    status = serializers.ChoiceField(choices=Job.Status.choices, default=Job.Status.OPEN)


assert list(JobInputSerializer().fields) == list(JOB_FIELDS), "the job input takes every writable field"


class JobCreateInputSerializer(JobInputSerializer):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(),
        required=False,
        help_text="One of your organizations; may be omitted when you belong to exactly one.",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = selectors.organizations_of(user)
        self._user = user

    def validate(self, attrs):
        if "organization" not in attrs:
            orgs = list(selectors.organizations_of(self._user)[:2])
            if len(orgs) != 1:
                raise serializers.ValidationError({"organization": ["This field is required."]})
            attrs["organization"] = orgs[0]
        return attrs


@extend_schema(tags=["jobs"])
class JobListApi(ScopedListView):
    """Jobs you can see: all jobs of your organizations; job seekers see every open job.
    Creating a job takes membership in its organization."""

    filterset_class = JobFilter
    ordering_fields = ["created_at", "updated_at", "title", "salary_min", "salary_max"]

    def get_queryset(self):
        return selectors.jobs_visible_to(self.request.user)

    @extend_schema(responses=JobOutputSerializer(many=True))
    def get(self, request):
        return self.list_response(JobOutputSerializer)

    @extend_schema(request=JobCreateInputSerializer, responses={201: JobOutputSerializer, 400: BAD_REQUEST})
    def post(self, request):
        serializer = JobCreateInputSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization = data.pop("organization")
        job = services.job_create(organization=organization, data=data)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["jobs"])
class JobDetailApi(ScopedDetailView):
    """One job. Changing or deleting it takes membership in its organization."""

    input_serializer_class = JobInputSerializer
    output_serializer_class = JobOutputSerializer

    def get_queryset(self):
        return selectors.jobs_visible_to(self.request.user)

    def get_manageable_queryset(self):
        return selectors.jobs_manageable_by(self.request.user)

    def perform_update(self, obj: Job, data: dict[str, Any]) -> Job:
        return services.job_update(job=obj, data=data)

    def perform_delete(self, obj: Job) -> None:
        services.job_delete(job=obj)
