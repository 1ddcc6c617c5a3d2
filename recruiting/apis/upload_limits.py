"""Size checks for file uploads, made before the body is read: a 413 naming `file`."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request

# Multipart framing and the other form fields around the file.
MULTIPART_SLACK_BYTES = 64 * 1024


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is too large."
    default_code = "payload_too_large"


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _too_large(limit: int, size: int | None = None) -> PayloadTooLarge:
    got = f"The file is {_megabytes(size)}; " if size is not None else "The request is too large; "
    return PayloadTooLarge({"file": [f"{got}the limit is {_megabytes(limit)}."]})


def check_content_length(request: Request, limit: int) -> None:
    """413 before the body is read when Content-Length already says it is over the limit."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + MULTIPART_SLACK_BYTES:
        raise _too_large(limit)


def uploaded_file(request: Request, limit: int) -> UploadedFile:
    """The request's `file`: 400 when missing, 413 when over `limit`."""
    upload = request.FILES.get("file")
    if upload is None:
        raise serializers.ValidationError({"file": ["No file was submitted."]})
    if upload.size is not None and upload.size > limit:
        raise _too_large(limit, upload.size)
    return upload
