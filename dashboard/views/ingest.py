"""Upload a resume file and bulk-import a file: the same calls as `POST /api/resumes/upload/` and
`POST /api/imports/` (`recruiting.ingest_services`, `recruiting.importing`), the report shown on the page."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dashboard.forms import ImportForm, ResumeUploadForm
from dashboard.progress import ImportProgress, import_progress
from dashboard.views.common import recruiter_required
from recruiting import importing, ingest_services
from recruiting.parsing.formats import ParseError, UnsupportedFileType
from recruiting.parsing.limits import LimitExceeded


def _size_error(form, limit: int) -> bool:
    upload = form.cleaned_data["file"]
    if upload.size is not None and upload.size > limit:
        form.add_error(
            "file", f"The file is {upload.size / 2**20:.1f} MB; the limit is {limit / 2**20:.1f} MB."
        )
        return True
    return False


def _render(request, template: str, context: dict, *, partial: str, status: int = 200) -> HttpResponse:
    """The whole page, or only its result block for an htmx request."""
    return render(request, partial if request.htmx else template, context, status=status)


@recruiter_required
def resume_upload(request: HttpRequest) -> HttpResponse:
    form = ResumeUploadForm(request.POST or None, request.FILES or None, user=request.user)
    context = {"form": form, "uploaded": None}
    if request.method != "POST":
        return render(request, "dashboard/upload.html", context)
    if form.is_valid() and not _size_error(form, settings.RESUME_UPLOAD_MAX_BYTES):
        data, upload = form.cleaned_data, form.cleaned_data["file"]
        organization = data.get("organization")
        try:
            uploaded = ingest_services.resume_upload(
                user=request.user,
                content=upload.read(),
                filename=upload.name or "",
                content_type=upload.content_type or "",
                organization_ref=str(organization.pk) if organization else None,
                full_name=data.get("full_name", ""),
                email=data.get("email", ""),
                location=data.get("location", ""),
            )
        except LimitExceeded as exc:  # a parsing limit (inflated size, pages, CPU, memory): the API's 413
            form.add_error("file", str(exc))
            return _render(
                request, "dashboard/upload.html", context, partial="dashboard/_upload_result.html", status=413
            )
        except (UnsupportedFileType, ParseError) as exc:
            form.add_error("file", str(exc))
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, messages)
        else:
            if not request.htmx:
                return redirect("dashboard:candidate", candidate_pk=uploaded.resume.candidate_id)
            context["uploaded"] = uploaded
    status = 200 if context["uploaded"] else 400
    return _render(
        request, "dashboard/upload.html", context, partial="dashboard/_upload_result.html", status=status
    )


@recruiter_required
def bulk_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    context = {"form": form, "report": None, "progress_token": uuid.uuid4().hex}
    if request.method != "POST":
        return render(request, "dashboard/import.html", context)
    if form.is_valid() and not _size_error(form, settings.IMPORT_UPLOAD_MAX_BYTES):
        data, upload = form.cleaned_data, form.cleaned_data["file"]
        progress = ImportProgress(request.user.pk, request.POST.get("progress_token", ""), upload.size or 0)
        try:
            report = importing.import_file(
                organization=data["organization"],
                kind=data["kind"],
                file=upload,
                filename=upload.name or "",
                actor=request.user,
                partial_batches=data["partial_batches"],
                progress=progress,
            )
        except importing.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            context["report"] = report.to_dict()
        finally:
            progress.finish()
    status = 200 if context["report"] else 400
    return _render(
        request, "dashboard/import.html", context, partial="dashboard/_import_result.html", status=status
    )


@recruiter_required
def bulk_import_progress(request: HttpRequest, token: str) -> HttpResponse:
    """Rows imported so far by this user's import with `token` (the import page polls it)."""
    record = import_progress(user_id=request.user.pk, token=token)
    return render(request, "dashboard/_import_progress.html", {"progress": record})
