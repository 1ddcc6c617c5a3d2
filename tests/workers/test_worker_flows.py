"""End to end through a REAL Celery worker process on real Redis and the pytest PostgreSQL database."""

from __future__ import annotations

import hashlib

import pytest
from django.db.models import Count

from matching.models import DocumentVector, ModelVersion, TrainingRun
from matching.training import activation, artifacts, runs
from recruiting import services
from recruiting.models import Job, Resume
from tests.matching.synthetic_platform import load_synthetic_platform
from tests.workers.conftest import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_client(make_user, client_for):
    """Staff: only staff train and read the shared model's runs and versions."""
    return client_for(make_user(is_staff=True))


def _run(client, run_id: int) -> dict:
    response = client.get(f"/api/training-runs/{run_id}/")
    assert response.status_code == 200
    return response.json()


def test_training_run_through_the_api_completes_on_a_worker(celery_worker, admin_client):
    load_synthetic_platform(seed=3)
    response = admin_client.post("/api/training-runs/")
    assert response.status_code == 201, response.content
    run_id = response.json()["id"]
    # a second POST while it runs returns the same run
    again = admin_client.post("/api/training-runs/")
    assert again.status_code in (200, 201)
    if again.status_code == 200:
        assert again.json()["id"] == run_id

    seen_stages: set[str] = set()

    def finished():
        body = _run(admin_client, run_id)
        seen_stages.add(body["stage"])
        return body if body["status"] in ("succeeded", "failed") else None

    body = wait_for(finished, timeout=150, message="the training run to finish", worker=celery_worker)
    assert body["status"] == "succeeded", body["error"]
    assert body["epoch"] == body["epochs"] == 2 and body["attempt"] == 1
    assert body["losses"] and body["kept_fraction"] is not None and len(body["history"]) == 2
    version = body["model_version"]
    assert version["status"] == "active"  # first model, FIRST_MODEL_POLICY=always in the test workers
    detail = admin_client.get(f"/api/model-versions/{version['id']}/").json()
    for key in ("ndcg_at_10", "mrr", "recall_at_50", "auc"):
        assert detail["metrics"][key] is not None
    assert detail["metrics"]["promotion"]["promoted"] is True
    assert detail["data_window"]["holdout_start"] and detail["artifact_sha256"]
    listed = admin_client.get("/api/model-versions/").json()
    assert [v["status"] for v in listed["results"]] == ["active"]


def test_killed_worker_leaves_previous_version_serving_and_the_retry_completes(
    start_worker, admin_client, settings
):
    load_synthetic_platform(seed=4)
    # v1: trained here, active
    first, _ = runs.start_training_run(enqueue=False)
    v1 = ModelVersion.objects.get(pk=runs.train_run(first.pk))
    activation.activate(v1.pk)
    runs.finish_run(first.pk)

    slow = start_worker(env={"TANDEM_TRAIN_EPOCHS": "400"})
    response = admin_client.post("/api/training-runs/")
    assert response.status_code == 201
    run_id = response.json()["id"]
    wait_for(
        lambda: (b := _run(admin_client, run_id))["stage"] == "train" and b["epoch"] >= 1,
        timeout=120,
        message="training to be under way",
        worker=slow,
    )
    slow.kill()

    run = TrainingRun.objects.get(pk=run_id)
    v2 = run.model_version
    assert run.status == "running" and v2.status == "training" and run.attempt == 1
    v1.refresh_from_db()
    assert v1.status == "active"
    storage = artifacts.model_storage()
    assert storage.listdir("models")[1] == [v1.artifact_name.split("/")[-1]]  # no partial artifact
    assert not v2.artifact_name and not v2.artifact_sha256

    # A new worker: the unacknowledged task is handed out again after the visibility timeout (5 s).
    fresh = start_worker()
    body = wait_for(
        lambda: (b := _run(admin_client, run_id))["status"] in ("succeeded", "failed") and b,
        timeout=150,
        message="the redelivered run to finish",
        worker=fresh,
    )
    assert body["status"] == "succeeded", body["error"]
    assert body["attempt"] == 2 and body["model_version"]["id"] == v2.pk  # same version, no duplicate
    assert ModelVersion.objects.count() == 2
    v2.refresh_from_db()
    assert v2.status in ("active", "candidate") and v2.metrics["promotion"]["baseline_kind"] == "active"
    with storage.open(v2.artifact_name, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == v2.artifact_sha256
    assert ModelVersion.objects.filter(status="active").count() == 1
    assert storage.listdir("tmp")[1] == []


def test_saved_resume_is_embedded_by_the_worker(celery_worker, make_org):
    org = make_org()
    candidate = services.candidate_create(organization=org, data={"full_name": "Ada"})
    resume = services.resume_create(
        candidate=candidate, data={"headline": "Python developer", "skills": ["python", "django"]}
    )
    vector = wait_for(
        lambda: DocumentVector.objects.filter(resume_id=resume.pk).first(),
        timeout=60,
        message="the resume's vector",
        worker=celery_worker,
    )
    assert vector.space.startswith("encoder:hashing-bow") and vector.content_hash == resume.content_hash
    services.resume_update(resume=resume, data={"skills": ["python", "django", "celery"]})
    resume.refresh_from_db()
    wait_for(
        lambda: DocumentVector.objects.filter(resume_id=resume.pk, content_hash=resume.content_hash).exists(),
        timeout=60,
        message="the re-embedded vector",
        worker=celery_worker,
    )
    assert DocumentVector.objects.filter(resume_id=resume.pk).count() == 1


def test_worker_killed_while_writing_the_model_space_resumes_without_duplicates(start_worker, admin_client):
    """The space is written after training, before promotion; a kill there leaves the version unserved
    and the redelivered task finishes the space without writing any document twice."""
    load_synthetic_platform(seed=5, n_resumes=300)
    slow = start_worker(env={"MODEL_SPACE_BATCH": "1"})
    run_id = admin_client.post("/api/training-runs/").json()["id"]
    wait_for(
        lambda: (
            (b := _run(admin_client, run_id))["stage"] == "space"
            and b["progress"].get("space", {}).get("job", {}).get("done", 0) >= 1
        ),
        timeout=150,
        message="the model space to be under way",
        worker=slow,
    )
    slow.kill()
    version = TrainingRun.objects.get(pk=run_id).model_version
    space = f"model:{version.version}"
    partial = DocumentVector.objects.filter(space=space).count()
    assert version.status == "candidate" and not version.space_ready
    assert 0 < partial < Job.objects.count() + Resume.objects.count()

    fresh = start_worker()
    body = wait_for(
        lambda: (b := _run(admin_client, run_id))["status"] in ("succeeded", "failed") and b,
        timeout=150,
        message="the redelivered promotion to finish",
        worker=fresh,
    )
    assert body["status"] == "succeeded", body["error"]
    version.refresh_from_db()
    assert version.status == "active" and version.space_ready
    for kind, model in (("job", Job), ("resume", Resume)):
        fk = f"{kind}_id"
        per_doc = DocumentVector.objects.filter(space=space, kind=kind).values(fk).annotate(n=Count("id"))
        assert len(per_doc) == model.objects.count() and {row["n"] for row in per_doc} == {1}
