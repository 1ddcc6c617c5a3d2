"""Encoder upgrade as a platform training option, end to end through the API in eager mode: a staff member asks
for a run that fine-tunes MiniLM first (a budget of a few steps), the new version is stored with its encoder,
activated at once against the previous version's vectors (the backfill queued, not awaited), serves its queries
with its own encoder (unpacked from the artifact in a fresh process), and a rollback serves the previous encoder.
The deployment's encoder here is the real MiniLM (the hashing encoder has no weights to fine-tune)."""

from __future__ import annotations

import os
import shutil

import pytest

from matching import cache, embedding, encoders, selectors
from matching import index as mindex
from matching.compat import backfill
from matching.models import DocumentVector, ModelVersion, SectionVectors, TrainingRun
from matching.training import artifacts, runs
from ml import embedding as ml_embedding
from recruiting.models import Job, Membership, Resume
from tests.matching.synthetic_platform import load_synthetic_platform

pytestmark = pytest.mark.django_db

FT_PREFIX = "all-MiniLM-L6-v2-ft:"


@pytest.fixture
def minilm_platform(tiny_training, settings, tmp_path, make_user, client_for, monkeypatch, celery_eager):
    monkeypatch.setattr(encoders, "_encoder", ml_embedding.get_encoder())
    settings.FIRST_MODEL_POLICY = "always"
    settings.PROMOTION_MARGIN = -1.0  # every candidate is promoted: these tests are about serving it
    settings.MATCH_CACHE_ENABLED = False
    settings.COMPAT_BACKFILL_BATCH = 16
    settings.ENCODER_CACHE_DIR = str(tmp_path / "encoders")
    # seconds of CPU: 3 steps of 8 pairs, 32 tokens
    settings.ENCODER_FINETUNE = {"max_pairs": 24, "epochs": 1, "batch_size": 8, "max_seq_length": 32}
    mindex.loaded_indexes.clear()
    world = load_synthetic_platform(seed=3, n_jobs=24, n_resumes=40, n_interactions=240)
    staff = make_user(is_staff=True)
    Membership.objects.create(user=staff, organization=world["org"], role="recruiter")
    embedding.backfill()
    queued: list[int] = []
    from workers.tasks.backfill import backfill_space

    monkeypatch.setattr(backfill_space, "delay", queued.append)  # a backfill worker would take it
    yield {**world, "client": client_for(staff), "queued": queued}
    mindex.loaded_indexes.clear()
    cache.client.reset()


def _train_through_api(client, capture, **body) -> ModelVersion:
    with capture(execute=True):
        response = client.post("/api/training-runs/", body, format="json")
    assert response.status_code == 201, response.content
    run = TrainingRun.objects.get(pk=response.json()["id"])
    assert run.status == "succeeded", run.error
    return run.model_version


def _jobs(client, resume: Resume) -> dict:
    response = client.get(f"/api/resumes/{resume.pk}/jobs/", {"k": 10})
    assert response.status_code == 200, response.content
    return response.json()


