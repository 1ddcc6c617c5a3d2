"""Bulk import of jobs, candidates with resumes, or interactions from JSON Lines / CSV (`recruiting.importing`)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from recruiting import importing, ingest_services
from recruiting.apis.upload_limits import check_content_length, uploaded_file


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


ImportReportSerializer = inline_serializer(
    "ImportReport",
    {
        "kind": serializers.CharField(),
        "format": serializers.CharField(),
        "total": serializers.IntegerField(),
        "accepted": serializers.IntegerField(),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "rejected_count": serializers.IntegerField(),
        "rejected": serializers.ListField(child=serializers.DictField(), help_text="[{line, field, reason}]"),
        "rejected_truncated": serializers.BooleanField(),
        "batches": serializers.IntegerField(),
        "batches_rolled_back": serializers.IntegerField(),
    },
)


@extend_schema(tags=["imports"])
class ImportApi(APIView):
    """Bulk import jobs, candidates with resumes, or interactions into one of your organizations.

    Idempotent: re-importing a file creates no duplicates (keys: external_id, else content hash;
    interactions: external_id, else job + resume + kind + created_at). Rows that fail validation are
    reported with line, field and reason; the valid rows are stored (200 in both cases). A file that
    cannot be read as JSON Lines / CSV is a 400 naming `file`; over IMPORT_UPLOAD_MAX_BYTES a 413.
    """

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ImportInputSerializer},
        responses={
            200: ImportReportSerializer,
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
        upload = fields["file"]
        try:
            report = importing.import_file(
                organization=organization,
                kind=fields["kind"],
                file=upload,
                format=fields.get("format"),
                filename=upload.name or "",
                batch_size=fields["batch_size"],
                actor=request.user,
                partial_batches=fields["partial_batches"],
            )
        except importing.ImportFileError as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from exc
        return Response(report.to_dict(), status=status.HTTP_200_OK)
