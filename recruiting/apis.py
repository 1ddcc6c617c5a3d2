"""HTTP API for organizations, members, jobs, candidates, resumes and interactions.

Thin views: each parses its input with its own small serializer, reads through
`recruiting.selectors` (which scope everything to the requesting user), writes through
`recruiting.services`, and renders with its own output serializer.

Conventions:

* An object outside the user's scope is a 404, for every method, including nested member routes.
* An object in scope that the user may not change is a 403 (e.g. a recruiter editing their
  organization, a job seeker editing an open job, a recruiter editing an applicant's own resume).
* A reference in a request body to an object outside the user's scope (an interaction's job of
  another organization, a resume's candidate the user may not manage) is a 400 naming that field,
  with the same message as for an id that does not exist.
* Interactions are an append-only log: create, list and retrieve only; PUT/PATCH/DELETE are 405.
* PUT replaces the writable fields (omitted optional fields return to their defaults); PATCH
  changes only the fields sent.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from rest_framework.response import Response

from recruiting import permissions, selectors, services
from recruiting.filters import (
    CandidateFilter,
    InteractionFilter,
    JobFilter,
    ResumeFilter,
    StableOrderingFilter,
)
from recruiting.models import Candidate, Interaction, Job, Membership, Organization, Resume

NOT_FOUND = OpenApiResponse(description="Not found, or outside your organizations.")
FORBIDDEN = OpenApiResponse(description="Visible to you, but you may not change it.")
BAD_REQUEST = OpenApiResponse(description="Invalid input; the body names the offending fields.")


# --- shared -------------------------------------------------------------------------------------


class DescriptionOnlyMetadata(SimpleMetadata):
    """OPTIONS answers with the view's name, description and formats only. The request and
    response shapes are in the OpenAPI schema; DRF's default would look for a view-wide serializer
    these views do not have."""

    def determine_actions(self, request, view):
        return {}


class ApiView(GenericAPIView):
    metadata_class = DescriptionOnlyMetadata
    filter_backends: list = []


class ScopedListView(ApiView):
    """A list endpoint over a scoped queryset, with django-filter, ordering and pagination."""

    filter_backends = [DjangoFilterBackend, StableOrderingFilter]
    ordering = ["-created_at"]

    def list_response(self, output_serializer: type[serializers.Serializer]) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(output_serializer(page, many=True).data)


class ScopedDetailView(ApiView):
    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


def _skills_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=200), max_length=200, **kwargs)


def _entries_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.DictField(), max_length=200, **kwargs)


# --- auth ---------------------------------------------------------------------------------------


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


@extend_schema(tags=["auth"], auth=[], responses={200: TokenOutputSerializer, 400: BAD_REQUEST})
class TokenObtainApi(ObtainAuthToken):
    """POST username and password; get the API token to send as `Authorization: Token <key>`."""


# --- organizations ------------------------------------------------------------------------------


class OrganizationOutputSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "role", "created_at", "updated_at"]

    def get_role(self, obj: Organization) -> str | None:
        if hasattr(obj, "user_role"):  # annotated by selectors.organization_list
            return obj.user_role
        user = self.context.get("user")
        membership = Membership.objects.filter(organization=obj, user_id=getattr(user, "pk", None)).first()
        return membership.role if membership else None


def _org_out(org: Organization, request) -> dict:
    return OrganizationOutputSerializer(org, context={"user": request.user}).data


@extend_schema(tags=["organizations"])
class OrganizationListApi(ScopedListView):
    """Organizations you belong to. Anyone authenticated may create one and becomes its admin."""

    filter_backends = [StableOrderingFilter]
    ordering_fields = ["name", "created_at"]
    ordering = ["name"]

    class OrganizationCreateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        slug = serializers.SlugField(max_length=80, required=False)

    def get_queryset(self):
        return selectors.organization_list(user=self.request.user)

    @extend_schema(responses=OrganizationOutputSerializer(many=True))
    def get(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        data = OrganizationOutputSerializer(page, many=True, context={"user": request.user}).data
        return self.get_paginated_response(data)

    @extend_schema(
        request=OrganizationCreateInputSerializer,
        responses={201: OrganizationOutputSerializer, 400: BAD_REQUEST},
    )
    def post(self, request):
        serializer = self.OrganizationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        org = services.organization_create(creator=request.user, **serializer.validated_data)
        return Response(_org_out(org, request), status=status.HTTP_201_CREATED)


@extend_schema(tags=["organizations"])
class OrganizationDetailApi(ScopedDetailView):
    """One of your organizations. Changing or deleting it takes the admin role."""

    class OrganizationUpdateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        slug = serializers.SlugField(max_length=80)

    def get_queryset(self):
        return selectors.organizations_of(self.request.user)

    @extend_schema(responses={200: OrganizationOutputSerializer, 404: NOT_FOUND})
    def get(self, request, pk: int):
        return Response(_org_out(self.get_object(), request))

    def _update(self, request, partial: bool) -> Response:
        org = self.get_object()
        permissions.ensure_org_admin(request.user, org)
        serializer = self.OrganizationUpdateInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        org = services.organization_update(organization=org, data=serializer.validated_data)
        return Response(_org_out(org, request))

    @extend_schema(
        request=OrganizationUpdateInputSerializer,
        responses={200: OrganizationOutputSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def put(self, request, pk: int):
        return self._update(request, partial=False)

    @extend_schema(
        request=OrganizationUpdateInputSerializer,
        responses={200: OrganizationOutputSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def patch(self, request, pk: int):
        return self._update(request, partial=True)

    @extend_schema(responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND})
    def delete(self, request, pk: int):
        org = self.get_object()
        permissions.ensure_org_admin(request.user, org)
        services.organization_delete(organization=org)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberOutputSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["user", "username", "role", "created_at"]


class _OrganizationScoped(ApiView):
    def get_organization(self) -> Organization:
        return get_object_or_404(selectors.organizations_of(self.request.user), pk=self.kwargs["org_pk"])


@extend_schema(tags=["organizations"])
class MemberListApi(_OrganizationScoped):
    """Members of one of your organizations. Adding a member takes the admin role."""

    class MemberCreateInputSerializer(serializers.Serializer):
        username = serializers.SlugRelatedField(
            slug_field="username", queryset=get_user_model().objects.all()
        )
        role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.RECRUITER)

    def get_queryset(self):
        return selectors.members_of(organization=self.get_organization())

    @extend_schema(responses={200: MemberOutputSerializer(many=True), 404: NOT_FOUND})
    def get(self, request, org_pk: int):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MemberOutputSerializer(page, many=True).data)

    @extend_schema(
        request=MemberCreateInputSerializer,
        responses={201: MemberOutputSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request, org_pk: int):
        org = self.get_organization()
        permissions.ensure_org_admin(request.user, org)
        serializer = self.MemberCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        membership = services.membership_set(organization=org, user=data["username"], role=data["role"])
        return Response(MemberOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["organizations"])
class MemberDetailApi(_OrganizationScoped):
    """One membership, addressed by the member's user id. Changing or removing it takes the admin
    role; an organization always keeps at least one admin."""

    class MemberUpdateInputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Membership.Role.choices)

    def get_object(self) -> Membership:
        org = self.get_organization()
        return get_object_or_404(selectors.members_of(organization=org), user_id=self.kwargs["user_pk"])

    @extend_schema(responses={200: MemberOutputSerializer, 404: NOT_FOUND})
    def get(self, request, org_pk: int, user_pk: int):
        return Response(MemberOutputSerializer(self.get_object()).data)

    def _update(self, request) -> Response:
        membership = self.get_object()
        permissions.ensure_org_admin(request.user, membership.organization)
        serializer = self.MemberUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_set(
            organization=membership.organization, user=membership.user, **serializer.validated_data
        )
        return Response(MemberOutputSerializer(membership).data)

    @extend_schema(
        request=MemberUpdateInputSerializer,
        responses={200: MemberOutputSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def put(self, request, org_pk: int, user_pk: int):
        return self._update(request)

    @extend_schema(
        request=MemberUpdateInputSerializer,
        responses={200: MemberOutputSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def patch(self, request, org_pk: int, user_pk: int):
        return self._update(request)

    @extend_schema(responses={204: None, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND})
    def delete(self, request, org_pk: int, user_pk: int):
        membership = self.get_object()
        permissions.ensure_org_admin(request.user, membership.organization)
        services.membership_remove(organization=membership.organization, user=membership.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- jobs ---------------------------------------------------------------------------------------


class JobOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "organization",
            "external_id",
            "title",
            "description",
            "required_skills",
            "nice_to_have_skills",
            "location",
            "remote",
            "seniority",
            "employment_type",
            "salary_min",
            "salary_max",
            "salary_currency",
            "status",
            "created_at",
            "updated_at",
        ]


class JobInputSerializer(serializers.Serializer):
    """Writable job fields. Defaults apply on create and PUT; PATCH changes only what is sent."""

    external_id = serializers.CharField(max_length=200, allow_blank=True, default="")
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(allow_blank=True, default="", trim_whitespace=False)
    required_skills = _skills_field(default=list)
    nice_to_have_skills = _skills_field(default=list)
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

    def get_queryset(self):
        return selectors.jobs_visible_to(self.request.user)

    @extend_schema(responses={200: JobOutputSerializer, 404: NOT_FOUND})
    def get(self, request, pk: int):
        return Response(JobOutputSerializer(self.get_object()).data)

    def _update(self, request, partial: bool) -> Response:
        job = self.get_object()
        permissions.ensure_in(selectors.jobs_manageable_by(request.user), job)
        serializer = JobInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        job = services.job_update(job=job, data=serializer.validated_data)
        return Response(JobOutputSerializer(job).data)

    @extend_schema(
        request=JobInputSerializer,
        responses={200: JobOutputSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def put(self, request, pk: int):
        return self._update(request, partial=False)

    @extend_schema(
        request=JobInputSerializer,
        responses={200: JobOutputSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def patch(self, request, pk: int):
        return self._update(request, partial=True)

    @extend_schema(responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND})
    def delete(self, request, pk: int):
        job = self.get_object()
        permissions.ensure_in(selectors.jobs_manageable_by(request.user), job)
        services.job_delete(job=job)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- candidates ---------------------------------------------------------------------------------


class CandidateOutputSerializer(serializers.ModelSerializer):
    has_account = serializers.SerializerMethodField()

    class Meta:
        model = Candidate
        fields = [
            "id",
            "organization",
            "external_id",
            "full_name",
            "email",
            "location",
            "has_account",
            "created_at",
            "updated_at",
        ]

    def get_has_account(self, obj: Candidate) -> bool:
        return obj.user_id is not None


class CandidateInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=200, allow_blank=True, default="")
    full_name = serializers.CharField(max_length=200, allow_blank=True, default="")
    email = serializers.EmailField(allow_blank=True, default="")
    location = serializers.CharField(max_length=200, allow_blank=True, default="")


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

    def get_queryset(self):
        return selectors.candidates_visible_to(self.request.user)

    @extend_schema(responses={200: CandidateOutputSerializer, 404: NOT_FOUND})
    def get(self, request, pk: int):
        return Response(CandidateOutputSerializer(self.get_object()).data)

    def _update(self, request, partial: bool) -> Response:
        candidate = self.get_object()
        permissions.ensure_in(selectors.candidates_manageable_by(request.user), candidate)
        serializer = CandidateInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        candidate = services.candidate_update(candidate=candidate, data=serializer.validated_data)
        return Response(CandidateOutputSerializer(candidate).data)

    @extend_schema(
        request=CandidateInputSerializer,
        responses={200: CandidateOutputSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def put(self, request, pk: int):
        return self._update(request, partial=False)

    @extend_schema(
        request=CandidateInputSerializer,
        responses={200: CandidateOutputSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def patch(self, request, pk: int):
        return self._update(request, partial=True)

    @extend_schema(responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND})
    def delete(self, request, pk: int):
        candidate = self.get_object()
        permissions.ensure_in(selectors.candidates_manageable_by(request.user), candidate)
        services.candidate_erase(candidate=candidate)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- resumes ------------------------------------------------------------------------------------


class ResumeOutputSerializer(serializers.ModelSerializer):
    has_file = serializers.SerializerMethodField()

    class Meta:
        model = Resume
        fields = [
            "id",
            "candidate",
            "external_id",
            "headline",
            "summary",
            "skills",
            "experience",
            "education",
            "full_text",
            "source_file_name",
            "has_file",
            "created_at",
            "updated_at",
        ]

    def get_has_file(self, obj: Resume) -> bool:
        return bool(obj.source_file)


class ResumeInputSerializer(serializers.Serializer):
    """JSON resume fields. `full_text` is composed from the sections when omitted (and no file
    was uploaded)."""

    external_id = serializers.CharField(max_length=200, allow_blank=True, default="")
    headline = serializers.CharField(max_length=300, allow_blank=True, default="")
    summary = serializers.CharField(allow_blank=True, default="", trim_whitespace=False)
    skills = _skills_field(default=list)
    experience = _entries_field(
        default=list,
        help_text="[{title, company, location, start, end, description}]",
    )
    education = _entries_field(default=list, help_text="[{degree, institution, field, year, description}]")
    full_text = serializers.CharField(allow_blank=True, required=False, trim_whitespace=False)


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

    def get_queryset(self):
        return selectors.resumes_visible_to(self.request.user)

    @extend_schema(responses={200: ResumeOutputSerializer, 404: NOT_FOUND})
    def get(self, request, pk: int):
        return Response(ResumeOutputSerializer(self.get_object()).data)

    def _update(self, request, partial: bool) -> Response:
        resume = self.get_object()
        permissions.ensure_in(selectors.resumes_manageable_by(request.user), resume)
        serializer = ResumeInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        resume = services.resume_update(resume=resume, data=serializer.validated_data)
        return Response(ResumeOutputSerializer(resume).data)

    @extend_schema(
        request=ResumeInputSerializer,
        responses={200: ResumeOutputSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def put(self, request, pk: int):
        return self._update(request, partial=False)

    @extend_schema(
        request=ResumeInputSerializer,
        responses={200: ResumeOutputSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def patch(self, request, pk: int):
        return self._update(request, partial=True)

    @extend_schema(responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND})
    def delete(self, request, pk: int):
        resume = self.get_object()
        permissions.ensure_in(selectors.resumes_manageable_by(request.user), resume)
        services.resume_erase(resume=resume)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- interactions -------------------------------------------------------------------------------


class InteractionOutputSerializer(serializers.ModelSerializer):
    strength = serializers.IntegerField(read_only=True)
    actor = serializers.IntegerField(source="actor_id", allow_null=True)

    class Meta:
        model = Interaction
        fields = ["id", "job", "resume", "kind", "strength", "actor", "external_id", "created_at"]


class InteractionInputSerializer(serializers.Serializer):
    job = serializers.PrimaryKeyRelatedField(queryset=Job.objects.none())
    resume = serializers.PrimaryKeyRelatedField(queryset=Resume.objects.none())
    kind = serializers.ChoiceField(
        choices=Interaction.Kind.choices,
        help_text=(
            "Job seekers, about their own resume on an open job: apply, withdraw, not_interested, "
            "click. Recruiters, on their organization's jobs: impression, shortlist, interview, "
            "offer, hire, reject."
        ),
    )
    external_id = serializers.CharField(max_length=200, allow_blank=True, default="")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["job"].queryset = selectors.jobs_visible_to(user)
        self.fields["resume"].queryset = selectors.resumes_visible_to(user).select_related("candidate")


@extend_schema(tags=["interactions"])
class InteractionListApi(ScopedListView):
    """The append-only event log between jobs and resumes: list and record events."""

    filterset_class = InteractionFilter
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return selectors.interactions_visible_to(self.request.user)

    @extend_schema(responses=InteractionOutputSerializer(many=True))
    def get(self, request):
        return self.list_response(InteractionOutputSerializer)

    @extend_schema(
        request=InteractionInputSerializer,
        responses={201: InteractionOutputSerializer, 400: BAD_REQUEST},
    )
    def post(self, request):
        serializer = InteractionInputSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        permissions.interaction_check(
            user=request.user, job=data["job"], resume=data["resume"], kind=data["kind"]
        )
        interaction = services.interaction_record(actor=request.user, **data)
        return Response(InteractionOutputSerializer(interaction).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(responses={200: InteractionOutputSerializer, 404: NOT_FOUND}))
@extend_schema(tags=["interactions"])
class InteractionDetailApi(ScopedDetailView):
    """One event. Events are never changed or deleted (405): a later decision is a new event."""

    def get_queryset(self):
        return selectors.interactions_visible_to(self.request.user)

    def get(self, request, pk: int):
        return Response(InteractionOutputSerializer(self.get_object()).data)
