"""History-aware pair features (ml/features.py): no own-edge leakage in training, exact place/company matches
score higher, serving through score_pairs and artifacts round-trip."""

from __future__ import annotations

import numpy as np
import pytest

from ml.artifacts import load_model, save_model
from ml.embedding import EmbeddingCache
from ml.features import FEATURE_NAMES, HistoryFeatures
from ml.network import TrainConfig, train
from ml.textview import embed_sections
from ml.types import InteractionEvent, JobDoc, MatchingData, ResumeDoc

F = {n: i for i, n in enumerate(FEATURE_NAMES)}
HISTORY_COLS = [i for n, i in F.items() if n.split("_")[0] in ("cos", "tfidf", "company", "place", "state")]


def _world():
    jobs = [
        JobDoc("j0", "Cashier", company="Acme Foods", location="Denver, Colorado"),
        JobDoc("j1", "Stock Clerk", company="Acme Foods", location="Denver, Colorado"),
        JobDoc("j2", "Barista", company="Bean House", location="Denver, Colorado"),
        JobDoc("j3", "Welder", company="Steel Works", location="Tulsa, Oklahoma"),
        JobDoc("j4", "Nurse", company="City Hospital", location="Miami, Florida"),
        JobDoc("j5", "Driver", company="Truck Co", location="Boise, Idaho"),
        # cold (never viewed in training)
        JobDoc("c_same", "Shift Lead", company="Acme Foods", location="Denver, Colorado"),
        JobDoc("c_none", "Accountant", company="Ledger LLC", location="Portland, Oregon"),
    ]
    resumes = [ResumeDoc("r0"), ResumeDoc("r1"), ResumeDoc("r2", headline="welder")]
    views = [("j0", "r0"), ("j1", "r0"), ("j2", "r0"), ("j3", "r1"), ("j4", "r1"), ("j5", "r2"), ("j3", "r2")]
    events = [InteractionEvent(j, r, "click", float(t)) for t, (j, r) in enumerate(views)]
    return MatchingData(jobs, resumes, events)


@pytest.fixture(scope="module")
def world(hashing_encoder):
    data = _world()
    cache = EmbeddingCache(hashing_encoder)
    ji = {j.id: i for i, j in enumerate(data.jobs)}
    ri = {r.id: i for i, r in enumerate(data.resumes)}
    job = np.array([ji[e.job_id] for e in data.interactions])
    res = np.array([ri[e.resume_id] for e in data.interactions])
    fold = np.arange(len(job)) % 3  # every pair in its own fold w.r.t. its resume's other pairs
    ej = embed_sections(data.jobs, cache)
    h = HistoryFeatures.build(data.jobs, data.resumes, job, res, np.ones(len(job), bool), fold, ej, 3)
    return {"data": data, "cache": cache, "h": h, "job": job, "res": res, "fold": fold, "ji": ji}


def test_training_pair_never_sees_its_own_edge(world):
    h, job, res, fold, data = world["h"], world["job"], world["res"], world["fold"], world["data"]
    feats = h.pair_features(h.jobs, data.resumes, job, res, fold)
    serve = h.pair_features(h.jobs, data.resumes, job, res, None)
    # with every edge (serving) the pair's own job is in the history: the max similarities are exactly 1
    assert np.allclose(serve[:, F["place_any"]], 1.0) and np.allclose(serve[:, F["company_any"]], 1.0)
    assert np.allclose(serve[:, F["tfidf_max"]], 1.0, atol=1e-5)
    # fold-masked (training): the history lacks the pair's own edge, and its size says so
    for i in range(len(job)):
        r = res[i]
        others = [k for k in range(len(job)) if res[k] == r and fold[k] != fold[i]]
        assert feats[i, F["log_history"]] == pytest.approx(np.log1p(len(others)))
        assert job[i] not in job[others]
        own_job = data.jobs[job[i]]
        same_company = any(data.jobs[job[k]].company == own_job.company for k in others)
        assert feats[i, F["company_any"]] == float(same_company)
        if not others:
            assert np.all(feats[i, HISTORY_COLS] == 0.0)
    # r1's two jobs share nothing: without the own edge no company/place match remains (leak would give 1)
    r1 = np.flatnonzero(res == 1)
    assert np.all(feats[r1, F["company_any"]] == 0.0) and np.all(feats[r1, F["place_any"]] == 0.0)
    assert np.all(feats[r1, F["tfidf_max"]] < 0.999)
    # job degree leaves the pair's own fold out too
    assert np.all(feats[:, F["log_degree"]] < serve[:, F["log_degree"]])


def test_cold_job_sharing_city_and_company_scores_higher(world):
    h, data, ji, cache = world["h"], world["data"], world["ji"], world["cache"]
    cands = [ji["c_same"], ji["c_none"]]
    side = h.job_side([data.jobs[c] for c in cands], embed_sections([data.jobs[c] for c in cands], cache))
    f = h.pair_features(side, data.resumes, np.array([0, 1]), np.array([0, 0]))
    same, none = f
    for name in ("company_any", "company_frac", "place_any", "place_frac", "state_any", "tfidf_max"):
        assert same[F[name]] > none[F[name]], name
    assert same[F["place_frac"]] == pytest.approx(1.0) and same[F["company_frac"]] == pytest.approx(2 / 3)
    assert none[F["log_degree"]] == 0.0 and same[F["log_degree"]] == 0.0  # cold jobs
    # an applicant never seen in training: empty history, only own-text features
    f2 = h.pair_features(side, [ResumeDoc("new", headline="shift lead")], np.array([0, 1]), np.array([0, 0]))
    assert np.all(f2[:, HISTORY_COLS] == 0.0) and f2[0, F["own_tfidf"]] > f2[1, F["own_tfidf"]]


