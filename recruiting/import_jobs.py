"""Bulk imports off the request path: the upload is checked cheaply and stored, an `ImportJob` row records it,
and a task on the "imports" queue runs it once the row commits (`POST /api/imports/` answers 202 at once).

- Resumable and idempotent: each committed batch records its counts and its last line (`lines_done`) in its
  own transaction (the `checkpoint`), so a worker killed mid-batch loses only that batch's uncommitted rows;
  the re-run (a redelivered message, or the beat's re-send) skips the lines already recorded. The rows' natural
  keys (external ids, content hashes) keep even a replayed batch from duplicating anything.
- One runner at a time: a run claims the job by raising its `attempt`; a checkpoint of an older attempt
  matches no row and rolls its batch back (`Superseded`). A job another run holds with a fresh heartbeat is
  left to it.
- Never lost: a job whose message could not be sent (broker down), or whose runner died without a redelivery,
  is re-sent by the beat (`resend_stale_imports`) after IMPORT_RESEND_SECONDS / IMPORT_STALE_SECONDS.
- The stored upload is deleted when the job ends (succeeded or failed): it may hold personal data.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from config.celery import publish
from recruiting import importing, selectors
from recruiting.importing.report import ImportReport
from recruiting.models import ImportJob, Organization

log = logging.getLogger(__name__)


class Superseded(Exception):
    """A newer run of the job took over: this run's batch rolls back and the run stops."""


@dataclass(frozen=True)
class RunOutcome:
    job_id: int
    status: str  # succeeded, failed, busy (another run holds it), done (nothing left to do)


def create_import_job(
    *,
    user: AbstractBaseUser,
    organization: Organization,
    kind: str,
    upload: UploadedFile,
    format: str | None = None,
    batch_size: int = importing.DEFAULT_BATCH_SIZE,
    partial_batches: bool = False,
) -> ImportJob:
    """Check the upload's start (ImportFileError / ValueError), store it and queue its import on commit."""
    name = PurePath(upload.name or "import").name[-200:] or "import"
    fmt = importing.check_file(upload, kind=kind, format=format, filename=name)
    suffix = PurePath(name).suffix.lower()[:8]
    with transaction.atomic():
        job = ImportJob(
            organization=organization,
            created_by=user,
            kind=kind,
            format=fmt,
            file_name=name,
            file_bytes=upload.size or 0,
            batch_size=batch_size,
            partial_batches=partial_batches,
            report=ImportReport(kind=kind, format=fmt).to_dict(),
        )
        upload.seek(0)
        job.file.save(f"import-{uuid.uuid4().hex}{suffix}", upload, save=False)
        job.save()
        transaction.on_commit(lambda job_id=job.pk: queue_import(job_id))
    return job


def queue_import(job_id: int) -> bool:
    """Send the job's task (False when the broker is down: the job stays queued and the beat re-sends it)."""
    from workers.tasks.imports import run_import  # the task module imports this one

    return publish(lambda: run_import.delay(job_id), what=f"import {job_id}")


def import_jobs_visible_to(user: AbstractBaseUser) -> QuerySet[ImportJob]:
    """The imports of the user's organizations (another organization's job is a 404)."""
    return ImportJob.objects.filter(organization__in=selectors.organizations_of(user)).select_related(
        "organization"
    )


def _stale_before():
    return timezone.now() - timedelta(seconds=settings.IMPORT_STALE_SECONDS)


def _claim(job_id: int) -> ImportJob | str:
    """This run's hold on the job (a new attempt), or why there is none: 'done', 'busy'."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.finished:
            return "done"
        if (
            job.status == ImportJob.Status.RUNNING
            and job.heartbeat_at
            and job.heartbeat_at >= _stale_before()
        ):
            return "busy"
        now = timezone.now()
        job.attempt += 1
        job.status = ImportJob.Status.RUNNING
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.save(update_fields=["attempt", "status", "started_at", "heartbeat_at"])
    return job


def _checkpoint(job: ImportJob):
    def record(report: ImportReport, last_line: int) -> None:
        held = ImportJob.objects.filter(pk=job.pk, attempt=job.attempt, status=ImportJob.Status.RUNNING)
        if not held.update(report=report.to_dict(), lines_done=last_line, heartbeat_at=timezone.now()):
            raise Superseded(f"import {job.pk}: attempt {job.attempt} was superseded")

    return record


def run_import_job(job_id: int) -> RunOutcome:
    """Run (or resume) one import job to its end. Transient errors propagate for the task to retry."""
    job = _claim(job_id)
    if isinstance(job, str):
        return RunOutcome(job_id, job)
    if not job.file:
        _finish(job, ImportJob.Status.FAILED, "The uploaded file is no longer stored.")
        return RunOutcome(job_id, ImportJob.Status.FAILED)
    try:
        with job.file.open("rb") as file:
            report = importing.import_file(
                organization=job.organization,
                kind=job.kind,
                file=file,
                format=job.format,
                filename=job.file_name,
                batch_size=job.batch_size,
                actor=job.created_by,
                partial_batches=job.partial_batches,
                report=ImportReport.from_dict(job.report),
                start_after_line=job.lines_done,
                checkpoint=_checkpoint(job),
            )
    except Superseded as exc:
        log.warning("%s", exc)
        return RunOutcome(job_id, "busy")
    except importing.ImportFileError as exc:
        _finish(job, ImportJob.Status.FAILED, f"file: {exc}")
        return RunOutcome(job_id, ImportJob.Status.FAILED)
    _finish(job, ImportJob.Status.SUCCEEDED, "", report)
    return RunOutcome(job_id, ImportJob.Status.SUCCEEDED)


def _finish(job: ImportJob, status: str, error: str, report: ImportReport | None = None) -> None:
    fields = {"status": status, "error": error[:2000], "finished_at": timezone.now(), "file": ""}
    if report is not None:
        fields["report"] = report.to_dict()
    held = ImportJob.objects.filter(pk=job.pk, attempt=job.attempt)
    if held.update(**fields) and job.file:
        job.file.storage.delete(job.file.name)


def fail_import(job_id: int, error: str) -> None:
    """Record a run's failure (the task gave up); the stored upload is deleted."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is not None and not job.finished:
        _finish(job, ImportJob.Status.FAILED, error)


def stale_import_ids(limit: int = 100) -> list[int]:
    """Jobs to re-send: queued longer than IMPORT_RESEND_SECONDS (their message may never have been sent), or
    running without a heartbeat for IMPORT_STALE_SECONDS (their runner died)."""
    queued_before = timezone.now() - timedelta(seconds=settings.IMPORT_RESEND_SECONDS)
    stale = Q(status=ImportJob.Status.QUEUED, created_at__lt=queued_before) | Q(
        status=ImportJob.Status.RUNNING, heartbeat_at__lt=_stale_before()
    )
    return list(ImportJob.objects.filter(stale).order_by("created_at").values_list("pk", flat=True)[:limit])
