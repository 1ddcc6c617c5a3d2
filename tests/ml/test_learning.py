"""Each view learns, co-teaching keeps cleaner pairs, no test pair reaches the training graph, cold start."""

from __future__ import annotations

import numpy as np

from ml.data.splits import cold_start_split
from ml.embedding import EmbeddingCache
from ml.metrics import auc, ndcg_at_k
from ml.network import TrainConfig, estimate_noise, train
from ml.relation import REL

from .conftest import index_pairs


def _test_pairs(trained, synthetic):
    test = trained["test"]
    pairs = index_pairs(test, test.interactions)
    return test, pairs, synthetic.true_label(pairs)


def _cosine(cache, data, pairs):
    ej = cache.encode([data.jobs[j].full_text() for j in pairs[:, 0]])
    er = cache.encode([data.resumes[r].full_text() for r in pairs[:, 1]])
    return (ej * er).sum(1)


def test_each_view_beats_chance_and_zero_shot_cosine(trained, synthetic):
    test, pairs, truth = _test_pairs(trained, synthetic)
    scores = trained["model"].score_pairs(test.jobs, test.resumes, pairs)
    cos_auc = auc(_cosine(trained["cache"], test, pairs), truth)
    text_auc, rel_auc, total_auc = (
        auc(scores.text, truth),
        auc(scores.relation, truth),
        auc(scores.total, truth),
    )
    for name, a in (("text", text_auc), ("relation", rel_auc), ("total", total_auc)):
        assert a > 0.65, f"{name} view AUC {a:.3f} is near chance"
        assert a > cos_auc + 0.015, (
            f"{name} AUC {a:.3f} does not beat zero-shot cosine {cos_auc:.3f} by 0.015"
        )
    # ranking: per-job NDCG@10 over its test candidates, total beats cosine on average
    cos = _cosine(trained["cache"], test, pairs)
    nd_model, nd_cos = [], []
    for j in np.unique(pairs[:, 0]):
        m = pairs[:, 0] == j
        if truth[m].any() and (~truth[m]).any():
            nd_model.append(ndcg_at_k(scores.total[m], truth[m], 10))
            nd_cos.append(ndcg_at_k(cos[m], truth[m], 10))
    assert len(nd_model) > 20
    assert np.mean(nd_model) > np.mean(nd_cos)


def test_scores_are_probabilities_and_views_reported(trained):
    test = trained["test"]
    pairs = index_pairs(test, test.interactions[:50])
    s = trained["model"].score_pairs(test.jobs, test.resumes, pairs)
    for arr in (s.total, s.text, s.relation):
        assert arr.shape == (50,) and np.all((arr >= 0) & (arr <= 1))
    assert not np.allclose(s.text, s.relation)


def test_coteaching_keeps_cleaner_pairs_than_the_batch(trained):
    model = trained["model"]
    hist = [h for h in model.metrics["history"] if h["stage"] == "train"]
    assert len(hist) == 10
    warm = model.config.warmup_epochs
    # forget_rate="auto": each epoch estimates the noise from the views' scores; the synthetic labels are 20%
    # flipped, so the positive-side estimate must land near that, not at 0 or at the cap
    est = hist[-1]["noise_positive"]
    assert 0.05 < est < 0.4, est
    # after warm-up the peers drop about the estimated share of each batch's positives...
    assert hist[0]["kept_fraction"] == 1.0 and hist[-1]["kept_fraction"] < 0.95
    # ...and what they keep is cleaner than what the batch held
    kept = np.mean([h["clean_kept_fraction"] for h in hist[warm:]])
    batch = np.mean([h["batch_clean_fraction"] for h in hist[warm:]])
    # (a random selection gives ~0 difference; the mean is over ~8 epochs x thousands of pairs, std ~0.003)
    assert kept > batch + 0.01, (kept, batch)
    # the progress callback saw every stage
    stages = [p.stage for p in trained["progress"]]
    assert stages[:2] == ["encode", "graph"] and stages[-1] == "evaluate" and stages.count("train") == 10
    assert "calibrate" in stages[stages.index("train") :]  # the calibration head trains after the views
    last_epoch = max(i for i, s in enumerate(stages) if s == "train")
    assert trained["progress"][last_epoch].clean_kept_fraction is not None


def test_no_test_pair_reaches_the_training_graph(trained):
    graph = trained["model"].graph
    in_graph = graph.interaction_pairs()
    test_pairs = {(e.job_id, e.resume_id) for e in trained["test"].interactions}
    train_pairs = {(e.job_id, e.resume_id) for e in trained["train"].interactions}
    assert in_graph == train_pairs  # non-vacuous: every training pair IS an edge (clean_edges is off)
    assert not (in_graph & test_pairs)
    assert trained["model"].data_window["ts_max"] < min(e.timestamp for e in trained["test"].interactions)


