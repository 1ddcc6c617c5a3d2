"""LightGBM LambdaRank over hand features: the learning-to-rank baseline a ranking team would ship.

Features per (applicant, candidate job), all from the split's TRAINING views and the documents:
- ``ml.features.HistoryFeatures`` (19): MiniLM and TF-IDF similarity of the job to the applicant's training jobs
  (max, mean), same company / city / state share, the resume's own TF-IDF and place match, TF-IDF to the BM25-like
  query, history size, log popularity;
- counts of training jobs in the same city, state and at the same company (PlaceHistory);
- BM25 per job field with field-aligned queries (FieldBM25, untuned);
- MiniLM cosine between the resume's whole text and the job's.

Learning without reading the test cases: the model is fitted on the validation split (leave-last-out again inside
the training views): each validation case is a query whose features come from the inner training views, its
held-out job is the one relevant item, and its other candidates are sampled (the top ``HARD`` by the place/BM25
heuristic plus ``RANDOM`` random ones). As shipped rankers do, the model reranks a first stage: each query's top
``FIRST_STAGE`` candidates by that heuristic; the others follow in the heuristic's order. The number of trees is chosen by early stopping on a fifth of the
validation applicants, then the model is refitted on all of them with that many trees. At test time the same
features are computed from the full training views for every candidate.
"""

from __future__ import annotations

import numpy as np

from bench._protocol import Split, build_cases, validation_split
from bench.peers.classic import Peer
from bench.peers.place import JOB_FIELDS, FieldBM25, PlaceHistory
from ml.features import FEATURE_NAMES, HistoryFeatures
from ml.textview import embed_sections

FEATURES = (
    *FEATURE_NAMES,
    "n_same_city",
    "n_same_state",
    "n_same_company",
    *(f"bm25_{f}" for f in JOB_FIELDS),
    "minilm_own",
)
PARAMS = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "lambdarank_truncation_level": 20,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,  # 2 OpenMP threads spin against the other processes on a shared 2-core box
    "verbose": -1,
}
FIRST_STAGE = (
    300  # candidates per query the model reranks (the heuristic's top); the rest follow in its order
)
HARD, RANDOM = 200, 30  # training negatives per validation query: the heuristic's top, and random others
MAX_TREES, PATIENCE = 600, 40
CHUNK_PAIRS = 200_000  # feature rows computed at once when scoring


class HandFeatures:
    """The feature matrix of (resume, candidates) cases, from one split's training views."""

    def __init__(self, split: Split, cache):
        self.split = split
        self.place = PlaceHistory(weights=PlaceHistory.DEFAULT)
        self.place.prepare(split)
        self.bm25 = FieldBM25(weights=FieldBM25.DEFAULT)
        self.bm25.prepare(split)
        jobs, resumes = split.data.jobs, split.data.resumes
        job_sections = embed_sections(jobs, cache)
        self.job_whole = job_sections[:, -1]
        self.resume_whole = embed_sections(resumes, cache)[:, -1]
        pairs = split.train_pairs()
        self.history = HistoryFeatures.build(
            jobs,
            resumes,
            pairs[:, 1],
            pairs[:, 0],
            np.ones(len(pairs), dtype=bool),
            np.zeros(len(pairs), dtype=np.int64),
            job_sections,
            n_folds=1,
        )

    def heuristic(self, r: int, cands: np.ndarray) -> np.ndarray:
        """Place/company counts with the whole-text BM25 as a tie-break (picks the hard training negatives)."""
        place = self.place.components(r, cands)[:3].sum(0)
        return place + 1e-3 * self.bm25.components(r, cands)[-1]

    def matrix(self, cases: list[tuple[int, np.ndarray]]) -> np.ndarray:
        pj = np.concatenate([np.asarray(c, dtype=np.int64) for _, c in cases])
        pr = np.concatenate([np.full(len(c), r, dtype=np.int64) for r, c in cases])
        hist = self.history.pair_features(self.history.jobs, self.split.data.resumes, pj, pr, None)
        place = np.concatenate([self.place.components(r, c)[:3] for r, c in cases], axis=1).T
        bm25 = np.concatenate([self.bm25.components(r, c) for r, c in cases], axis=1).T
        own = np.sum(self.job_whole[pj] * self.resume_whole[pr], axis=1, keepdims=True)
        return np.hstack([hist, place.astype(np.float32), bm25.astype(np.float32), own]).astype(np.float32)


