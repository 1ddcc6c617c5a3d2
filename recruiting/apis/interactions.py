"""The append-only interaction log: create, list and retrieve; never changed or deleted (405)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from recruiting import permissions, selectors, services
from recruiting.apis.base import BAD_REQUEST, ScopedListView, ScopedRetrieveView
from recruiting.filters import InteractionFilter
from recruiting.models import Interaction, Job, Resume


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


@extend_schema(tags=["interactions"])
class InteractionDetailApi(ScopedRetrieveView):
    """One event. Events are never changed or deleted (405): a later decision is a new event."""

    output_serializer_class = InteractionOutputSerializer

    def get_queryset(self):
        return selectors.interactions_visible_to(self.request.user)
