"""Tandem (ml.network) rows for bench/quality.py: one wrapper, a TrainConfig flag set per row.

Every row trains with ``TrainConfig`` defaults plus its flags (the full network: the defaults, no flag at all, so
that it measures what the platform trains and serves); the defaults were chosen on the validation split carved
from training (``bench/quality.py --validation``), never on the test cases.
"""

from __future__ import annotations

import numpy as np

from ml.textview import embed_sections

_FULL: dict = {}  # TrainConfig defaults: co-teaching on, TrainConfig.selection
TANDEM_ROWS: dict[str, tuple[str, dict]] = {
    "tandem-text": ("Tandem: text view alone", {"use_relation_view": False, "coteaching": False}),
    "tandem-relation": ("Tandem: relation view alone", {"use_text_view": False, "coteaching": False}),
    "tandem-both": ("Tandem: both views, no co-teaching", {"coteaching": False}),
    "tandem-full": ("Tandem: full co-teaching network", _FULL),
    # real task only: trained on the noisy split with the moved views deleted (a perfect noise filter)
    "tandem-oracle": ("Tandem: both views, moved views deleted (oracle)", {"coteaching": False}),
    # ablations (real task only; the seeds command runs them)
    # (each the full network's flags plus one change)
    "tandem-noshort": ("Tandem: full network, views under 5 s left out", {**_FULL}),
    "tandem-alpha0": (
        "Tandem: full network, softened negatives off (alpha 0)",
        {**_FULL, "label_smoothing_alpha": 0.0},
    ),
    "tandem-peeronly": (
        "Tandem: full network, peer-level section alignment only",
        {**_FULL, "cross_level": False},
    ),
    # the two selection rules side by side (--validation: where TrainConfig.selection is chosen)
    "tandem-batch": ("Tandem: full network, per-batch small-loss selection", {**_FULL, "selection": "batch"}),
    "tandem-memory": ("Tandem: full network, memory selection", {**_FULL, "selection": "memory"}),
    # co-teaching also cleans the inputs: the pairs both views suspect leave the graph and the histories
    "tandem-cleanedges": ("Tandem: full network, suspected edges cleaned", {**_FULL, "clean_edges": True}),
    "tandem-cleanedges3": (
        "Tandem: full network, suspected edges cleaned (resumes with >= 3 jobs)",
        {**_FULL, "clean_edges": True, "clean_edges_min_jobs": 3},
    ),
    "tandem-cleanedges5": (
        "Tandem: full network, suspected edges cleaned (resumes with >= 5 jobs)",
        {**_FULL, "clean_edges": True, "clean_edges_min_jobs": 5},
    ),
    # forget rate from the bottom 10% of the ranks (TrainConfig.noise_quantile; less of the views' own errors)
    "tandem-q10": (
        "Tandem: full network, noise estimate from the bottom 10%",
        {**_FULL, "noise_quantile": 0.1},
    ),
    "tandem-cleanedges3-q10": (
        "Tandem: full network, suspected edges cleaned (>= 3 jobs), noise estimate from the bottom 10%",
        {**_FULL, "clean_edges": True, "clean_edges_min_jobs": 3, "noise_quantile": 0.1},
    ),
    "tandem-cleanedges3-decay": (
        "Tandem: full network, suspected edges cleaned (>= 3 jobs), memory_decay 0.8",
        {**_FULL, "clean_edges": True, "clean_edges_min_jobs": 3, "memory_decay": 0.8},
    ),
    # diagnostics: the truth (moved views) names the suspects, used in the losses only / also for the edges
    "tandem-knownsel": ("Tandem: known-noise selection (diagnostic)", {**_FULL, "selection": "known"}),
    "tandem-knownedges": (
        "Tandem: known-noise selection and edges (diagnostic)",
        {**_FULL, "selection": "known", "clean_edges": True},
    ),
}
ORACLE = "tandem-oracle"
NO_SHORT = "tandem-noshort"
REAL_ONLY = (
    ORACLE,
    NO_SHORT,
    "tandem-alpha0",
    "tandem-peeronly",
    "tandem-batch",
    "tandem-memory",
    "tandem-cleanedges",
    "tandem-knownsel",
    "tandem-knownedges",
    "tandem-cleanedges3",
    "tandem-cleanedges5",
    "tandem-q10",
    "tandem-cleanedges3-q10",
    "tandem-cleanedges3-decay",
)
SHORT_VIEW_SECONDS = 5.0
# last-epoch figures of the selection against the known noise (ml/network/coteaching.py), kept per fit
SELECTION_KEYS = (
    "detect_auc_text",
    "detect_auc_relation",
    "detect_auc_mean",
    "lowest_clean_fraction",
    "forget_rate_positive",
    "suspect_clean_text",
    "suspect_clean_relation",
    "noisy_suspected_text",
    "noisy_suspected_relation",
    "edges_dropped",
    "dropped_clean_fraction",
)


