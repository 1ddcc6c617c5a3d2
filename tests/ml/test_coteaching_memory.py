"""selection="memory": each view names the positives it ranks lowest over epochs, and the OTHER view leaves them
out; the figures against known noise (detection AUC, suspects' clean share) are recorded."""

from __future__ import annotations

import numpy as np

from ml.embedding import EmbeddingCache
from ml.network import TrainConfig, train
from ml.network.coteaching import NoiseEstimate, SelectionMemory, detection_figures


def test_each_view_drops_what_its_peer_ranks_lowest():
    mem = SelectionMemory(6, decay=0.5)
    obs = np.arange(6)
    mem.update("text", obs, np.array([0.9, 0.8, 0.1, 0.7, 0.6, 0.95]))
    mem.update("relation", obs, np.array([0.05, 0.8, 0.9, 0.7, 0.6, 0.95]))
    mem.choose(tau=1 / 6)
    # the text view ranks pair 2 lowest: the RELATION view must not learn from it, the text view still does
    batch_obs = np.array([2, 0, -1, 5])  # -1: a sampled negative, never touched by the memory
    assert mem.keep_for("relation", batch_obs).tolist() == [False, True, True, True]
    assert mem.keep_for("text", batch_obs).tolist() == [True, False, True, True]
    # a later epoch moves the running rank halfway: pair 2 recovers, pair 4 becomes the text view's lowest
    mem.update("text", obs, np.array([0.9, 0.8, 0.9, 0.7, 0.0, 0.95]))
    mem.choose(tau=1 / 6)
    assert np.flatnonzero(mem.suspect["text"]).tolist() == [4]
    clean = np.array([True, True, True, True, False, True])
    fig = mem.figures(clean)
    assert fig["suspect_clean_text"] == 0.0 and fig["memory_kept_clean_text"] == 1.0
    assert fig["noisy_suspected_text"] == 1.0


def test_detection_figures_read_the_ranks_against_the_truth():
    clean = np.array([True, True, True, False, False])
    good = NoiseEstimate(0.4, 0.0, np.array([0.9, 0.8, 0.7, 0.1, 0.2]))
    fig = detection_figures([good, good], clean, tau=0.4)
    assert fig["detect_auc_mean"] == 1.0 and fig["lowest_clean_fraction"] == 0.0
    flipped = NoiseEstimate(0.4, 0.0, 1 - good.positive_rank)
    assert detection_figures([flipped, flipped], clean, tau=0.4)["detect_auc_text"] == 0.0


def test_memory_selection_drops_noisier_positives_than_it_keeps(synthetic, hashing_encoder):
    model = train(
        synthetic.data,
        TrainConfig(epochs=4, seed=0, selection="memory", warmup_epochs=2, forget_rate=0.2),
        cache=EmbeddingCache(hashing_encoder),
        clean_mask_fn=synthetic.clean_mask_fn,
    )
    hist = [h for h in model.metrics["history"] if h["stage"] == "train"]
    assert "suspect_clean_text" not in hist[0]  # nothing is chosen during the warm-up
    last = hist[-1]
    base = model.metrics["label_clean_fraction"]
    for view in ("text", "relation"):
        # the synthetic labels are 20% flipped: a random choice of suspects would be as clean as the base
        assert last[f"suspect_clean_{view}"] < base - 0.1, (last, base)
        assert last[f"memory_kept_clean_{view}"] > last[f"suspect_clean_{view}"]
    assert last["detect_auc_mean"] > 0.6
    # the pairs kept for the views' losses are cleaner than the batches
    assert last["clean_kept_fraction"] > last["batch_clean_fraction"]


class _Masked:
    """Records what drop_edges takes out (stands in for the relation graph and the history features)."""

    def __init__(self):
        self.pairs: set[tuple[int, int]] = set()

    def mask_interactions(self, job, resume):
        self.pairs = set(zip(job.tolist(), resume.tolist(), strict=True))

    mask_edges = mask_interactions


def test_edge_cleaning_spares_resumes_with_little_history():
    from ml.network.sampling import LabelledPairs

    # resume 0 has one job, resume 1 has four: both views suspect one pair of each
    job, resume = np.array([0, 1, 2, 3, 4]), np.array([0, 1, 1, 1, 1])
    ones = np.ones(5, np.float32)
    pairs = LabelledPairs(job, resume, ones, ones, np.zeros(5, np.int64))
    mem = SelectionMemory(5, decay=0.5)
    for v in SelectionMemory.VIEWS:
        mem.update(v, np.arange(5), np.array([0.1, 0.05, 0.9, 0.8, 0.7]))
    mem.choose(tau=0.4)
    graph, hist = _Masked(), _Masked()
    assert mem.drop_edges(pairs, graph, hist, None)["edges_dropped"] == 2
    assert graph.pairs == hist.pairs == {(0, 0), (1, 1)}
    # with min_jobs=3 the one-job resume keeps its only edge
    assert mem.drop_edges(pairs, graph, hist, None, min_jobs=3)["edges_dropped"] == 1
    assert graph.pairs == hist.pairs == {(1, 1)}
