"""Model registry and training-run endpoints.

Staff only, every endpoint: the model is trained on every organization's interactions and serves every
organization, so starting a training run, activating or rolling back a version, and reading runs and versions
(platform-wide figures) are platform decisions, not an organization admin's (README, "Who may do what").
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from matching.compat.backfill import progress as backfill_progress
from matching.compat.backfill import vector_counts
from matching.compat.projection import serving_base
from matching.models import ModelVersion, TrainingRun
from matching.training.activation import activate, rollback
from matching.training.dispatch import WAITING
from matching.training.encoder_upgrade import EncoderNotFinetunable
from matching.training.errors import RegistryError
from matching.training.runs import start_training_run


def _is_staff(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_staff or user.is_superuser))


class IsStaff(BasePermission):
    message = "Only staff may train, switch or read the shared model's versions and runs."

    def has_permission(self, request, view) -> bool:
        return _is_staff(request.user)


class ModelVersionSerializer(serializers.ModelSerializer):
    parent_version = serializers.IntegerField(source="parent.version", read_only=True, default=None)
    replaced_version = serializers.IntegerField(source="replaced.version", read_only=True, default=None)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "version",
            "status",
            "created_at",
            "activated_at",
            "config",
            "data_window",
            "metrics",
            "artifact_name",
            "artifact_sha256",
            "encoder_version",
            "encoder_artifact_name",
            "parent_version",
            "replaced_version",
            "notes",
        ]
        read_only_fields = fields


class ModelVersionDetailSerializer(ModelVersionSerializer):
    """One version with its serving state: the older version it serves against while its own space is written
    (a compatible update), the backfill's progress, and the vectors each version's space still holds."""

    space_ready = serializers.BooleanField(read_only=True)
    serves_against = serializers.SerializerMethodField()
    backfill = serializers.SerializerMethodField()
    vectors = serializers.SerializerMethodField()
    vector_encoders = serializers.SerializerMethodField()

    class Meta(ModelVersionSerializer.Meta):
        fields = [
            *ModelVersionSerializer.Meta.fields,
            "space_ready",
            "serves_against",
            "backfill",
            "vectors",
            "vector_encoders",
        ]
        read_only_fields = fields

    def get_serves_against(self, version) -> dict | None:
        base = serving_base(version)
        if base is None:
            return None
        return {"version": base.version, "projection": version.compat.get("method")}

    def get_backfill(self, version) -> dict:
        return backfill_progress(version)

    def get_vectors(self, version) -> dict:
        return vector_counts()

    def get_vector_encoders(self, version) -> dict:
        """The encoder that made each stored version's vectors: {"v<n>": encoder version}."""
        numbers = [int(k[1:]) for k in vector_counts()]
        rows = ModelVersion.objects.filter(version__in=numbers).values_list("version", "encoder_version")
        return {f"v{n}": enc for n, enc in rows}


class ModelVersionBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "version", "status", "metrics", "notes", "activated_at"]
        read_only_fields = fields


class TrainingRunSerializer(serializers.ModelSerializer):
    model_version = ModelVersionBriefSerializer(read_only=True)
    losses = serializers.SerializerMethodField()
    kept_fraction = serializers.SerializerMethodField()
    clean_kept_fraction = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "status",
            "stage",
            "epoch",
            "epochs",
            "losses",
            "kept_fraction",
            "clean_kept_fraction",
            "progress",
            "history",
            "config",
            "error",
            "attempt",
            "trigger",
            "requested_by",
            "model_version",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_losses(self, run) -> dict:
        return (run.progress or {}).get("losses", {})

    def get_kept_fraction(self, run) -> float | None:
        return (run.progress or {}).get("kept_fraction")

    def get_clean_kept_fraction(self, run) -> float | None:
        return (run.progress or {}).get("clean_kept_fraction")


class TrainingRunRequestSerializer(serializers.Serializer):
    finetune_encoder = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Fine-tune the text encoder on the interactions first and train on it (an encoder upgrade, "
        "served at once through the compatible update while the backfill re-embeds). Default: the worker's "
        "TRAINING_ENCODER_FINETUNE.",
    )


