"""The fast training paths compute what the slow ones did: vectorised aggregation/negatives, exact subgraphs,
fold hiding in sampled subgraphs, the relation_adjacency layout, and artifact format checks."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from ml.artifacts import FORMAT_VERSION, ArtifactError, load_model_from_bytes, save_model_to_bytes
from ml.network import MatchingModel, aggregate_interactions
from ml.network.sampling import LabelledPairs as _Pairs
from ml.network.sampling import pair_keys as _pair_keys
from ml.network.sampling import sample_resume_negatives as _sample_negatives
from ml.network.stale import HistoricalStates
from ml.relation import REL
from ml.textview import N_SECTIONS, pair_similarity_features, similarity_features
from ml.types import InteractionEvent, JobDoc, MatchingData, ResumeDoc


def _reference_aggregate(data):
    ji = {j.id: i for i, j in enumerate(data.jobs)}
    ri = {r.id: i for i, r in enumerate(data.resumes)}
    latest, best = {}, {}
    for ev in data.interactions:
        if ev.job_id not in ji or ev.resume_id not in ri:
            continue
        key = (ji[ev.job_id], ri[ev.resume_id])
        if key not in latest or ev.timestamp >= latest[key][0]:
            latest[key] = (ev.timestamp, ev.strength)
        bk = (*key, ev.strength > 0)
        best[bk] = max(best.get(bk, 0), abs(ev.strength))
    keys = sorted(latest)
    return keys, [latest[k][1] > 0 for k in keys], [best[(*k, latest[k][1] > 0)] for k in keys]


def test_vectorised_aggregation_matches_the_event_loop():
    rng = np.random.default_rng(0)
    jobs = [JobDoc(f"j{i}", "t") for i in range(7)]
    res = [ResumeDoc(f"r{i}") for i in range(9)]
    kinds = ["click", "apply", "hire", "reject", "withdraw", "not_interested"]
    evs = [
        InteractionEvent(
            f"j{rng.integers(0, 8)}", f"r{rng.integers(0, 10)}", str(rng.choice(kinds)), float(t)
        )
        for t in rng.integers(0, 20, 400)  # many ties in time; j7 / r9 are unknown documents
    ]
    data = MatchingData(jobs, res, evs)
    keys, labels, strengths = _reference_aggregate(data)
    p = aggregate_interactions(data)
    assert list(zip(p.job.tolist(), p.resume.tolist(), strict=True)) == keys
    np.testing.assert_array_equal(p.label, np.array(labels, dtype=np.float32))
    np.testing.assert_array_equal(p.strength, np.array(strengths, dtype=np.float32))


def test_sampled_negatives_avoid_observed_pairs():
    rng = np.random.default_rng(1)
    job = rng.integers(0, 20, 300)
    res = rng.integers(0, 15, 300)
    pairs = _Pairs(job, res, (rng.random(300) > 0.5).astype(np.float32), np.ones(300, np.float32), job % 3)
    taken = np.unique(_pair_keys(job, res, 15))
    nj, nr, nf = _sample_negatives(pairs, 15, 3, rng, taken)
    assert len(nj) > 0 and not np.isin(_pair_keys(nj, nr, 15), taken).any()


@pytest.mark.parametrize("max_cells", [64, 8_000_000])  # many small resume groups, and one group
def test_grouped_similarity_features_equal_the_gathered_ones(max_cells):
    g = torch.Generator().manual_seed(0)
    ej = torch.nn.functional.normalize(torch.randn(30, N_SECTIONS, 16, generator=g), dim=-1)
    er = torch.nn.functional.normalize(torch.randn(20, N_SECTIONS, 16, generator=g), dim=-1)
    ej[3, 1] = 0  # an empty section
    rng = np.random.default_rng(0)
    pj, pr = rng.integers(0, 30, 500), rng.integers(0, 20, 500)
    got = pair_similarity_features(ej, er, pj, pr, max_cells=max_cells)
    assert torch.allclose(got, similarity_features(ej[pj], er[pr]), atol=1e-6)
    assert pair_similarity_features(ej, er, pj[:0], pr[:0]).shape == (0, got.shape[1])


def test_history_features_do_not_depend_on_the_block_size(trained):
    """The kernel cells computed in blocks of any size give the same features (blocks cut between pairs)."""
    h, data = trained["model"].history, trained["train"]
    rng = np.random.default_rng(0)
    pj = rng.integers(0, len(h.job_ids), 3000)
    pr = rng.integers(0, len(data.resumes), 3000)
    fold = rng.integers(-1, h.n_folds, 3000)
    big = h.pair_features(h.jobs, data.resumes, pj, pr, fold)
    assert (big[:, 0] != 0).mean() > 0.3  # the history kernels are exercised
    for cells in (1, 64, 10**9):
        small = h.pair_features(h.jobs, data.resumes, pj, pr, fold, max_cells=cells)
        np.testing.assert_allclose(small, big, rtol=1e-5, atol=1e-6)


def test_exact_subgraph_equals_full_graph_pass(trained):
    model = trained["model"]
    g, rv = model.graph, model.relation_view
    x, types = torch.from_numpy(g.x), torch.from_numpy(g.types)
    rng = np.random.default_rng(0)
    targets = np.unique(rng.integers(0, int((g.types <= 1).sum()), 50))
    for fold in (None, 1):
        with torch.no_grad():
            full = rv.node_states(x, types, g.relation_adjacency(fold))[-1][targets]
            block = rv.node_states(x, types, g.adjacency(fold))[-1][targets]  # older block layout
            nodes, blocks = g.sampler(fold).blocks(targets, len(rv.layers), None, rng)
            sub = rv.sampled_states(x, types, nodes, blocks)
        torch.testing.assert_close(sub, full, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(block, full, rtol=1e-4, atol=1e-5)


def test_one_hop_over_fresh_historical_states_equals_full_graph_pass(trained):
    """With every neighbour kept and the history refreshed from the same weights, the one-hop path that replaces
    the L-hop subgraph computes exactly the full-graph states; the shared-array full adjacency equals the
    relation_adjacency of the same edges."""
    model = trained["model"]
    g, rv = model.graph, model.relation_view
    x, types = torch.from_numpy(g.x), torch.from_numpy(g.types)
    rng = np.random.default_rng(0)
    targets = np.unique(rng.integers(0, int((g.types <= 1).sum()), 50))
    for fold in (None, 2):
        with torch.no_grad():
            full = rv.node_states(x, types, g.relation_adjacency(fold))
            shared = rv.node_states(x, types, g.sampler(fold).full_adjacency())
            nodes, (block,) = g.sampler(fold).blocks(targets, 1, None, rng)
            one_hop = rv.historical_states(x, types, nodes, block, full[:-1])
        torch.testing.assert_close(shared[-1], full[-1], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(one_hop, full[-1][targets], rtol=1e-4, atol=1e-5)
        rv.eval()
        with torch.no_grad():  # the refresh's pass in row chunks: the full pass's states but the last
            chunked = HistoricalStates(g, rv, 1)._pass(g.sampler(fold), x, types, rows=7)
        assert len(chunked) == len(full) - 1
        for got, want in zip(chunked, full, strict=False):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_historical_states_refresh_per_fold_on_schedule_and_train_the_view(
    synthetic, hashing_encoder, monkeypatch
):
    from ml.data.splits import time_split
    from ml.embedding import EmbeddingCache
    from ml.network import TrainConfig, train
    from ml.network import stale as stale_module

    train_data, _ = time_split(synthetic.data, fraction=0.8)
    config = TrainConfig(epochs=1, historical_states=True, state_refreshes=3)
    model = train(train_data, config, cache=EmbeddingCache(hashing_encoder))
    g, rv = model.graph, model.relation_view
    # "auto" (the default) keeps the L-hop subgraphs on a graph this small, and turns them on above the threshold
    assert HistoricalStates.for_training(g, rv, TrainConfig()) is None
    assert HistoricalStates.for_training(g, rv, config) is not None
    monkeypatch.setattr(stale_module, "AUTO_MIN_NODES", g.n_nodes)
    assert HistoricalStates.for_training(g, rv, TrainConfig()) is not None
    with pytest.raises(ValueError, match="historical_states"):
        HistoricalStates.for_training(g, rv, TrainConfig(historical_states="yes"))
    stale = HistoricalStates(g, rv, refreshes=3)
    x, types = torch.from_numpy(g.x), torch.from_numpy(g.types)
    for b in range(10):  # 10 batches, 3 refreshes: stale at batches 0, 4, 8
        stale.step(b, 10)
        for fold in range(g.n_folds):
            stale.states(fold, x, types)
    assert stale.passes == 3 * g.n_folds
    first = stale.states(0, x, types)[1].clone()
    with torch.no_grad():
        rv.layers[0].self_lin.bias.add_(1.0)
    assert torch.equal(stale.states(0, x, types)[1], first)  # stale until the next refresh
    stale.step(0, 10)
    assert not torch.equal(stale.states(0, x, types)[1], first)
    assert model.metrics["train_auc_relation"] > 0.6


def test_sampled_subgraphs_cap_fanout_and_hide_the_folds_edges(trained):
    g = trained["model"].graph
    rng = np.random.default_rng(0)
    n_docs = int((g.types <= 1).sum())
    targets = np.unique(rng.integers(0, n_docs, 200))
    inter = np.isin(g.edges[:, 2], [REL["job<-resume+"], REL["job<-resume-"]])
    for fold in range(g.n_folds):
        hidden = g.edges[inter & (g.edges[:, 4] == fold)]
        visible = g.edges[inter & (g.edges[:, 4] != fold)]
        as_set = lambda e: set(zip(e[:, 0].astype(int).tolist(), e[:, 1].astype(int).tolist(), strict=True))  # noqa: E731
        hidden_keys, visible_keys = as_set(hidden), as_set(visible)
        for cap in (4, None):
            nodes, (block,) = g.sampler(fold).blocks(targets, 1, cap, rng)
            crow = block.adj.crow_indices().numpy()
            if cap is not None:
                assert np.diff(crow).max() <= cap
            rows = np.repeat(np.arange(len(crow) - 1), np.diff(crow))
            dst, rel = targets[rows // len(REL)], rows % len(REL)
            src = nodes[block.adj.col_indices().numpy()]
            is_inter = np.isin(rel, [REL["job<-resume+"], REL["job<-resume-"]])
            got = set(zip(dst[is_inter].tolist(), src[is_inter].tolist(), strict=True))
            assert not got & hidden_keys
            assert got <= visible_keys and (cap is not None or got)
        # two hops with a per-hop cap
        nodes, blocks = g.sampler(fold).blocks(targets, 2, [4, 2], rng)
        assert [
            int(np.diff(b.adj.crow_indices().numpy()).max()) <= c for b, c in zip(blocks, [2, 4], strict=True)
        ] == [
            1,
            1,
        ]


def test_old_artifact_format_is_refused_with_a_clear_message(trained):
    blob = save_model_to_bytes(trained["model"])
    payload = torch.load(io.BytesIO(blob[48:]), weights_only=True)
    payload["format_version"] = 1
    buf = io.BytesIO()
    torch.save(payload, buf)
    import hashlib
    import struct

    p = buf.getvalue()
    old = blob[:8] + struct.pack(">Q", len(p)) + hashlib.sha256(p).digest() + p
    with pytest.raises(ArtifactError, match=r"incompatible model format v1; retrain"):
        load_model_from_bytes(old)
    assert FORMAT_VERSION >= 2


def test_mismatched_weights_give_a_clear_value_error(trained):
    st = trained["model"].to_state()
    st["config"] = {**st["config"], "hidden": st["config"]["hidden"] * 2}
    with pytest.raises(ValueError, match="incompatible model version; retrain"):
        MatchingModel.from_state(st)
