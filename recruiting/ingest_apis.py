"""Resume upload (parse a file into a resume) and bulk import (JSONL / CSV into an organization).

Both check the request size before reading the body, name the offending field in every 4xx, and
write nothing when they refuse a request.
"""

from __future__ import annotations

from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from recruiting import importing, selectors, services
from recruiting.apis import ResumeOutputSerializer
from recruiting.models import Candidate, Organization
from recruiting.parsing import SUPPORTED_DESCRIPTION, ParseError, UnsupportedFileType, parse_resume

# Multipart framing and the other form fields around the file.
MULTIPART_SLACK_BYTES = 64 * 1024


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is too large."
    default_code = "payload_too_large"


class UnsupportedFile(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = f"Unsupported file type; upload {SUPPORTED_DESCRIPTION}."
    default_code = "unsupported_file_type"


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _too_large(limit: int, size: int | None = None) -> PayloadTooLarge:
    got = f"The file is {_megabytes(size)}; " if size is not None else "The request is too large; "
    return PayloadTooLarge({"file": [f"{got}the limit is {_megabytes(limit)}."]})


def check_content_length(request, limit: int) -> None:
    """413 before the body is read when Content-Length already says it is over the limit."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + MULTIPART_SLACK_BYTES:
        raise _too_large(limit)


def _uploaded_file(request, limit: int):
    upload = request.FILES.get("file")
    if upload is None:
        raise serializers.ValidationError({"file": ["No file was submitted."]})
    if upload.size is not None and upload.size > limit:
        raise _too_large(limit, upload.size)
    return upload


def _organization_for(user, value) -> Organization:
    """One of the user's organizations by id or slug; 404 for any other."""
    orgs = selectors.organizations_of(user)
    text = str(value).strip()
    org = orgs.filter(pk=int(text)).first() if text.isdigit() else orgs.filter(slug=text).first()
    if org is None:
        raise NotFound({"organization": ["No such organization among yours."]})
    return org


# --- resume upload ------------------------------------------------------------------------------


class ResumeUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=f"The resume: {SUPPORTED_DESCRIPTION}.")
    candidate = serializers.IntegerField(
        required=False,
        help_text="An existing candidate you manage. Omit to create one (recruiters) or to use your own profile.",
    )
    organization = serializers.CharField(
        required=False,
        help_text="Id or slug of your organization for a new candidate (needed when you belong to several).",
    )
    full_name = serializers.CharField(
        required=False, max_length=200, help_text="New candidate: defaults to the name in the file."
    )
    email = serializers.EmailField(
        required=False, help_text="New candidate: defaults to the email in the file."
    )
    location = serializers.CharField(required=False, max_length=200, allow_blank=True)
    candidate_external_id = serializers.CharField(
        required=False,
        max_length=200,
        help_text="New candidate's external id; an existing one in the organization is reused.",
    )
    external_id = serializers.CharField(
        required=False, max_length=200, allow_blank=True, help_text="The resume's external id."
    )


class ResumeUploadOutputSerializer(ResumeOutputSerializer):
    file_format = serializers.SerializerMethodField()
    parsed_contact = serializers.SerializerMethodField()
    candidate_created = serializers.SerializerMethodField()

    class Meta(ResumeOutputSerializer.Meta):
        fields = [*ResumeOutputSerializer.Meta.fields, "file_format", "parsed_contact", "candidate_created"]

    def get_file_format(self, obj) -> str:
        return self.context["parsed"].file_format

    def get_parsed_contact(self, obj) -> dict:
        parsed = self.context["parsed"]
        return {"name": parsed.name, "email": parsed.email, "phone": parsed.phone}

    def get_candidate_created(self, obj) -> bool:
        return bool(self.context.get("candidate_created"))