class RollbackSerializer(serializers.Serializer):
    to_version = serializers.IntegerField(
        required=False, help_text="Version number; default: the one replaced."
    )


def _conflict(exc: RegistryError) -> Response:
    return Response({"detail": str(exc), "code": exc.code}, status=status.HTTP_409_CONFLICT)


class TrainingRunListApi(GenericAPIView):
    """GET lists runs; POST starts one (201), or returns the one in progress (200). A run committed while the
    broker or Redis is down answers 202: it is queued and the dispatcher sends it once they are back."""

    queryset = TrainingRun.objects.select_related("model_version").order_by("-created_at")
    serializer_class = TrainingRunSerializer
    filterset_fields = ["status"]

    permission_classes = [IsStaff]

    @extend_schema(responses=TrainingRunSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(TrainingRunSerializer(page, many=True).data)

    @extend_schema(
        request=TrainingRunRequestSerializer,
        responses={200: TrainingRunSerializer, 201: TrainingRunSerializer, 202: TrainingRunSerializer},
    )
    def post(self, request):
        body = TrainingRunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        finetune = body.validated_data.get("finetune_encoder")
        try:
            run, created = start_training_run(
                requested_by=request.user, trigger="api", finetune_encoder=finetune
            )
        except EncoderNotFinetunable as exc:
            return Response({"finetune_encoder": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        except RegistryError as exc:
            return _conflict(exc)
        run = self.get_queryset().get(pk=run.pk)
        not_sent = run.status == TrainingRun.Status.QUEUED and run.stage == WAITING
        code = status.HTTP_202_ACCEPTED if created and not_sent else 201 if created else status.HTTP_200_OK
        return Response(TrainingRunSerializer(run).data, status=code)


class TrainingRunDetailApi(GenericAPIView):
    """A run's live progress: stage, epoch, losses, kept fractions, history."""

    queryset = TrainingRun.objects.select_related("model_version")
    serializer_class = TrainingRunSerializer
    permission_classes = [IsStaff]

    def get(self, request, pk: int):
        return Response(TrainingRunSerializer(self.get_object()).data)


class ModelVersionListApi(GenericAPIView):
    queryset = ModelVersion.objects.select_related("parent", "replaced").order_by("-version")
    serializer_class = ModelVersionSerializer
    permission_classes = [IsStaff]
    filterset_fields = ["status"]

    @extend_schema(responses=ModelVersionSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ModelVersionSerializer(page, many=True).data)


class ModelVersionDetailApi(GenericAPIView):
    queryset = ModelVersion.objects.select_related("parent", "replaced")
    serializer_class = ModelVersionDetailSerializer
    permission_classes = [IsStaff]

    def get(self, request, pk: int):
        return Response(ModelVersionDetailSerializer(self.get_object()).data)


class ModelVersionActivateApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=None, responses=ModelVersionSerializer)
    def post(self, request, pk: int):
        """Activate this version. 409 when its artifact is missing or corrupt (the active one stays)."""
        version = get_object_or_404(ModelVersion, pk=pk)
        try:
            version = activate(version.pk, reason=f"activated by {request.user.get_username()}")
        except RegistryError as exc:
            return _conflict(exc)
        return Response(ModelVersionSerializer(ModelVersion.objects.get(pk=version.pk)).data)


class ModelVersionRollbackApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=RollbackSerializer, responses=ModelVersionSerializer)
    def post(self, request):
        """Re-activate the version the active one replaced (or `to_version`)."""
        body = RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        to_id = None
        if body.validated_data.get("to_version") is not None:
            target = ModelVersion.objects.filter(version=body.validated_data["to_version"]).first()
            if target is None:
                return Response({"to_version": "No such version."}, status=status.HTTP_400_BAD_REQUEST)
            to_id = target.pk
        try:
            version = rollback(to_version_id=to_id)
        except RegistryError as exc:
            return _conflict(exc)
        return Response(ModelVersionSerializer(ModelVersion.objects.get(pk=version.pk)).data)