def test_an_encoder_upgrade_serves_at_once_and_rolls_back(
    minilm_platform, django_capture_on_commit_callbacks, settings
):
    client, capture = minilm_platform["client"], django_capture_on_commit_callbacks
    base = encoders.current_encoder().version
    v1 = _train_through_api(client, capture)
    assert v1.status == "active" and v1.space_ready and v1.encoder_version == base
    assert v1.encoder_artifact_name == ""
    resume = Resume.objects.order_by("pk")[2]
    before = _jobs(client, resume)
    assert before["model"] == f"v{v1.version}"

    v2 = _train_through_api(client, capture, finetune_encoder=True)
    # trained on a fine-tuned encoder, stored beside the model, and active at once: nothing re-embedded yet
    assert v2.encoder_version.startswith(FT_PREFIX) and v2.encoder_version != base
    assert artifacts.model_storage().exists(v2.encoder_artifact_name)
    record = v2.metrics["encoder"]
    assert record["steps"] == 3 and record["base"] == base and record["version"] == v2.encoder_version
    assert v2.status == "active" and not v2.space_ready and minilm_platform["queued"] == [v2.pk]
    assert not DocumentVector.objects.filter(space=f"model:{v2.version}").exists()
    run = v2.training_runs.get()
    assert run.config["finetune_encoder"] is True and "encoder" in v2.metrics["timings"]

    detail = client.get(f"/api/model-versions/{v2.pk}/").json()
    assert detail["encoder_version"] == v2.encoder_version
    assert detail["serves_against"] == {"version": v1.version, "projection": settings.COMPAT_DRIFT_METHOD}
    assert detail["vector_encoders"] == {f"v{v1.version}": base}

    _served_by_a_fresh_process(client, resume, v1, v2)

    # half re-embedded by the fine-tuned encoder, then rolled back: the previous version and encoder serve
    backfill.run_backfill(v2.pk, max_batches=1)
    assert DocumentVector.objects.filter(space=f"model:{v2.version}").count() == 16
    with capture(execute=True):
        response = client.post("/api/model-versions/rollback/", {}, format="json")
    assert response.status_code == 200, response.content
    after = _jobs(client, resume)
    assert after["model"] == f"v{v1.version}" and after["retrieval"]["space"] == f"model:{v1.version}"
    assert [r["job"] for r in after["results"]] == [r["job"] for r in before["results"]]
    v1_model = selectors.load_model_cached(ModelVersion.objects.get(pk=v1.pk))
    assert v1_model.cache.encoder.version == base
    assert backfill.run_backfill(v2.pk)["state"] == "paused"

    # activated again: the backfill re-embeds everything with the fine-tuned encoder, the old vectors go
    with capture(execute=True):
        assert client.post(f"/api/model-versions/{v2.pk}/activate/").status_code == 200
    assert backfill.run_backfill(v2.pk)["state"] == "done"
    detail = client.get(f"/api/model-versions/{v2.pk}/").json()
    n = {"job": Job.objects.count(), "resume": Resume.objects.count()}
    assert detail["vectors"] == {f"v{v2.version}": n}
    assert detail["vector_encoders"] == {f"v{v2.version}": v2.encoder_version}
    # its section vectors are stored too, so serving reranks without running the fine-tuned encoder
    assert SectionVectors.objects.filter(encoder_version=v2.encoder_version).count() == sum(n.values())
    assert _jobs(client, resume)["retrieval"]["space"] == f"model:{v2.version}"


def _served_by_a_fresh_process(client, resume: Resume, v1: ModelVersion, v2: ModelVersion) -> None:
    """No encoder in memory, none unpacked: v2's encoder comes from its verified artifact."""
    selectors.clear_model_cache()
    ml_embedding._registered.pop(v2.encoder_version, None)
    shutil.rmtree(artifacts.encoder_dir(v2.encoder_version))
    served = _jobs(client, resume)
    assert served["model"] == f"v{v2.version}"
    assert served["retrieval"]["space"] == f"model:{v2.version}+model:{v1.version}"
    assert len(served["results"]) == 10
    assert os.path.isfile(os.path.join(artifacts.encoder_dir(v2.encoder_version), "model.safetensors"))
    model = selectors.load_model_cached(ModelVersion.objects.get(pk=v2.pk))
    assert model.encoder_version == v2.encoder_version and model.cache.encoder.version == v2.encoder_version


def test_a_failed_upgrade_leaves_the_active_version_and_no_encoder_recorded(
    minilm_platform, django_capture_on_commit_callbacks, settings
):
    client, capture = minilm_platform["client"], django_capture_on_commit_callbacks
    v1 = _train_through_api(client, capture)

    def killed(*args, **kwargs):  # dies after the encoder was fine-tuned and stored, while the network trains
        raise SystemExit("worker killed")

    run, created = runs.start_training_run(enqueue=False, finetune_encoder=True)
    assert created and run.config["finetune_encoder"] is True
    with pytest.raises(SystemExit):
        runs.train_run(run.pk, train_fn=killed)
    runs.fail_run(run.pk, "worker killed")
    failed = TrainingRun.objects.get(pk=run.pk).model_version
    assert failed.status == "failed" and failed.encoder_artifact_name == "" and failed.encoder_version == ""
    assert ModelVersion.objects.get(status="active").pk == v1.pk
    root = os.path.join(settings.ENCODER_CACHE_DIR, artifacts.FINETUNED_DIR)
    assert not [name for name in os.listdir(root) if name.startswith(".tmp-")]


def test_bad_or_impossible_requests_are_refused_naming_the_field(tiny_training, make_user, client_for):
    client = client_for(make_user(is_staff=True))
    response = client.post("/api/training-runs/", {"finetune_encoder": "perhaps"}, format="json")
    assert response.status_code == 400 and "finetune_encoder" in response.json()
    # the deployment's encoder here is the hashing one: nothing to fine-tune, nothing started
    response = client.post("/api/training-runs/", {"finetune_encoder": True}, format="json")
    assert response.status_code == 400
    assert "cannot be fine-tuned" in response.json()["finetune_encoder"][0]
    assert not TrainingRun.objects.exists()
