"""Tandem (ml.network) rows for bench/quality.py: one wrapper, four TrainConfig flag sets."""

from __future__ import annotations

import numpy as np

TANDEM_ROWS: dict[str, tuple[str, dict]] = {
    "tandem-text": ("Tandem: text view alone", {"use_relation_view": False, "coteaching": False}),
    "tandem-relation": ("Tandem: relation view alone", {"use_text_view": False, "coteaching": False}),
    "tandem-both": ("Tandem: both views, no co-teaching", {"coteaching": False}),
    "tandem-full": ("Tandem: full co-teaching network", {"coteaching": True}),
    # real task only: trained on the noisy split with the moved views deleted (a perfect noise filter)
    "tandem-oracle": ("Tandem: both views, moved views deleted (oracle)", {"coteaching": False}),
}
ORACLE = "tandem-oracle"


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
        self.tuned = {k: v for k, v in cfg.to_dict().items() if k in ("epochs", "forget_rate", "coteaching")}
        self.tuned.update({k: v for k, v in self.flags.items() if k.startswith("use_")})
        self.model = train(
            split.train_data(), cfg, cache=self.cache, progress=self.progress, clean_mask_fn=clean_mask_fn
        )
        self.split = split
        self.train_metrics = {k: v for k, v in self.model.metrics.items() if k != "history"}
        hist = self.model.metrics.get("history", [])
        self.tuned["max_minutes"] = cfg.max_minutes
        self.tuned["epochs_run"] = sum(1 for h in hist if h.get("stage") == "train")
        self.tuned["stopped_early"] = bool(self.model.metrics.get("stopped_early"))

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