def test_history_model_scores_cold_jobs_and_round_trips(world, tmp_path):
    data, cache = world["data"], world["cache"]
    cfg = TrainConfig(
        epochs=3, hidden=16, history_features=True, job_negatives_per_positive=2, negatives_per_positive=1
    )
    model = train(data, cfg, cache=cache)
    assert set(model.history_heads) == {"text", "relation"}
    pairs = np.array([[6, 0], [7, 0]])
    s = model.score_pairs(data.jobs, data.resumes, pairs)
    assert np.all(np.isfinite(s.total)) and np.all((s.total >= 0) & (s.total <= 1))
    path = tmp_path / "m.pt"
    save_model(model, path)
    back = load_model(path)
    back.use_cache(cache)
    s2 = back.score_pairs(data.jobs, data.resumes, pairs)
    np.testing.assert_allclose(s2.total, s.total, rtol=1e-5, atol=1e-6)


def test_tfidf_rows_are_the_same_from_the_row_cache():
    """A text transformed again comes from the row cache and gives the same row as the first time."""
    from ml.tfidf import Tfidf

    tf = Tfidf.fit(["python django postgres", "nurse berlin", "python data berlin berlin"])
    texts = ["python berlin berlin", "unknown words only", "", "django django nurse"]
    first = tf.transform(texts).toarray()
    again = tf.transform(list(reversed(texts))).toarray()[::-1]
    assert len(tf._rows) == len(set(texts))
    np.testing.assert_array_equal(first, again)
    assert np.allclose(np.linalg.norm(first[[0, 3]], axis=1), 1.0) and not first[1].any()


def _reference_features(h, job: int, resume_doc, stored_res: int, fold: int) -> dict[str, float]:
    """One pair's history kernels from their definitions, a Python loop over its history jobs."""
    J = h.jobs
    a, b = h.ptr[stored_res], h.ptr[stored_res + 1]
    hist = [int(j) for j, f in zip(h.edge_job[a:b], h.edge_fold[a:b], strict=True) if fold < 0 or f != fold]
    tf = J.tfidf.toarray()
    own = h.tfidf.transform([resume_doc.full_text()]).toarray()[0]
    query = own + sum((tf[k] for k in hist), np.zeros_like(own))
    query = query / np.linalg.norm(query) if np.linalg.norm(query) > 0 else query
    out = {"own_tfidf": float(tf[job] @ own), "query_tfidf": float(tf[job] @ query)}
    kernels = {
        "cos_whole": [float(J.whole[job] @ J.whole[k]) for k in hist],
        "cos_title": [float(J.title[job] @ J.title[k]) for k in hist],
        "tfidf": [float(tf[job] @ tf[k]) for k in hist],
        "company": [float(J.company[job] >= 0 and J.company[job] == J.company[k]) for k in hist],
        "place": [float(J.place[job] >= 0 and J.place[job] == J.place[k]) for k in hist],
        "state": [float(J.state[job] >= 0 and J.state[job] == J.state[k]) for k in hist],
    }
    for name, values in kernels.items():
        first, second = ("any", "frac") if name in ("company", "place", "state") else ("max", "mean")
        out[f"{name}_{first}"] = max(values) if values else 0.0
        out[f"{name}_{second}"] = float(np.mean(values)) if values else 0.0
    return out


@pytest.mark.parametrize("block", [1, 3, 10**6])
def test_pair_features_equal_their_definitions_in_any_block_size(world, block):
    """Each pair's kernels are computed on its own (job, history job) cells, in blocks cut between pairs: every
    block size gives what the definitions give, for training folds and for serving (fold -1)."""
    h, data = world["h"], world["data"]
    rng = np.random.default_rng(0)
    pj = rng.integers(0, len(h.job_ids), 60)
    pr = rng.integers(0, len(data.resumes), 60)
    fold = rng.integers(-1, 3, 60)
    got = h.pair_features(h.jobs, data.resumes, pj, pr, fold, max_cells=block)
    for i in range(60):
        want = _reference_features(h, int(pj[i]), data.resumes[pr[i]], int(pr[i]), int(fold[i]))
        for name, value in want.items():
            assert got[i, F[name]] == pytest.approx(value, abs=1e-5), (i, name)


def test_pair_features_from_precomputed_resume_rows_equal_the_tokenised_ones(world):
    """Training's epochs pass every resume's TF-IDF row once computed; the features are the same as tokenising
    the pairs' resumes on every call (the own-text and query columns read those rows)."""
    h, data = world["h"], world["data"]
    rng = np.random.default_rng(1)
    pj = rng.integers(0, len(h.job_ids), 80)
    pr = rng.integers(0, len(data.resumes), 80)
    fold = rng.integers(-1, 3, 80)
    rows = h.resume_tfidf_rows(data.resumes)
    assert rows.shape[0] == len(data.resumes)
    plain = h.pair_features(h.jobs, data.resumes, pj, pr, fold)
    cached = h.pair_features(h.jobs, data.resumes, pj, pr, fold, resume_tfidf=rows)
    np.testing.assert_allclose(cached, plain, atol=1e-6)
    assert np.abs(plain[:, [F["own_tfidf"], F["query_tfidf"]]]).sum() > 0  # the columns the rows feed
