"""Bulk import of jobs, candidates with resumes, or interactions from JSON Lines / CSV, run by a worker\n(`recruiting.import_jobs`): POST answers 202 with a status URL, GET follows the import."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.reverse import reverse

from recruiting import import_jobs, importing, ingest_services
from recruiting.apis.base import ScopedListView, ScopedRetrieveView
from recruiting.apis.upload_limits import check_content_length, uploaded_file
from recruiting.models import ImportJob


@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^({'|'.join(importing.KINDS)})$",
        "description": "One of: " + ", ".join(importing.KINDS) + ".",
    }
)
class _ImportKindField(serializers.ChoiceField):
    """A pattern, not an enum: an enum named after `kind` would collide with the interactions' kinds."""


@extend_schema_field({"type": "string", "enum": list(importing.FORMATS)})
class _ImportFormatField(serializers.ChoiceField):
    pass


class ImportInputSerializer(serializers.Serializer):
    organization = serializers.CharField(max_length=100, help_text="Id or slug of your organization.")
    kind = _ImportKindField(choices=importing.KINDS)
    file = serializers.FileField(help_text="JSON Lines or CSV with a header row (see the import docs).")
    format = _ImportFormatField(
        choices=importing.FORMATS, required=False, help_text="Defaults from the file name, else the content."
    )
    batch_size = serializers.IntegerField(
        required=False, min_value=1, max_value=10000, default=importing.DEFAULT_BATCH_SIZE
    )
    partial_batches = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Commit a batch's valid rows even when some of its rows fail (default: all-or-nothing).",
    )


class ImportReportSerializer(serializers.Serializer):
    kind = serializers.CharField()
    format = serializers.CharField()
    total = serializers.IntegerField()
    accepted = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected_count = serializers.IntegerField()
    rejected = serializers.ListField(
        child=serializers.DictField(), help_text="[{line, field, reason}], capped."
    )
    rejected_truncated = serializers.BooleanField()
    batches = serializers.IntegerField()
    batches_rolled_back = serializers.IntegerField()


_STAGES = {"queued": "queued", "running": "importing", "succeeded": "finished", "failed": "failed"}


class ImportJobOutputSerializer(serializers.ModelSerializer):
    """An import's stage and counts so far; `report` lists the rejected rows (capped) with line, field, reason."""

    status_url = serializers.SerializerMethodField()
    stage = serializers.SerializerMethodField(help_text="queued, importing, finished or failed.")
    finished = serializers.BooleanField(read_only=True)
    processed = serializers.SerializerMethodField(help_text="Rows read so far.")
    created = serializers.SerializerMethodField()
    updated = serializers.SerializerMethodField()
    unchanged = serializers.SerializerMethodField()
    failed = serializers.SerializerMethodField(help_text="Rows rejected so far (see report.rejected).")
    report = ImportReportSerializer(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id", "status_url", "organization", "kind", "format", "file_name", "file_bytes", "status", "stage",
            "finished", "processed", "created", "updated", "unchanged", "failed", "lines_done", "attempt",
            "error", "report", "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_status_url(self, job: ImportJob) -> str:
        return reverse("import-detail", kwargs={"pk": job.pk})

    def get_stage(self, job: ImportJob) -> str:
        return _STAGES[job.status]

    def _count(self, job: ImportJob, name: str) -> int:
        return int((job.report or {}).get(name, 0))

    def get_processed(self, job: ImportJob) -> int:
        return self._count(job, "total")

    def get_created(self, job: ImportJob) -> int:
        return self._count(job, "created")

    def get_updated(self, job: ImportJob) -> int:
        return self._count(job, "updated")

    def get_unchanged(self, job: ImportJob) -> int:
        return self._count(job, "unchanged")

    def get_failed(self, job: ImportJob) -> int:
        return self._count(job, "rejected_count")


@extend_schema(tags=["imports"])
class ImportApi(ScopedListView):
    """Bulk import jobs, candidates with resumes, or interactions into one of your organizations.

    POST checks the file's start (a CSV header naming known and required columns, a first JSON Lines object:
    else a 400 naming `file`; over IMPORT_UPLOAD_MAX_BYTES a 413), stores it and answers 202 with the import
    job and its `status_url`; a worker imports it in batches. Idempotent: re-importing a file creates no
    duplicates (keys: external_id, else content hash; interactions: external_id, else job + resume + kind +
    created_at). Rows that fail validation are reported with line, field and reason. GET lists the imports
    of your organizations, newest first.
    """

    parser_classes = [MultiPartParser, FormParser]
    ordering_fields = ["created_at", "finished_at"]

    def get_queryset(self):
        return import_jobs.import_jobs_visible_to(self.request.user)

    @extend_schema(responses={200: ImportJobOutputSerializer(many=True)})
    def get(self, request):
        return self.list_response(ImportJobOutputSerializer)

    @extend_schema(
        request={"multipart/form-data": ImportInputSerializer},
        responses={
            202: ImportJobOutputSerializer,
            400: OpenApiResponse(description="Malformed file or invalid field."),
            404: OpenApiResponse(description="Not one of your organizations."),
            413: OpenApiResponse(description="File over the size limit."),
        },
    )
    def post(self, request):
        limit = settings.IMPORT_UPLOAD_MAX_BYTES
        check_content_length(request, limit)
        uploaded_file(request, limit)
        if "organization" in request.data:  # 404 for someone else's organization, before other checks
            organization = ingest_services.organization_by_ref(
                user=request.user, ref=request.data["organization"]
            )
        form = ImportInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        fields = form.validated_data
        try:
            job = import_jobs.create_import_job(
                user=request.user,
                organization=organization,
                kind=fields["kind"],
                upload=fields["file"],
                format=fields.get("format"),
                batch_size=fields["batch_size"],
                partial_batches=fields["partial_batches"],
            )
        except importing.ImportFileError as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from exc
        job.refresh_from_db()  # with eager Celery (make demo) the import has already run
        body = ImportJobOutputSerializer(job).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


@extend_schema(tags=["imports"])
class ImportDetailApi(ScopedRetrieveView):
    """One import of your organizations: stage, counts so far and, when finished, the report."""

    output_serializer_class = ImportJobOutputSerializer

    def get_queryset(self):
        return import_jobs.import_jobs_visible_to(self.request.user)
