"""Bulk imports on a REAL Celery worker: queued by the API, run by the worker, and resumed without duplicates after
the worker is killed (SIGKILL) mid-import."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from recruiting.models import ImportJob, Job
from tests.workers.conftest import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROWS = 4000
WORKER_ENV = {"IMPORT_STALE_SECONDS": "3"}  # a dead run's job is taken over 3 s after its last batch


def _csv(n: int) -> bytes:
    lines = ["external_id,title,location,seniority"]
    lines += [f"w-{i},Engineer {i},Berlin,mid" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def test_import_killed_mid_way_resumes_on_another_worker_without_duplicates(
    start_worker, make_org, make_recruiter, client_for, settings
):
    env = {**WORKER_ENV, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}  # where the API stored the upload
    org = make_org()
    client = client_for(make_recruiter(org))
    first = start_worker(env=env, queues=("imports",))
    upload = SimpleUploadedFile("jobs.csv", _csv(ROWS), content_type="text/csv")
    response = client.post(
        "/api/imports/",
        {"organization": org.slug, "kind": "jobs", "file": upload, "batch_size": "25"},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    job_id, status_url = response.json()["id"], response.json()["status_url"]

    def started() -> bool:
        return ImportJob.objects.get(pk=job_id).lines_done > 0

    wait_for(started, timeout=120, interval=0.1, message="the first committed batch", worker=first)
    first.kill()
    at_kill = client.get(status_url).json()
    assert at_kill["stage"] == "importing" and 0 < at_kill["processed"] < ROWS, at_kill
    assert Job.objects.filter(organization=org).count() == at_kill["created"]  # counts commit with the rows

    second = start_worker(env=env, queues=("imports",))
    done = wait_for(
        lambda: (body := client.get(status_url).json())["finished"] and body,
        timeout=300,
        message="the resumed import",
        worker=second,
    )
    assert (done["stage"], done["processed"], done["created"], done["failed"]) == ("finished", ROWS, ROWS, 0)
    assert done["attempt"] >= 2
    ids = list(Job.objects.filter(organization=org).values_list("external_id", flat=True))
    assert len(ids) == len(set(ids)) == ROWS  # nothing lost, nothing duplicated