@extend_schema(tags=["resumes"])
class ResumeUploadApi(APIView):
    """Upload a resume file (PDF, DOCX or text); it is parsed into sections and stored with its file.

    Recruiters name an existing `candidate`, or give candidate fields (and `organization` when they
    belong to several) to add a new candidate to their organization's talent pool. A job seeker
    uploads to their own candidate profile (created on first upload).
    Over RESUME_UPLOAD_MAX_BYTES: 413. Unsupported type: 415. Unreadable file: 400. All name `file`.
    """

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ResumeUploadInputSerializer},
        responses={
            201: ResumeUploadOutputSerializer,
            400: OpenApiResponse(description="Invalid field or unreadable file."),
            404: OpenApiResponse(description="Candidate or organization not yours."),
            413: OpenApiResponse(description="File over the size limit."),
            415: OpenApiResponse(description="Unsupported file type."),
        },
    )
    def post(self, request):
        limit = settings.RESUME_UPLOAD_MAX_BYTES
        check_content_length(request, limit)
        _uploaded_file(request, limit)  # size before anything else
        form = ResumeUploadInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        fields = form.validated_data
        upload = fields["file"]

        candidate, new_candidate = self._target(request.user, fields)

        data = upload.read()
        try:
            parsed = parse_resume(data, filename=upload.name or "", content_type=upload.content_type or "")
        except UnsupportedFileType as exc:
            raise UnsupportedFile({"file": [str(exc)]}) from exc
        except ParseError as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from exc

        name = PurePath(upload.name or "resume").name[-200:] or "resume"
        resume_data = {**parsed.resume_data(), "source_file_name": name}
        if fields.get("external_id"):
            resume_data["external_id"] = fields["external_id"]
        with transaction.atomic():
            if candidate is None:
                organization, candidate_fields, user = new_candidate
                candidate_data = {
                    "full_name": candidate_fields.get("full_name") or parsed.name[:200],
                    "email": candidate_fields.get("email") or _valid_email(parsed.email),
                    **{k: v for k, v in candidate_fields.items() if k in ("location", "external_id")},
                }
                candidate = services.candidate_create(
                    organization=organization, user=user, data=candidate_data
                )
            resume = services.resume_create(
                candidate=candidate, data=resume_data, source_file=ContentFile(data, name=name)
            )
        out = ResumeUploadOutputSerializer(
            resume,
            context={"request": request, "parsed": parsed, "candidate_created": new_candidate is not None},
        )
        return Response(out.data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _target(user, fields) -> tuple[Candidate | None, tuple | None]:
        """(existing candidate, None) or (None, (organization, candidate fields, user)) for a new one."""
        if "candidate" in fields:
            candidate = selectors.candidates_visible_to(user).filter(pk=fields["candidate"]).first()
            if candidate is None:
                raise NotFound({"candidate": ["No such candidate."]})
            if not selectors.candidates_manageable_by(user).filter(pk=candidate.pk).exists():
                raise PermissionDenied("You may not add resumes to this candidate.")
            return candidate, None
        candidate_fields = {
            k: fields[k] for k in ("full_name", "email", "location") if fields.get(k) not in (None, "")
        }
        if fields.get("candidate_external_id"):
            candidate_fields["external_id"] = fields["candidate_external_id"]
        recruiter = selectors.is_recruiter(user)
        own = selectors.candidate_of(user)
        if "organization" in fields or (recruiter and (candidate_fields or own is None)):
            if "organization" in fields:
                organization = _organization_for(user, fields["organization"])
            else:
                orgs = list(selectors.organizations_of(user)[:2])
                if len(orgs) != 1:
                    raise serializers.ValidationError(
                        {"organization": ["You belong to several organizations; name one."]}
                    )
                organization = orgs[0]
            external_id = candidate_fields.get("external_id")
            if external_id:
                existing = Candidate.objects.filter(
                    organization=organization, external_id=external_id
                ).first()
                if existing is not None:
                    return existing, None
            return None, (organization, candidate_fields, None)
        if own is not None:
            return own, None
        # a job seeker's first upload creates their profile
        return None, (None, {k: v for k, v in candidate_fields.items() if k != "external_id"}, user)


def _valid_email(value: str) -> str:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value[:254]


# --- bulk import --------------------------------------------------------------------------------


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
    organization = serializers.CharField(help_text="Id or slug of your organization.")
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
        _uploaded_file(request, limit)
        if "organization" in request.data:  # 404 for someone else's organization, before other checks
            organization = _organization_for(request.user, request.data["organization"])
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
