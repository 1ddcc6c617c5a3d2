"""Resume upload: a PDF, DOCX or text file parsed into a resume (where it goes: `ingest_services`)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from recruiting import ingest_services
from recruiting.apis.resumes import ResumeOutputSerializer
from recruiting.apis.upload_limits import PayloadTooLarge, check_content_length, uploaded_file
from recruiting.parsing.formats import SUPPORTED_DESCRIPTION, ParseError, UnsupportedFileType
from recruiting.parsing.limits import LimitExceeded


class UnsupportedFile(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = f"Unsupported file type; upload {SUPPORTED_DESCRIPTION}."
    default_code = "unsupported_file_type"


class ResumeUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=f"The resume: {SUPPORTED_DESCRIPTION}.")
    candidate = serializers.IntegerField(
        required=False,
        help_text="An existing candidate you manage. Omit to create one (recruiters) or to use your own profile.",
    )
    organization = serializers.CharField(
        required=False,
        max_length=100,
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
    The file is parsed in a child process with CPU, memory and structure limits (`UPLOAD_PARSE_*`).
    Over RESUME_UPLOAD_MAX_BYTES or a parsing limit: 413. Unsupported type: 415. Unreadable file: 400. All name `file`.
    """

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ResumeUploadInputSerializer},
        responses={
            201: ResumeUploadOutputSerializer,
            400: OpenApiResponse(description="Invalid field or unreadable file."),
            404: OpenApiResponse(description="Candidate or organization not yours."),
            413: OpenApiResponse(
                description="File over the size limit, or over a parsing limit (inflated size, paragraphs, "
                "pages, CPU time, memory): the reason names it."
            ),
            415: OpenApiResponse(description="Unsupported file type."),
        },
    )
    def post(self, request):
        limit = settings.RESUME_UPLOAD_MAX_BYTES
        check_content_length(request, limit)
        uploaded_file(request, limit)  # size before anything else
        form = ResumeUploadInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        fields = form.validated_data
        upload = fields["file"]
        try:
            uploaded = ingest_services.resume_upload(
                user=request.user,
                content=upload.read(),
                filename=upload.name or "",
                content_type=upload.content_type or "",
                candidate_id=fields.get("candidate"),
                organization_ref=fields.get("organization"),
                full_name=fields.get("full_name", ""),
                email=fields.get("email", ""),
                location=fields.get("location", ""),
                candidate_external_id=fields.get("candidate_external_id", ""),
                external_id=fields.get("external_id", ""),
            )
        except UnsupportedFileType as exc:
            raise UnsupportedFile({"file": [str(exc)]}) from exc
        except LimitExceeded as exc:
            raise PayloadTooLarge({"file": [str(exc)]}) from exc
        except ParseError as exc:
            raise serializers.ValidationError({"file": [str(exc)]}) from exc
        context = {
            "request": request,
            "parsed": uploaded.parsed,
            "candidate_created": uploaded.candidate_created,
        }
        return Response(
            ResumeUploadOutputSerializer(uploaded.resume, context=context).data,
            status=status.HTTP_201_CREATED,
        )
