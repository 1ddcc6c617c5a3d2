"""Training-run and model-version endpoints: permissions, progress, activation errors, rollback."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile

from matching.models import ModelVersion, TrainingRun
from matching.training import activation, artifacts, lock, progress, runs
from ml.network import TrainProgress

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(make_org):
    return make_org()


@pytest.fixture
def admin(org, make_recruiter, client_for):
    return client_for(make_recruiter(org, role="admin"))


@pytest.fixture
def recruiter(org, make_recruiter, client_for):
    return client_for(make_recruiter(org))


@pytest.fixture
def staff(make_user, client_for):
    return client_for(make_user(is_staff=True))


@pytest.fixture
def job_seeker(make_user, client_for):
    return client_for(make_user())


def _version(n: int, payload: bytes, status: str = "candidate") -> ModelVersion:
    name = artifacts.model_storage().save(f"models/v{n:05d}-api.tandem", ContentFile(payload))
    return ModelVersion.objects.create(
        version=n,
        status=status,
        artifact_name=name,
        artifact_sha256=hashlib.sha256(payload).hexdigest(),
        metrics={"ndcg_at_10": 0.5},
    )


def test_only_staff_start_training(admin, recruiter, staff, job_seeker, client, tiny_training):
    """The model serves every organization: an organization admin may not train or promote it."""
    assert client.post("/api/training-runs/").status_code in (401, 403)
    assert recruiter.post("/api/training-runs/").status_code == 403
    assert job_seeker.post("/api/training-runs/").status_code == 403
    assert admin.post("/api/training-runs/").status_code == 403
    assert TrainingRun.objects.count() == 0
    created = staff.post("/api/training-runs/")
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "queued" and body["trigger"] == "api" and body["config"]["epochs"] == 2
    # while it runs, a second start returns the same run
    again = staff.post("/api/training-runs/")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert TrainingRun.objects.count() == 1


def test_progress_is_visible_to_staff_only(admin, recruiter, staff, job_seeker, tiny_training):
    run, _ = runs.start_training_run(enqueue=False)
    run = runs._begin_attempt(run.pk, lock.TrainingLock())
    writer = progress.ProgressWriter(run.pk, run.attempt, lock.TrainingLock())
    writer(TrainProgress("train", 1, 5, {"text_bce": 0.61, "relation_bce": 0.66}, 0.87, None))
    assert recruiter.get(f"/api/training-runs/{run.pk}/").status_code == 403
    body = staff.get(f"/api/training-runs/{run.pk}/").json()
    assert (body["status"], body["stage"], body["epoch"], body["epochs"]) == ("running", "train", 1, 5)
    assert body["losses"] == {"text_bce": 0.61, "relation_bce": 0.66} and body["kept_fraction"] == 0.87
    assert body["model_version"]["status"] == "training" and body["attempt"] == 1
    assert len(body["history"]) == 1
    writer.stage("evaluate")
    body = staff.get(f"/api/training-runs/{run.pk}/").json()
    assert body["stage"] == "evaluate" and body["losses"]["text_bce"] == 0.61  # last losses stay visible
    assert staff.get("/api/training-runs/").json()["count"] == 1
    assert admin.get("/api/training-runs/").status_code == 403
    assert job_seeker.get(f"/api/training-runs/{run.pk}/").status_code == 403


def test_versions_list_and_detail_staff_only(admin, recruiter, staff, job_seeker, model_storage):
    _version(1, b"one", status="active")
    _version(2, b"two")
    for member in (admin, recruiter, job_seeker):
        assert member.get("/api/model-versions/").status_code == 403
    listed = staff.get("/api/model-versions/").json()
    assert [v["version"] for v in listed["results"]] == [2, 1]
    v1 = listed["results"][1]
    assert admin.get(f"/api/model-versions/{v1['id']}/").status_code == 403
    detail = staff.get(f"/api/model-versions/{v1['id']}/").json()
    assert (
        detail["status"] == "active" and detail["metrics"]["ndcg_at_10"] == 0.5 and detail["artifact_sha256"]
    )
    assert staff.get("/api/model-versions/?status=candidate").json()["count"] == 1


def test_activate_is_staff_only_and_refuses_a_corrupt_artifact(admin, staff, model_storage):
    v1 = _version(1, b"one", status="active")
    v2 = _version(2, b"two")
    assert admin.post(f"/api/model-versions/{v2.pk}/activate/").status_code == 403
    with model_storage.open(v2.artifact_name, "wb") as f:
        f.write(b"tw0")
    response = staff.post(f"/api/model-versions/{v2.pk}/activate/")
    assert response.status_code == 409
    assert response.json()["code"] == "artifact_corrupt" and "corrupt" in response.json()["detail"]
    model_storage.delete(v2.artifact_name)
    response = staff.post(f"/api/model-versions/{v2.pk}/activate/")
    assert response.status_code == 409 and response.json()["code"] == "artifact_missing"
    assert ModelVersion.objects.get(status="active").pk == v1.pk
    v3 = _version(3, b"three")
    response = staff.post(f"/api/model-versions/{v3.pk}/activate/")
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert response.json()["replaced_version"] == 1
    assert staff.post("/api/model-versions/999999/activate/").status_code == 404


def test_rollback(admin, staff, model_storage):
    assert staff.post("/api/model-versions/rollback/").status_code == 409  # nothing active
    v1, v2 = _version(1, b"one"), _version(2, b"two")
    activation.activate(v1.pk)
    activation.activate(v2.pk)
    assert admin.post("/api/model-versions/rollback/").status_code == 403
    response = staff.post("/api/model-versions/rollback/")
    assert response.status_code == 200 and response.json()["version"] == 1
    assert staff.post("/api/model-versions/rollback/").json()["code"] == "nothing_to_roll_back"
    response = staff.post("/api/model-versions/rollback/", {"to_version": 2}, format="json")
    assert response.status_code == 200 and response.json()["version"] == 2
    assert staff.post("/api/model-versions/rollback/", {"to_version": 77}, format="json").status_code == 400