def _groups(feats: HandFeatures, cases, rng: np.random.Generator):
    """Training rows per validation case: its held-out job (label 1) with the heuristic's top and random
    negatives, shuffled (LightGBM keeps input order on ties, so a fixed position would flatter a weak model)."""
    xs, ys, sizes = [], [], []
    for r, cands, pos in cases:
        others = np.delete(np.arange(len(cands)), pos)
        h = feats.heuristic(r, cands[others])
        hard = others[np.argsort(-h, kind="stable")[:HARD]]
        rest = np.setdiff1d(others, hard)
        rand = rng.choice(rest, size=min(RANDOM, len(rest)), replace=False) if len(rest) else rest
        chosen = np.concatenate([[pos], hard, rand]).astype(np.int64)
        y = np.zeros(len(chosen), dtype=np.float32)
        y[0] = 1.0
        order = rng.permutation(len(chosen))
        xs.append((r, cands[chosen[order]]))
        ys.append(y[order])
        sizes.append(len(chosen))
    return feats.matrix(xs), np.concatenate(ys), np.asarray(sizes)


def first_stage(heuristic: np.ndarray, k: int = FIRST_STAGE) -> np.ndarray:
    """Positions of the heuristic's top ``k`` (stable)."""
    return np.argsort(-heuristic, kind="stable")[:k]


def merge_scores(heuristic: np.ndarray, top: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The model's scores for the reranked top; every other candidate below them, in the heuristic's order."""
    out = np.empty(len(heuristic), dtype=np.float64)
    rest = np.ones(len(heuristic), dtype=bool)
    rest[top] = False
    floor = (pred.min() if len(pred) else 0.0) - 1.0
    h = heuristic[rest]
    span = h.max() - h.min() if len(h) else 0.0
    out[rest] = floor - (h.max() - h) / (span + 1e-9) if len(h) else floor
    out[top] = pred
    return out


class LambdaRank(Peer):
    """LightGBM LambdaRank on the hand features; fitted on the validation split only (see the module doc)."""

    name = "LightGBM LambdaRank (hand features)"

    def __init__(self, cache, *, seed: int = 0):
        self.cache = cache
        self.seed = seed
        self.tuned: dict = {}

    def fit(self, split: Split, *, tune: bool = True) -> None:
        import lightgbm as lgb

        rng = np.random.default_rng(self.seed)
        val = validation_split(split)
        cases = build_cases(val)
        x, y, sizes = _groups(HandFeatures(val, self.cache), cases, rng)
        params = {**PARAMS, "seed": self.seed}
        trees = MAX_TREES if tune else 200
        if tune:
            held = rng.random(len(sizes)) < 0.2
            row_held = np.repeat(held, sizes)
            fit_set = lgb.Dataset(x[~row_held], y[~row_held], group=sizes[~held], feature_name=list(FEATURES))
            stop_set = lgb.Dataset(x[row_held], y[row_held], group=sizes[held], reference=fit_set)
            probe = lgb.train(
                params,
                fit_set,
                num_boost_round=MAX_TREES,
                valid_sets=[stop_set],
                callbacks=[lgb.early_stopping(PATIENCE, verbose=False)],
            )
            trees = max(1, probe.best_iteration)
            self.tuned["early_stopping_ndcg@10"] = round(float(probe.best_score["valid_0"]["ndcg@10"]), 4)
        full = lgb.Dataset(x, y, group=sizes, feature_name=list(FEATURES))
        self.booster = lgb.train(params, full, num_boost_round=trees)
        gain = self.booster.feature_importance("gain")
        share = gain / max(gain.sum(), 1e-12)
        self.tuned.update(
            {
                "trees": trees,
                "validation_queries": len(sizes),
                "training_rows": len(y),
                "feature_importance_gain": {
                    f: round(float(s), 4)
                    for f, s in sorted(zip(FEATURES, share, strict=True), key=lambda t: -t[1])
                },
            }
        )
        self.features = HandFeatures(split, self.cache)

    def score_batch(self, split: Split, cases: list[tuple[int, np.ndarray]]) -> list[np.ndarray]:
        """Rerank each case's first-stage top with the model, in chunks of about CHUNK_PAIRS feature rows."""
        heur = [self.features.heuristic(r, c) for r, c in cases]
        tops = [first_stage(h) for h in heur]
        out: list[np.ndarray] = []
        start = 0
        while start < len(cases):
            stop = min(len(cases), start + max(1, CHUNK_PAIRS // FIRST_STAGE))
            chunk = [(r, c[t]) for (r, c), t in zip(cases[start:stop], tops[start:stop], strict=True)]
            pred = self.booster.predict(self.features.matrix(chunk), num_threads=1)
            parts = np.split(np.asarray(pred, dtype=np.float64), np.cumsum([len(c) for _, c in chunk])[:-1])
            out += [merge_scores(heur[i], tops[i], p) for i, p in zip(range(start, stop), parts, strict=True)]
            start = stop
        return out

    def score(self, r: int, cands: np.ndarray) -> np.ndarray:
        return self.score_batch(self.features.split, [(r, cands)])[0]