class TandemRow:
    """Trains ``ml.network.train`` on the split's TRAINING interactions only; ranks by ``PairScores.total``."""

    def __init__(self, key: str, cache, *, seed: int = 0, overrides: dict | None = None, progress=None):
        self.key = key
        self.name, self.flags = TANDEM_ROWS[key]
        self.cache = cache
        self.seed = seed
        self.overrides = dict(overrides or {})
        self.progress = progress
        self.tuned: dict = {}

    def config(self):
        from ml.network import TrainConfig

        return TrainConfig(**{**self.flags, **self.overrides, "seed": self.seed})

    def fit(self, split, *, clean_mask_fn=None) -> None:
        from ml.network import train

        cfg = self.config()
        data = split.train_data()
        # encode first: the time cap (max_minutes) bounds the epochs, never a cold MiniLM cache
        embed_sections(data.jobs, self.cache)
        embed_sections(data.resumes, self.cache)
        self.tuned = {k: v for k, v in cfg.to_dict().items() if k in ("epochs", "forget_rate", "coteaching")}
        self.tuned.update({k: v for k, v in self.flags.items() if k.startswith("use_")})
        self.model = train(data, cfg, cache=self.cache, progress=self.progress, clean_mask_fn=clean_mask_fn)
        self.split = split
        self.train_metrics = {k: v for k, v in self.model.metrics.items() if k != "history"}
        hist = self.model.metrics.get("history", [])
        epochs = [h for h in hist if h.get("stage") == "train"]
        self.tuned["max_minutes"] = cfg.max_minutes
        self.tuned["epochs_run"] = len(epochs)
        self.tuned["stopped_early"] = bool(self.model.metrics.get("stopped_early"))
        kept = [h.get("clean_kept_fraction") for h in epochs if h.get("clean_kept_fraction") is not None]
        base = [h.get("batch_clean_fraction") for h in epochs if h.get("batch_clean_fraction") is not None]
        if kept and base:
            self.train_metrics["selection"] = {
                "clean_kept_by_epoch": kept,
                "clean_in_batches": float(np.mean(base)),
                **{k: epochs[-1][k] for k in SELECTION_KEYS if epochs[-1].get(k) is not None},
            }

    def score_batch(self, split, cases: list[tuple[int, np.ndarray]]) -> list[np.ndarray]:
        """All cases in ONE score_pairs call (the model's per-call overhead is re-embedding every document)."""
        if not cases:
            return []
        pairs = np.concatenate(
            [
                np.stack([np.asarray(c, dtype=np.int64), np.full(len(c), r, dtype=np.int64)], 1)
                for r, c in cases
            ]
        )
        total = self.model.score_pairs(split.data.jobs, split.data.resumes, pairs).total
        ends = np.cumsum([len(c) for _, c in cases])
        return np.split(np.asarray(total, dtype=np.float64), ends[:-1])

    def score(self, r: int, cands: np.ndarray) -> np.ndarray:
        return self.score_batch(self.split, [(r, cands)])[0]


# ------------------------------------------------------------------------------------------------ known noise
def moved_pairs_mask_fn(split):
    """clean_mask_fn for the real task: an observed pair is NOT clean when it came from a moved view (and no
    genuine view of the same pair remains). None on a split without moved views."""
    moved = set(split.meta.get("moved_events", ()))
    if not moved:
        return None
    ji, ri = split.job_index, split.resume_index
    moved_pairs, genuine = set(), set()
    for k, e in enumerate(split.train_events):
        (moved_pairs if k in moved else genuine).add((ji[e.job_id], ri[e.resume_id]))
    bad = moved_pairs - genuine
    return _mask_fn(bad)


def short_view_pairs(split, seconds: float = SHORT_VIEW_SECONDS) -> set[tuple[int, int]]:
    """(job index, resume index) training pairs whose every view lasted under ``seconds`` (View.Duration known).
    Durations are read from the data's ``meta["view_seconds"]`` (per interaction of ``data.interactions``)."""
    durations = split.data.meta.get("view_seconds") or []
    longest: dict[tuple[str, str], float] = {}
    for e, d in zip(split.data.interactions, durations, strict=False):
        key = (e.job_id, e.resume_id)
        longest[key] = max(longest.get(key, -1.0), float("inf") if d is None else float(d))
    ji, ri = split.job_index, split.resume_index
    train = {(e.job_id, e.resume_id) for e in split.train_events}
    return {(ji[j], ri[r]) for (j, r) in train if 0 <= longest.get((j, r), float("inf")) < seconds}


def short_view_mask_fn(split):
    """clean_mask_fn marking short-view pairs as 'not clean' (to count how often co-teaching keeps them)."""
    return _mask_fn(short_view_pairs(split))


def without_short_views(split):
    """The split with the training views of short-view pairs left out (test cases unchanged)."""
    from bench._protocol import _with_events

    short = short_view_pairs(split)
    ji, ri = split.job_index, split.resume_index
    events = [e for e in split.train_events if (ji[e.job_id], ri[e.resume_id]) not in short]
    return _with_events(split, events, short_views_removed=len(split.train_events) - len(events))


def _mask_fn(bad: set[tuple[int, int]]):
    def fn(pairs: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return np.array([(int(j), int(r)) not in bad for j, r in pairs], dtype=bool)

    return fn