def test_training_folds_hide_each_batchs_own_edges(trained):
    graph = trained["model"].graph
    e = graph.edges
    inter = np.isin(e[:, 2], [REL["job<-resume+"], REL["job<-resume-"]])
    for fold in range(graph.n_folds):
        adj = graph.adjacency(fold).to_sparse_coo().coalesce()
        n = graph.n_nodes
        idx = adj.indices().numpy()
        got = set(zip(idx[0].tolist(), (idx[1] % n).tolist(), (idx[1] // n).tolist(), strict=True))
        hidden = e[inter & (e[:, 4] == fold)]
        assert len(hidden) > 0
        assert not any((int(r), int(c), int(t)) in got for r, c, t, _, _ in hidden)


def test_cold_start_items_get_non_degenerate_relation_vectors(synthetic, hashing_encoder):
    train_data, test_data = cold_start_split(synthetic.data, fraction=0.2, side="resume", seed=1)
    cold_ids = set(test_data.meta["cold_ids"])
    assert cold_ids and not cold_ids & {r.id for r in train_data.resumes}
    model = train(train_data, TrainConfig(epochs=4, seed=0), cache=EmbeddingCache(hashing_encoder))
    cold = [r for r in test_data.resumes if r.id in cold_ids]
    assert all(model.graph.node_of("resume", r.id) is None for r in cold)
    _, _, rr, _ = model._doc_reprs(cold, False)
    v = rr.numpy()
    assert np.isfinite(v).all() and (np.linalg.norm(v, axis=1) > 1e-3).all()
    # different cold resumes get different vectors (not one shared fallback): their spread around the mean is
    # comparable to that of warm resumes' graph vectors
    warm = [r for r in train_data.resumes[:200]]
    _, _, rw, _ = model._doc_reprs(warm, False)
    w = rw.numpy()
    spread_cold = np.linalg.norm(v - v.mean(0), axis=1).mean()
    spread_warm = np.linalg.norm(w - w.mean(0), axis=1).mean()
    assert spread_cold > 0.3 * spread_warm
    # and their relation scores rank their true matches above chance
    pairs = index_pairs(test_data, test_data.interactions)
    s = model.score_pairs(test_data.jobs, test_data.resumes, pairs)
    truth = synthetic.true_label(pairs)
    assert np.std(s.relation) > 0.01
    assert auc(s.relation, truth) > 0.6


def test_noise_estimate_recovers_the_share_of_random_positives():
    rng = np.random.default_rng(0)
    n = 20000
    reference = rng.normal(0, 1, n)  # uniformly drawn negatives' logits
    clean_pos = rng.normal(4, 1, n)  # positives the view has learned
    for rate in (0.0, 0.2, 0.4):
        k = int(rate * n)
        pos = np.concatenate([clean_pos[: n - k], rng.normal(0, 1, k)])  # noisy ones score like the reference
        logits = np.concatenate([pos, reference])
        labels = np.r_[np.ones(n), np.zeros(n)]
        est = estimate_noise(logits, labels, labels == 0)
        assert abs(est.positive - rate) < 0.03, (rate, est.positive)
        assert est.negative < 0.03
        if k:  # the noisy positives are the lowest ranked
            assert est.positive_rank[n - k :].mean() < 0.6 < est.positive_rank[: n - k].mean()


def test_masked_edges_leave_graph_and_history_and_come_back(trained):
    model = trained["model"]
    graph, hist = model.graph, model.history
    n_edges, n_hist = len(graph.edges), len(hist.edge_job)
    j, r = hist.edge_job[:3].copy(), hist.edge_res[:3].copy()  # three positive training pairs
    graph.mask_interactions(j, r)
    hist.mask_edges(j, r)
    try:
        jobs = [hist.job_ids[int(a)] for a in j]
        res_ids = sorted(hist.resume_index, key=hist.resume_index.get)
        gone = {(jobs[i], res_ids[int(r[i])]) for i in range(3)}
        assert not gone & graph.interaction_pairs()
        assert len(graph.edges) == n_edges - 6  # both directions of each pair
        assert len(hist.edge_job) == n_hist - 3
        assert graph.sampler(0) is not None and ("sampler", 0) in graph._adj_cache
    finally:
        graph.mask_interactions(j[:0], r[:0])
        hist.mask_edges(j[:0], r[:0])
    assert len(graph.edges) == n_edges and len(hist.edge_job) == n_hist
    assert gone <= graph.interaction_pairs()


def test_edge_cleaning_drops_edges_and_reports_them(synthetic, hashing_encoder):
    model = train(
        synthetic.data,
        TrainConfig(epochs=3, seed=0, clean_edges=True),
        cache=EmbeddingCache(hashing_encoder),
        clean_mask_fn=synthetic.clean_mask_fn,
    )
    est = model.metrics["noise_estimate"]
    assert est["edges_dropped"] > 0
    n_pos = model.data_window["n_positive_pairs"]
    assert len(model.history.edge_job) == n_pos - est["edges_dropped"]
    in_graph = model.graph.interaction_pairs()
    assert len(in_graph) == model.data_window["n_pairs"] - est["edges_dropped"]
