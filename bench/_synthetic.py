"""Synthetic-set protocol for bench/quality.py (ml.data.synthetic, where the true label of every pair is known).

- Data: ``make_synthetic(..., label_noise=rate, seed=seed)``. For one seed the pairs, their true labels, times
  and order are the same at every noise rate; only the flipped share of observed labels changes.
- Split: by time (``ml.data.splits.time_split``, first ``train_fraction`` of events train). Methods train on the
  training events with their OBSERVED (possibly flipped) labels; peers use the positive-kind events as views,
  the network uses positive and negative kinds.
- Test: each held-out pair is judged by its TRUE label (noise known, so the test is clean).
  * AUC: pooled over all held-out pairs (score vs true label).
  * NDCG@10, MRR, Recall@50: per test resume with >= 1 truly positive held-out pair, ranking all jobs except the
    ones it interacted with in training; relevant = its truly positive held-out jobs. Candidates are shuffled
    (seeded) before ml.metrics' stable sort, so ties break at random.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench._protocol import Split, _history
from ml import metrics as M
from ml.data.splits import time_split

SYN_METRICS = ("auc", "ndcg@10", "mrr", "recall@50")


@dataclass
class SyntheticSplit:
    split: Split  # what methods see (train events, history of positive views); no test cases in it
    cases: list[tuple[int, np.ndarray]]  # (resume index, candidate job indices), shuffled
    relevant: list[np.ndarray]  # per case: bool mask over its candidates (true positive held-out jobs)
    heldout: list[np.ndarray]  # per case: bool mask over its candidates (held-out pairs, for AUC)
    truth: list[np.ndarray]  # per case: true labels over its candidates (used where heldout)
    ranked: np.ndarray  # (n_cases,) bool: case has >= 1 relevant job (enters the ranking metrics)
    n_train_events: int
    n_test_pairs: int
    clean_mask_fn: object = None  # SyntheticData.clean_mask_fn, for the network's clean-kept diagnostics


def synthetic_split(syn, *, train_fraction: float = 0.8, seed: int = 0) -> SyntheticSplit:
    data = syn.data
    train, test = time_split(data, fraction=train_fraction)
    job_index = {j.id: i for i, j in enumerate(data.jobs)}
    resume_index = {r.id: i for i, r in enumerate(data.resumes)}
    pos_train = [e for e in train.interactions if e.strength > 0]
    split = Split(
        data=data,
        train_events=list(train.interactions),
        job_index=job_index,
        resume_index=resume_index,
        history=_history(pos_train, job_index, resume_index),
        clean_history={},
        test_resume=np.zeros(0, dtype=np.int64),
        test_job=np.zeros(0, dtype=np.int64),
        test_cold=np.zeros(0, dtype=bool),
        warm=np.ones(len(data.jobs), dtype=bool),
        meta={"synthetic": True},
    )
    touched: dict[int, set[int]] = {}
    for e in train.interactions:
        touched.setdefault(resume_index[e.resume_id], set()).add(job_index[e.job_id])
    held: dict[int, list[int]] = {}
    for e in test.interactions:
        held.setdefault(resume_index[e.resume_id], []).append(job_index[e.job_id])
    rng = np.random.default_rng(seed)
    cases, relevant, heldout, truth, ranked = [], [], [], [], []
    n_jobs = len(data.jobs)
    for r in sorted(held):
        mask = np.ones(n_jobs, dtype=bool)
        if touched.get(r):
            mask[np.fromiter(touched[r], dtype=np.int64)] = False
        cands = rng.permutation(np.flatnonzero(mask))
        is_held = np.isin(cands, np.asarray(held[r]))
        lab = np.zeros(len(cands), dtype=bool)
        if is_held.any():
            pairs = np.stack([cands[is_held], np.full(int(is_held.sum()), r)], 1)
            lab[is_held] = syn.true_label(pairs)
        cases.append((r, cands))
        heldout.append(is_held)
        truth.append(lab)
        relevant.append(lab & is_held)
        ranked.append(bool((lab & is_held).any()))
    return SyntheticSplit(
        split=split,
        cases=cases,
        relevant=relevant,
        heldout=heldout,
        truth=truth,
        ranked=np.asarray(ranked, dtype=bool),
        n_train_events=len(train.interactions),
        n_test_pairs=len(test.interactions),
        clean_mask_fn=syn.clean_mask_fn,
    )


def evaluate_synthetic(ss: SyntheticSplit, method) -> dict:
    """Pooled AUC over held-out pairs (with its bootstrap over pairs) and per-resume ranking metrics."""
    batch = getattr(method, "score_batch", None)
    if batch is not None:
        scores = batch(ss.split, ss.cases)
    else:
        scores = [method.score(r, c) for r, c in ss.cases]
    pooled_s, pooled_y, per = [], [], {m: [] for m in ("ndcg@10", "mrr", "recall@50")}
    for t, (_r, _c) in enumerate(ss.cases):
        s = np.nan_to_num(np.asarray(scores[t], dtype=np.float64), nan=-np.inf)
        pooled_s.append(s[ss.heldout[t]])
        pooled_y.append(ss.truth[t][ss.heldout[t]])
        if ss.ranked[t]:
            rel = ss.relevant[t]
            per["ndcg@10"].append(M.ndcg_at_k(s, rel, 10))
            per["mrr"].append(M.mrr(s, rel))
            per["recall@50"].append(M.recall_at_k(s, rel, 50))
    ps, py = np.concatenate(pooled_s), np.concatenate(pooled_y).astype(float)
    # a finite stand-in for -inf so rankdata works
    ps = np.where(np.isfinite(ps), ps, np.nanmin(ps[np.isfinite(ps)]) - 1 if np.isfinite(ps).any() else 0.0)
    return {"auc_scores": ps, "auc_labels": py, **{k: np.asarray(v) for k, v in per.items()}}


def auc_ci(scores: np.ndarray, labels: np.ndarray, *, n_boot: int = 1000, seed: int = 0):
    """(auc, low, high): percentile bootstrap over held-out pairs."""
    a = M.auc(scores, labels)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(scores), len(scores))
        v = M.auc(scores[i], labels[i])
        if not np.isnan(v):
            boots.append(v)
    if not boots:
        return a, float("nan"), float("nan")
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return float(a), float(lo), float(hi)
