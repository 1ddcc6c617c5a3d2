"""After DELETE /api/resumes/{id}/ and the compaction it queues, no stored model artifact (the active one and an
older one) holds the resume: no graph node, no frozen vector, no edge, no skill string only it had, no history
row; the old files are gone, and the active model still serves from its rewritten artifact."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import timezone

from matching import embedding, erasure
from matching import index as mindex
from matching.models import ModelVersion
from matching.training import promotion, runs
from matching.training.artifacts import model_storage, read_verified_artifact
from ml.artifacts import load_state_from_bytes
from recruiting.models import Candidate, Interaction, Membership, Resume
from tests.matching.synthetic_platform import load_synthetic_platform

pytestmark = pytest.mark.django_db

SKILL = "xylophonics"


def _train_and_promote() -> ModelVersion:
    run, _ = runs.start_training_run(enqueue=False)
    version_id = runs.train_run(run.pk)
    promotion.compare_with_active(version_id)
    assert promotion.promote_if_better(version_id).promoted
    runs.finish_run(run.pk)
    return ModelVersion.objects.get(pk=version_id)


def _state(version: ModelVersion) -> dict:
    version.refresh_from_db()
    return load_state_from_bytes(read_verified_artifact(version))


@pytest.fixture
def trained(tiny_training, settings, make_user, client_for, monkeypatch):
    settings.FIRST_MODEL_POLICY = "always"
    settings.PROMOTION_MARGIN = -1.0
    settings.MATCH_CACHE_ENABLED = False
    mindex.loaded_indexes.clear()
    world = load_synthetic_platform(seed=5, n_jobs=30, n_resumes=60, n_interactions=400)
    org = world["org"]
    candidate = Candidate.objects.create(organization=org, full_name="Zelda Quixotic")
    resume = Resume.objects.create(
        candidate=candidate,
        headline="Percussion engineer",
        skills=[SKILL, "python"],
        created_at=timezone.now() - timezone.timedelta(days=100),
    )
    jobs = list(world["jobs"].values())[:3]
    for job in jobs:
        Interaction.objects.create(
            job=job, resume=resume, kind="apply", created_at=timezone.now() - timezone.timedelta(days=2)
        )
    embedding.backfill()
    older, active = _train_and_promote(), _train_and_promote()
    admin = make_user()
    Membership.objects.create(user=admin, organization=org, role=Membership.Role.ADMIN)
    queued: list[str] = []
    monkeypatch.setattr(erasure, "request_compaction", queued.append)
    yield {"resume": resume, "versions": [older, active], "client": client_for(admin), "job": jobs[0]}
    mindex.loaded_indexes.clear()


def test_erasure_rewrites_every_artifact_without_the_resume(trained, django_capture_on_commit_callbacks):
    resume, versions, client = trained["resume"], trained["versions"], trained["client"]
    key = f"resume:{resume.pk}"
    before = {}
    for version in versions:
        state = _state(version)
        graph = state["graph"]
        assert key in graph["keys"] and f"skill:{SKILL}" in graph["keys"]
        assert str(resume.pk) in state["history"]["resume_ids"]
        row = graph["keys"].index(key)
        ends = graph["edges"].numpy()[:, :2]
        assert ((ends == row).any(axis=1)).sum() > 0
        raw = model_storage().open(version.artifact_name, "rb").read()
        assert SKILL.encode() in raw  # the check below can see the string
        before[version.pk] = (version.artifact_name, graph["x"].numpy()[row].copy(), len(graph["keys"]))

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/resumes/{resume.pk}/").status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        result = erasure.compact_after_erasure("resume")  # what the queued task does
    assert result["model_artifacts_rewritten"] == 2

    for version in versions:
        old_name, vector, n_keys = before[version.pk]
        state = _state(version)  # verified against the new sha256 on the version row
        graph = state["graph"]
        assert version.artifact_name != old_name and not model_storage().exists(old_name)
        assert key not in graph["keys"] and f"skill:{SKILL}" not in graph["keys"]
        assert str(resume.pk) not in state["history"]["resume_ids"]
        x = graph["x"].numpy()
        assert len(graph["keys"]) == x.shape[0] == len(graph["types"]) <= n_keys - 2
        assert not np.isclose(x, vector[None, :], atol=1e-6).all(axis=1).any()  # its frozen vector is gone
        edges = graph["edges"].numpy()
        assert edges.size and edges[:, :2].max() < len(graph["keys"])
        raw = model_storage().open(version.artifact_name, "rb").read()
        assert SKILL.encode() not in raw and key.encode() not in raw

    response = client.get(f"/api/jobs/{trained['job'].pk}/candidates/", {"k": 5})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["model_version"] == versions[1].version and body["results"]  # serves from the new artifact
    assert erasure.compact_after_erasure("resume")["model_artifacts_rewritten"] == 0  # nothing left to remove
