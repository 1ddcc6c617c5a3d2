"""The per-document cache of MatchingModel (ml/network/doccache.py): warm, partly warm and cold calls give
exactly the uncached numbers, a fresh interaction on a cached job changes its scores as it does uncached, and
the LRU keeps at most its bound."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from ml.network.doccache import DocCache, doc_key
from ml.types import InteractionEvent, JobDoc, ResumeDoc


@pytest.fixture(scope="module")
def world(trained):
    model, data = trained["model"], trained["train"]
    jobs = list(data.jobs[:60])
    jobs += [replace(j, id=f"cache-new-{i}", title=j.title + " lead") for i, j in enumerate(data.jobs[:8])]
    jobs += [replace(j, description=j.description + " remote") for j in data.jobs[60:64]]  # same id, new text
    jobs += [JobDoc(id="cache-blank", title=""), JobDoc("cache-list", "nurse", skills=["triage", "care"])]
    resumes = [*data.resumes[:30], replace(data.resumes[0], id="cache-new-r"), ResumeDoc("cache-blank-r")]
    r = data.resumes[3]
    events = [e for e in data.interactions if e.resume_id == r.id]
    events += [InteractionEvent(jobs[i].id, r.id, k, 2e9 + i) for i, k in ((5, "apply"), (61, "reject"))]
    job_events = [e for e in data.interactions if e.job_id == jobs[2].id]
    job_events.append(InteractionEvent(jobs[2].id, resumes[31].id, "hire", 2e9))
    return {
        "model": model,
        "jobs": jobs,
        "resumes": resumes,
        "r": r,
        "events": events,
        "job_events": job_events,
    }


def _calls(w) -> list:
    m, jobs, resumes, r, ev, jev = (w[k] for k in ("model", "jobs", "resumes", "r", "events", "job_events"))
    rng = np.random.default_rng(0)
    order = [jobs[i] for i in rng.permutation(len(jobs))] + jobs[:5]  # shuffled, with repeats
    pairs = np.stack([rng.integers(0, len(jobs), 300), rng.integers(0, len(resumes), 300)], 1)
    return [
        lambda: m.rank_jobs(r, jobs),
        lambda: m.rank_jobs(r, order, interactions=ev),
        lambda: m.rank_jobs(resumes[-1], jobs[50:], interactions=ev),
        lambda: m.rank_resumes(jobs[2], resumes, interactions=jev),
        lambda: m.rank_resumes(jobs[-1], resumes[:1]),
        lambda: m.score_pairs(jobs, resumes, pairs, interactions=ev + jev),
        lambda: m.embed_jobs(order, interactions=ev),
        lambda: m.embed_jobs(jobs[:1]),
        lambda: m.embed_resumes(resumes, interactions=jev),
    ]


def _arrays(result) -> list[np.ndarray]:
    if isinstance(result, np.ndarray):
        return [result]
    return [result.total, result.text, result.relation]


def _run(w, cache: DocCache, monkeypatch, *, before=None) -> list[np.ndarray]:
    monkeypatch.setattr(w["model"], "doc_cache", cache)
    out = []
    for call in _calls(w):
        if before is not None:
            before()
        out += _arrays(call())
    return out


def _assert_same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)  # bit for bit (NaN where a view is off on both sides)


def test_warm_partly_warm_and_cold_calls_match_the_uncached_path_exactly(world, monkeypatch):
    reference = _run(world, DocCache(0), monkeypatch)
    cold = DocCache()
    _assert_same(_run(world, cold, monkeypatch, before=cold.clear), reference)
    warm = DocCache()
    monkeypatch.setattr(world["model"], "doc_cache", warm)
    world["model"].embed_jobs(world["jobs"][::3])  # a third cached, without their history rows
    _assert_same(_run(world, warm, monkeypatch), reference)  # partly warm: cached and new rows together
    hits = warm.hits
    _assert_same(_run(world, warm, monkeypatch), reference)  # all warm
    assert warm.hits > hits and len(warm) == len(world["jobs"]) + len(world["resumes"])
    assert warm.nbytes() > len(warm) * 1000


def test_a_fresh_interaction_on_a_cached_job_changes_its_scores_as_without_the_cache(world, monkeypatch):
    m, jobs, r = world["model"], world["jobs"], world["r"]
    seen = {e.job_id for e in world["events"]}
    a, b = [i for i in range(60) if jobs[i].id not in seen][:2]  # trained nodes the resume never touched
    new = [InteractionEvent(jobs[i].id, r.id, "hire", 3e9 + i) for i in (a, b)]
    monkeypatch.setattr(m, "doc_cache", DocCache(0))
    want = m.rank_jobs(r, jobs, interactions=new)
    want_vec = m.embed_jobs(jobs, interactions=new)
    cache = DocCache()
    monkeypatch.setattr(m, "doc_cache", cache)
    before = m.rank_jobs(r, jobs)  # every job cached
    got = m.rank_jobs(r, jobs, interactions=new)
    _assert_same(_arrays(got), _arrays(want))
    np.testing.assert_array_equal(m.embed_jobs(jobs, interactions=new), want_vec)
    assert got.relation[a] != before.relation[a] and got.relation[b] != before.relation[b]
    _assert_same(_arrays(m.rank_jobs(r, jobs)), _arrays(before))  # the next call without them: as before


def test_the_lru_keeps_at_most_its_bound_and_the_most_recent_documents(world, monkeypatch):
    m, jobs, r = world["model"], world["jobs"], world["r"]
    monkeypatch.setattr(m, "doc_cache", DocCache(0))
    want = m.rank_jobs(r, jobs, interactions=world["events"])
    cache = DocCache(max_docs=10)
    monkeypatch.setattr(m, "doc_cache", cache)
    for _ in range(
        2
    ):  # a call larger than the bound: computed as without the cache, none of its rows copied in
        _assert_same(_arrays(m.rank_jobs(r, jobs, interactions=world["events"])), _arrays(want))
        assert len(cache) == 1 and doc_key(r) in cache._entries  # the resume side's one document
    for start in range(0, 18, 6):  # calls within the bound fill it; the least recently used go first
        m.rank_jobs(r, jobs[start : start + 6])
    assert len(cache) == 10 and all(doc_key(j) in cache._entries for j in jobs[12:18])
    assert not any(doc_key(j) in cache._entries for j in jobs[:6])
    hits, misses = cache.hits, cache.misses
    _assert_same(_arrays(m.rank_jobs(r, jobs[12:18])), _arrays(m.rank_jobs(r, jobs[12:18])))
    assert cache.hits == hits + 14 and cache.misses == misses


def test_the_least_recently_used_document_goes_first():
    calls = []

    def base(docs):
        calls.append([d.id for d in docs])
        return np.zeros((len(docs), 4, 2), np.float32), None

    cache = DocCache(max_docs=2)
    a, b, c = (JobDoc(k, k) for k in "abc")
    for docs in ([a], [b], [a], [c], [a, b]):
        cache.reprs(docs, base)
    assert calls == [["a"], ["b"], ["c"], ["b"]]  # c evicted b (a was used after it), then b evicted c
    assert list(cache._entries) == [a, b] and len(cache) == 2


def test_keys_follow_content_and_unhashable_documents_get_a_digest():
    job = JobDoc("j1", "Nurse", skills=("triage",))
    assert doc_key(job) == doc_key(JobDoc("j1", "Nurse", skills=("triage",)))
    assert doc_key(job) != doc_key(replace(job, title="Senior nurse"))
    assert doc_key(job) != doc_key(ResumeDoc("j1"))
    listed = JobDoc("j1", "Nurse", skills=["triage"])
    assert doc_key(listed) == doc_key(JobDoc("j1", "Nurse", skills=["triage"]))
    assert doc_key(listed) != doc_key(JobDoc("j1", "Nurse", skills=["care"]))


def test_concurrent_calls_share_one_cache_and_get_the_uncached_numbers(world, monkeypatch):
    m, jobs, r = world["model"], world["jobs"], world["r"]
    monkeypatch.setattr(m, "doc_cache", DocCache(0))
    windows = [jobs[i : i + 30] for i in (0, 10, 20, 40)]
    want = [m.rank_jobs(r, w, interactions=world["events"]).total for w in windows]
    monkeypatch.setattr(m, "doc_cache", DocCache(max_docs=40))
    got: dict[int, list] = {}

    def work(k: int) -> None:
        got[k] = [m.rank_jobs(r, windows[(k + i) % 4], interactions=world["events"]).total for i in range(8)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        for i, total in enumerate(got[k]):
            np.testing.assert_array_equal(total, want[(k + i) % 4])
    assert len(m.doc_cache) <= 40


def test_use_cache_empties_it(trained, monkeypatch):
    m = trained["model"]
    monkeypatch.setattr(m, "doc_cache", DocCache())
    m.embed_jobs(trained["train"].jobs[:3])
    assert len(m.doc_cache) == 3
    m.use_cache(trained["cache"])
    assert len(m.doc_cache) == 0
