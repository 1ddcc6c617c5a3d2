"""Bulk imports off the request path: 202 with a status URL, the worker's run, tenancy, malformed and huge
files, and a run killed mid-way that resumes without duplicates."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from recruiting import import_jobs
from recruiting.importing import appliers
from recruiting.models import ImportJob, Job, Membership
from workers.tasks.imports import resend_stale_imports, run_import

pytestmark = pytest.mark.django_db


def _jobs_csv(n: int, bad_lines: tuple[int, ...] = ()) -> str:
    rows = ["external_id,title,location,seniority"]
    for i in range(n):
        line = i + 2  # the header is line 1
        rows.append(f"ext-{i},,Berlin,mid" if line in bad_lines else f"ext-{i},Engineer {i},Berlin,mid")
    return "\n".join(rows) + "\n"


def _post(client, org, text, name="jobs.csv", kind="jobs", **fields):
    upload = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post(
        "/api/imports/",
        {"organization": org.slug, "kind": kind, "file": upload, **fields},
        format="multipart",
    )


@pytest.fixture
def org(make_org):
    return make_org()


@pytest.fixture
def recruiter(org, make_recruiter, client_for):
    return client_for(make_recruiter(org))


def test_post_answers_202_and_the_worker_run_shows_in_the_status_url(
    org, recruiter, django_capture_on_commit_callbacks
):
    text = _jobs_csv(7, bad_lines=(4,))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = _post(recruiter, org, text, partial_batches="true", batch_size=3)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["stage"] == "queued" and not body["finished"] and body["processed"] == 0
    assert response["Location"] == body["status_url"] == f"/api/imports/{body['id']}/"
    assert len(queued) == 1 and not Job.objects.exists()  # nothing imported inside the request
    job = ImportJob.objects.get(pk=body["id"])
    stored = job.file.path
    assert open(stored).read() == text

    result = run_import.apply(args=[body["id"]]).get()  # what the worker runs (eager)
    assert result["status"] == "succeeded"
    status = recruiter.get(body["status_url"]).json()
    assert (status["stage"], status["finished"], status["processed"]) == ("finished", True, 7)
    assert (status["created"], status["failed"], status["report"]["batches"]) == (6, 1, 3)
    assert status["report"]["rejected"] == [
        {"line": 4, "field": "title", "reason": status["report"]["rejected"][0]["reason"]}
    ]
    assert Job.objects.filter(organization=org).count() == 6
    job.refresh_from_db()
    assert not job.file and not __import__("os").path.exists(stored)  # the upload (personal data) is gone
    listed = recruiter.get("/api/imports/").json()["results"]
    assert [j["id"] for j in listed] == [body["id"]]


def test_another_organizations_member_gets_404(org, recruiter, make_org, make_recruiter, client_for):
    with_job = _post(recruiter, org, _jobs_csv(2)).json()
    other = client_for(make_recruiter(make_org(), role=Membership.Role.ADMIN))
    assert other.get(with_job["status_url"]).status_code == 404
    assert other.get("/api/imports/").json()["results"] == []
    assert _post(other, org, _jobs_csv(2)).status_code == 404
    assert ImportJob.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("jobs.csv", "external_id,colour\nx,red\n", "Unknown CSV columns"),
        ("jobs.csv", "external_id,location\nx,Berlin\n", "Missing CSV columns for jobs: title"),
        ("jobs.jsonl", "[1, 2]\n", "not a JSON object"),
        ("jobs.jsonl", "[" * 100000 + "\n", "nested too deeply"),
        ("jobs.csv", "\x00\x01binary", "binary"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_400_naming_file_before_anything_is_stored(
    org, recruiter, name, text, reason
):
    response = _post(recruiter, org, text, name=name)
    assert response.status_code == 400, response.content
    assert reason in " ".join(response.json()["file"])
    assert not ImportJob.objects.exists()


def test_a_huge_file_is_a_413_and_nothing_is_stored(org, recruiter, settings):
    settings.IMPORT_UPLOAD_MAX_BYTES = 1000
    response = _post(recruiter, org, _jobs_csv(100))
    assert response.status_code == 413 and "file" in response.json()
    assert not ImportJob.objects.exists()


def test_malformed_rows_are_reported_and_never_stop_the_run(org, recruiter):
    rows = [
        json.dumps({"external_id": "a", "title": "Analyst"}),
        "[" * 50000,  # nesting that would overflow the parser's stack
        "{not json",
        b"\xff\xfe".decode("latin-1"),
        json.dumps({"external_id": "b", "title": "T" * 400}),
        json.dumps({"external_id": "c", "title": "Lead", "colour": "red"}),
        json.dumps({"external_id": "d", "title": "Nurse"}),
    ]
    body = _post(recruiter, org, "\n".join(rows) + "\n", name="jobs.jsonl", partial_batches="true").json()
    run_import.apply(args=[body["id"]]).get()
    status = recruiter.get(body["status_url"]).json()
    assert status["stage"] == "finished" and (status["created"], status["failed"]) == (2, 5)
    assert {r["line"] for r in status["report"]["rejected"]} == {2, 3, 4, 5, 6}
    assert {r["field"] for r in status["report"]["rejected"] if r["line"] == 5} == {"title"}
    assert set(Job.objects.values_list("external_id", flat=True)) == {"a", "d"}


class _Killed(BaseException):
    """What SIGKILL does to a run from the database's point of view: the open transaction never commits."""


