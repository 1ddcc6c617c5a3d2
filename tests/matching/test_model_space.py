"""The model's own retrieval space, served through the API: written after training, fresh after every
interaction, never served half-written, resumable after a kill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from matching import cache, documents, embedding, model_space, selectors
from matching import index as mindex
from matching.encoders import encoder_space
from matching.models import DocumentVector, ModelVersion
from matching.training import promotion, runs
from recruiting.models import Candidate, Interaction, Job, Membership, Resume
from tests.matching.synthetic_platform import load_synthetic_platform

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform(tiny_training, settings, make_user, client_for):
    """The synthetic platform, one candidate with NO profile text who applied to four jobs of one occupation,
    a recruiter of its organization, and the cache cleared (every answer computed)."""
    settings.FIRST_MODEL_POLICY = "always"
    settings.MATCH_CACHE_ENABLED = False
    settings.MODEL_SPACE_BATCH = 16
    mindex.loaded_indexes.clear()
    world = load_synthetic_platform(seed=2, n_jobs=30, n_resumes=80, n_interactions=500)
    syn, jobs = world["syn"], world["jobs"]
    occupation = int(np.bincount(syn.job_occ).argmax())
    same = [jobs[d.id] for d, o in zip(syn.data.jobs, syn.job_occ, strict=True) if o == occupation]
    candidate = Candidate.objects.create(organization=world["org"], full_name="No Profile")
    blank = Resume.objects.create(candidate=candidate)
    applied = datetime.now(UTC) - timedelta(days=20)
    Interaction.objects.bulk_create(
        [Interaction(job=j, resume=blank, kind="apply", created_at=applied) for j in same[:4]]
    )
    recruiter = make_user()
    Membership.objects.create(user=recruiter, organization=world["org"], role="recruiter")
    embedding.backfill()
    yield {
        **world,
        "blank": blank,
        "same": {j.pk for j in same},
        "applied": {j.pk for j in same[:4]},
        "client": client_for(recruiter),
    }
    mindex.loaded_indexes.clear()
    cache.client.reset()


def _train_and_promote() -> ModelVersion:
    run, _ = runs.start_training_run(enqueue=False)
    version_id = runs.train_run(run.pk)
    promotion.compare_with_active(version_id)
    decision = promotion.promote_if_better(version_id)
    runs.finish_run(run.pk)
    assert decision.promoted, decision.reason
    return ModelVersion.objects.get(pk=version_id)


def _jobs(client, resume: Resume, **params) -> dict:
    response = client.get(f"/api/resumes/{resume.pk}/jobs/", {"k": 100, **params})
    assert response.status_code == 200, response.content
    return response.json()


def test_promotion_writes_the_whole_space_and_serves_from_it(platform):
    version = _train_and_promote()
    assert version.status == "active" and version.space_ready
    space = f"model:{version.version}"
    for kind, model in (("job", Job), ("resume", Resume)):
        assert DocumentVector.objects.filter(space=space, kind=kind).count() == model.objects.count()
    body = _jobs(platform["client"], platform["blank"])
    assert body["model"] == f"v{version.version}" and body["retrieval"]["space"] == space
    run = version.training_runs.get()
    assert run.progress["space"]["resume"]["done"] == Resume.objects.count()


def test_candidate_without_profile_is_matched_by_their_interactions(platform):
    """Jobs of the occupation they applied to rank above the rest, though their resume has no text."""
    _train_and_promote()
    results = _jobs(platform["client"], platform["blank"], exclude="applied")["results"]
    ranked = [r["job"] for r in results]
    assert set(ranked).isdisjoint(platform["applied"])
    ranks = {job: i for i, job in enumerate(ranked)}
    same = [ranks[j] for j in platform["same"] - platform["applied"]]
    other = [r for j, r in ranks.items() if j not in platform["same"]]
    assert same and other
    assert np.mean(same) < np.mean(other) - 3, (sorted(same), len(other))


def test_a_new_interaction_changes_the_next_ranked_jobs(platform):
    _train_and_promote()
    client, blank = platform["client"], platform["blank"]
    before = {r["job"]: r["score"]["total"] for r in _jobs(client, blank)["results"]}
    target = next(j for j in Job.objects.order_by("pk") if j.pk not in platform["same"])
    response = client.post(
        "/api/interactions/", {"job": target.pk, "resume": blank.pk, "kind": "shortlist"}, format="json"
    )
    assert response.status_code == 201, response.content
    after = {r["job"]: r["score"]["total"] for r in _jobs(client, blank)["results"]}
    assert after != before
    assert after[target.pk] > before[target.pk]


def test_with_k_over_the_whole_catalogue_the_served_ranking_is_the_libraries(platform, settings):
    settings.MATCH_RETRIEVE_K = 1000
    version = _train_and_promote()
    blank = platform["blank"]
    served = _jobs(platform["client"], blank)["results"]
    model = selectors.load_model_cached(version)
    open_jobs = list(documents.iter_job_docs(Job.objects.filter(status=Job.Status.OPEN)))
    events = model_space.interaction_events("resume", [blank.pk])[blank.pk]
    scores = model.rank_jobs(documents.resume_doc(blank), open_jobs, interactions=events).total
    library = {int(d.id): round(float(s), 6) for d, s in zip(open_jobs, scores, strict=True)}
    assert len(served) == min(100, len(open_jobs))
    assert {r["job"]: r["score"]["total"] for r in served} == {r["job"]: library[r["job"]] for r in served}
    top = sorted(library, key=lambda j: (-library[j], j))[: len(served)]
    assert sorted(library[j] for j in top) == sorted(r["score"]["total"] for r in served)


def test_a_half_written_space_is_not_served_and_a_killed_writer_resumes(platform):
    version = _train_and_promote()
    ModelVersion.objects.filter(pk=version.pk).update(space_ready=False)
    space = f"model:{version.version}"
    DocumentVector.objects.filter(space=space).delete()
    model = selectors.load_model_cached(version)
    client, blank = platform["client"], platform["blank"]

    class Killed(Exception):
        pass

    def kill_after_first_batch(kind, done, total):
        raise Killed

    version.refresh_from_db()
    with pytest.raises(Killed):
        model_space.write_space(version, model, on_progress=kill_after_first_batch, batch=16)
    written = DocumentVector.objects.filter(space=space).count()
    assert written == 16
    body = _jobs(client, blank)
    assert body["retrieval"]["space"] == encoder_space() and body["model"] == f"v{version.version}"

    again = model_space.write_space(version, model, batch=16)
    n_docs = Job.objects.count() + Resume.objects.count()
    assert again["job"] + again["resume"] == n_docs - written  # nothing written twice
    assert DocumentVector.objects.filter(space=space).count() == n_docs
    version.refresh_from_db()
    assert version.space_ready
    assert _jobs(client, blank)["retrieval"]["space"] == space


def test_zero_shot_searches_near_the_jobs_a_blank_resume_applied_to(platform):
    """No model yet, no text: the query is the mean of the applied jobs' vectors, not a zero vector that
    ties with every job."""
    body = _jobs(platform["client"], platform["blank"], exclude="applied")
    assert body["model"] == "zero-shot"
    ranked = [r["job"] for r in body["results"]]
    top = ranked[: len(platform["same"] - platform["applied"])]
    share_top = len(set(top) & platform["same"]) / len(top)
    share_all = len(platform["same"] - platform["applied"]) / len(ranked)
    assert share_top > share_all + 0.2, (share_top, share_all)


def test_the_served_model_is_refit_on_the_held_out_slice_after_winning(platform):
    version = _train_and_promote()
    refit = version.metrics["refit"]
    assert refit["measured_artifact"] != version.artifact_name
    assert refit["interactions"] == Interaction.objects.count()
    assert version.data_window["train_interactions"] < refit["interactions"]
    config = runs.TrainConfig.from_dict(version.config)
    assert refit["warm_start"] and refit["epochs"] == min(config.refit_epochs, config.epochs)
    body = _jobs(platform["client"], platform["blank"])
    assert body["model"] == f"v{version.version}"
