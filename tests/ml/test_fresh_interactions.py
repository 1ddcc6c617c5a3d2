"""Interactions newer than the model (``interactions=`` of MatchingModel, ml/network/fresh.py): a resume without
text is ranked and embedded by its events, a new event changes its scores and vector at once, negative kinds
stay negative, and without events (None, [] or the events training already saw) nothing changes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.metrics import auc
from ml.network.fresh import FreshInteractions
from ml.relation.adjacency import relation_adjacency
from ml.relation.schema import REL
from ml.types import InteractionEvent, ResumeDoc

BLANK = ResumeDoc("fresh-blank")  # no headline, summary, skills or experience


@pytest.fixture(scope="module")
def world(trained, synthetic):
    model, data = trained["model"], trained["train"]
    occ = synthetic.job_occ  # trained["train"] keeps every job, in the same order
    target = int(np.bincount(occ).argmax())
    idx = np.flatnonzero(occ == target)
    events = [InteractionEvent(data.jobs[i].id, BLANK.id, "apply", 1e9 + k) for k, i in enumerate(idx[:6])]
    return {"model": model, "data": data, "occ": occ, "target": target, "idx": idx, "events": events}


def _same(a, b) -> None:
    for name in ("total", "text", "relation"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_resume_without_text_is_ranked_and_embedded_by_its_interactions(world):
    model, jobs, occ, target, events = (
        world["model"],
        world["data"].jobs,
        world["occ"],
        world["target"],
        world["events"],
    )
    held_out = np.ones(len(jobs), bool)
    held_out[world["idx"][:6]] = False  # judge on the occupation's other jobs, not the ones applied to
    label = (occ == target).astype(float)[held_out]
    s = model.rank_jobs(BLANK, jobs, interactions=events)
    assert np.isfinite(s.total).all() and np.isfinite(s.relation).all()
    assert auc(s.total[held_out], label) > 0.8
    assert auc(s.relation[held_out], label) > 0.8
    before = model.rank_jobs(BLANK, jobs)
    assert auc(before.total[held_out], label) < auc(s.total[held_out], label)
    v = model.embed_resumes([BLANK], interactions=events)[0]
    assert np.isfinite(v).all() and abs(np.linalg.norm(v) - 1) < 1e-5
    sims = model.embed_jobs(jobs) @ v
    assert sims[occ == target].mean() > sims[occ != target].mean()
    assert auc(sims[held_out], label) > 0.8


def test_a_new_interaction_changes_scores_and_vector_at_once(world):
    model, data = world["model"], world["data"]
    r = data.resumes[0]
    own = [e for e in data.interactions if e.resume_id == r.id]
    seen = {e.job_id for e in own}
    j = next(k for k, d in enumerate(data.jobs) if d.id not in seen)
    apply = InteractionEvent(data.jobs[j].id, r.id, "apply", 2e9)
    reject = InteractionEvent(data.jobs[j].id, r.id, "reject", 2e9)
    base = model.rank_jobs(r, data.jobs)
    after = model.rank_jobs(r, data.jobs, interactions=[*own, apply])
    assert not np.array_equal(base.total, after.total) and not np.array_equal(base.relation, after.relation)
    v0 = model.embed_resumes([r])[0]
    v1 = model.embed_resumes([r], interactions=[*own, apply])[0]
    assert np.linalg.norm(v1 - v0) > 1e-4
    # only the new event passed: the pairs it does not mention keep their trained state, so the same result
    np.testing.assert_allclose(
        model.rank_jobs(r, data.jobs, interactions=[apply]).total, after.total, atol=1e-6
    )
    # a reject is a negative edge, not a pull: the rejected job scores below what the apply gave it
    rej = model.rank_jobs(r, data.jobs, interactions=[reject])
    assert rej.total[j] < after.total[j]
    # the latest event of a pair decides (as in training): apply then reject == reject
    later = InteractionEvent(reject.job_id, r.id, "reject", 3e9)
    np.testing.assert_array_equal(model.rank_jobs(r, data.jobs, interactions=[apply, later]).total, rej.total)


def test_no_events_or_the_trained_events_give_todays_outputs_exactly(world):
    model, data = world["model"], world["data"]
    jobs, resumes = data.jobs, [*data.resumes[:50], BLANK]
    rng = np.random.default_rng(0)
    pairs = np.stack([rng.integers(0, len(jobs), 2000), rng.integers(0, len(resumes), 2000)], 1)
    today = model.score_pairs(jobs, resumes, pairs)
    _same(model.score_pairs(jobs, resumes, pairs, interactions=None), today)
    _same(model.score_pairs(jobs, resumes, pairs, interactions=[]), today)
    # the events training saw, for these resumes: every pair comes out as trained, so nothing is re-attached
    ids = {r.id for r in resumes}
    trained_events = [e for e in data.interactions if e.resume_id in ids]
    _same(model.score_pairs(jobs, resumes, pairs, interactions=trained_events), today)
    ej, er = model.embed_jobs(jobs), model.embed_resumes(resumes)
    np.testing.assert_array_equal(model.embed_jobs(jobs, interactions=trained_events), ej)
    np.testing.assert_array_equal(model.embed_resumes(resumes, interactions=trained_events), er)
    np.testing.assert_array_equal(model.embed_resumes(resumes, interactions=None), er)
    _same(model.rank_resumes(jobs[3], resumes, interactions=[]), model.rank_resumes(jobs[3], resumes))
    # events of one resume leave the pairs of documents they do not mention as they were (the jobs they
    # mention count one more positive pair: their degree feature changes for every resume)
    fresh = model.score_pairs(jobs, resumes, pairs, interactions=world["events"])
    other = (pairs[:, 1] != len(resumes) - 1) & ~np.isin(pairs[:, 0], world["idx"][:6])
    np.testing.assert_allclose(fresh.total[other], today.total[other], rtol=0, atol=1e-6)
    assert not np.allclose(fresh.total[~other], today.total[~other])


def test_empty_resume_without_interactions_gives_finite_numbers(world):
    model, jobs = world["model"], world["data"].jobs
    unknown_job = [InteractionEvent("job-created-after-training", BLANK.id, "apply", 1e9)]
    for events in (None, [], unknown_job):
        s = model.rank_jobs(BLANK, jobs, interactions=events)
        assert all(np.isfinite(getattr(s, k)).all() for k in ("total", "text", "relation"))
        v = model.embed_resumes([BLANK, ResumeDoc("fresh-blank-2")], interactions=events)
        assert np.isfinite(v).all()
    # an event on a job the model does not know adds nothing: the same as no events
    _same(model.rank_jobs(BLANK, jobs, interactions=unknown_job), model.rank_jobs(BLANK, jobs))


def test_reattaching_a_trained_node_with_its_own_edges_reproduces_its_state(world):
    model = world["model"]
    g, states = model.graph, model._states()
    nodes = np.array([g.index[f"resume:{r.id}"] for r in world["data"].resumes[:20]])
    adj = relation_adjacency(g.in_edges(nodes), len(nodes), g.n_nodes)
    with torch.no_grad():
        h = model.relation_view.extend(
            torch.from_numpy(g.x[nodes]), torch.from_numpy(g.types[nodes]), adj, states
        )
    np.testing.assert_allclose(h.numpy(), states[-1][nodes].numpy(), atol=1e-5)


def test_negative_kinds_make_negative_edges_and_leave_the_history(world):
    model, data = world["model"], world["data"]
    h = model.history
    r = next(d for d in data.resumes if h.ptr[h.resume_index[d.id] + 1] > h.ptr[h.resume_index[d.id]])
    s = h.resume_index[r.id]
    first = h.job_ids[int(h.edge_job[h.ptr[s]])]  # a positive training job of r
    seen = {e.job_id for e in data.interactions if e.resume_id == r.id}
    other = next(j.id for j in data.jobs if j.id not in seen)
    events = [
        InteractionEvent(first, r.id, "withdraw", 2e9),
        InteractionEvent(other, r.id, "not_interested", 2e9),
    ]
    fresh = FreshInteractions(events)
    edges = fresh._new_edges(model.graph, [r])
    assert set(edges[:, 2].astype(int)) == {REL["resume<-job-"]}
    assert sorted(edges[:, 3]) == [1.0, 2.0]  # |strength|
    fh = fresh.history(h, data.jobs, [r])
    assert h.job_index[first] not in fh.jobs_of[r.id]  # a withdrawn job leaves the history
    assert fh.degree_delta[h.job_index[first]] == -1 and fh.degree_delta.sum() == -1
