"""Upload a resume file and bulk-import a file: the same calls as `POST /api/resumes/upload/` and
`POST /api/imports/` (`recruiting.ingest_services`, `recruiting.import_jobs`); an import's stage, counts and
report are shown as the worker runs it."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from dashboard.forms import ImportForm, ResumeUploadForm
from dashboard.views.common import recruiter_required
from recruiting import import_jobs, importing, ingest_services
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
    """Queue the import (`POST /api/imports/`'s service); the page then follows the job's stage and counts."""
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    context = {"form": form, "job": None}
    if request.method != "POST":
        return render(request, "dashboard/import.html", context)
    if form.is_valid() and not _size_error(form, settings.IMPORT_UPLOAD_MAX_BYTES):
        data = form.cleaned_data
        try:
            job = import_jobs.create_import_job(
                user=request.user,
                organization=data["organization"],
                kind=data["kind"],
                upload=data["file"],
                partial_batches=data["partial_batches"],
            )
        except importing.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            if not request.htmx:
                return redirect("dashboard:import-job", import_pk=job.pk)
            job.refresh_from_db()  # eager Celery (make demo): already run
            context["job"] = job
    status = 202 if context["job"] else 400
    return _render(
        request, "dashboard/import.html", context, partial="dashboard/_import_result.html", status=status
    )


@recruiter_required
def import_job(request: HttpRequest, import_pk: int) -> HttpResponse:
    """One import of the user's organizations: stage and counts while it runs (the block polls itself), then
    the report. Another organization's import is a 404."""
    job = get_object_or_404(import_jobs.import_jobs_visible_to(request.user), pk=import_pk)
    template = "dashboard/_import_job.html" if request.htmx else "dashboard/import_job.html"
    return render(request, template, {"job": job})