def test_a_run_killed_mid_batch_resumes_after_its_checkpoint_without_duplicates(
    org, recruiter, monkeypatch, settings
):
    body = _post(recruiter, org, _jobs_csv(10), batch_size=3).json()
    original = appliers.RowApplier.apply
    seen = {"rows": 0}

    def dies_on_the_eighth_row(self, record):
        seen["rows"] += 1
        if seen["rows"] == 8:
            raise _Killed
        return original(self, record)

    monkeypatch.setattr(appliers.RowApplier, "apply", dies_on_the_eighth_row)
    with pytest.raises(_Killed):
        import_jobs.run_import_job(body["id"])
    job = ImportJob.objects.get(pk=body["id"])
    # two batches (lines 2-7) committed with their checkpoint; the third (lines 8-10, its 8th row) rolled back
    assert (job.status, job.lines_done, job.report["created"]) == ("running", 7, 6)
    assert Job.objects.count() == 6
    assert recruiter.get(body["status_url"]).json()["processed"] == 6

    monkeypatch.setattr(appliers.RowApplier, "apply", original)
    assert import_jobs.run_import_job(job.pk).status == "busy"  # a fresh heartbeat: another run may hold it
    settings.IMPORT_STALE_SECONDS = 60
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    assert import_jobs.stale_import_ids() == [job.pk]  # what the beat re-sends
    assert import_jobs.run_import_job(job.pk).status == "succeeded"
    job.refresh_from_db()
    assert (job.attempt, job.report["total"], job.report["created"], job.report["unchanged"]) == (
        2,
        10,
        10,
        0,
    )
    assert Job.objects.count() == 10
    assert sorted(Job.objects.values_list("external_id", flat=True)) == sorted(f"ext-{i}" for i in range(10))


def test_an_older_attempt_cannot_write_after_a_newer_one_took_over(org, recruiter, monkeypatch):
    body = _post(recruiter, org, _jobs_csv(4), batch_size=2).json()
    original = appliers.RowApplier.apply

    def taken_over_meanwhile(self, record):
        ImportJob.objects.filter(pk=body["id"]).update(attempt=5)  # a newer run claimed the job
        return original(self, record)

    monkeypatch.setattr(appliers.RowApplier, "apply", taken_over_meanwhile)
    assert import_jobs.run_import_job(body["id"]).status == "busy"
    assert not Job.objects.exists()  # the superseded run's batch rolled back


def test_broker_down_leaves_the_job_queued_for_the_beat(
    org, recruiter, settings, monkeypatch, refusing_broker
):
    sent: list[int] = []
    settings.IMPORT_RESEND_SECONDS = 0
    response = _post(recruiter, org, _jobs_csv(2))
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert import_jobs.queue_import(job_id) is False  # the refusing broker: not sent, no error
    assert import_jobs.stale_import_ids() == [job_id]
    monkeypatch.setattr(import_jobs, "queue_import", lambda pk: sent.append(pk) or True)
    assert resend_stale_imports.apply().get() == {"stale": 1, "sent": 1} and sent == [job_id]
