"""Ranking and classification metrics (numpy only) plus bootstrap confidence intervals.

Per-query functions take ``scores`` (n,) for the n candidates of one query and ``relevant``: either a collection
of relevant candidate indices, a boolean mask (n,), or graded relevance (n,) floats (>0 = relevant; NDCG uses the
grades as gains). Ties in scores keep candidate order (stable sort on -score).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from scipy.stats import rankdata


def _relevance(relevant, n: int) -> np.ndarray:
    """bool mask (n,) -> 0/1; float array (n,) -> grades; anything else (incl. int arrays) -> indices."""
    if isinstance(relevant, np.ndarray) and relevant.dtype == bool:
        return relevant.astype(np.float64)
    if (
        isinstance(relevant, np.ndarray)
        and np.issubdtype(relevant.dtype, np.floating)
        and relevant.shape == (n,)
    ):
        return relevant.astype(np.float64)
    rel = np.zeros(n, dtype=np.float64)
    idx = np.fromiter((int(i) for i in relevant), dtype=np.int64)
    rel[idx] = 1.0
    return rel


def _order(scores) -> np.ndarray:
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def auc(scores: Sequence[float], labels: Sequence[float]) -> float:
    """ROC-AUC (Mann-Whitney with average ranks for ties). NaN when one class is missing."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels) > 0.5
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ndcg_at_k(scores: Sequence[float], relevant, k: int = 10) -> float:
    """NDCG@k with gains = relevance grades (binary: 1). NaN when nothing is relevant."""
    s = np.asarray(scores, dtype=np.float64)
    rel = _relevance(relevant, len(s))
    if rel.sum() <= 0:
        return float("nan")
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    top = rel[_order(s)[:k]]
    ideal = np.sort(rel)[::-1][:k]
    return float((top * disc[: len(top)]).sum() / (ideal * disc[: len(ideal)]).sum())


def mrr(scores: Sequence[float], relevant) -> float:
    """Reciprocal rank of the first relevant candidate. NaN when nothing is relevant."""
    s = np.asarray(scores, dtype=np.float64)
    rel = _relevance(relevant, len(s)) > 0
    if not rel.any():
        return float("nan")
    ranks = np.flatnonzero(rel[_order(s)])
    return float(1.0 / (ranks[0] + 1))


def recall_at_k(scores: Sequence[float], relevant, k: int = 10) -> float:
    """Fraction of relevant candidates in the top k. NaN when nothing is relevant."""
    s = np.asarray(scores, dtype=np.float64)
    rel = _relevance(relevant, len(s)) > 0
    if not rel.any():
        return float("nan")
    return float(rel[_order(s)[:k]].sum() / rel.sum())


def grouped_auc(scores: Sequence[float], labels: Sequence[float], groups: Sequence) -> float:
    """GAUC: per-group AUC weighted by group size, over groups that have both classes."""
    s, y, g = np.asarray(scores), np.asarray(labels), np.asarray(groups)
    tot, wsum = 0.0, 0
    for key in np.unique(g):
        m = g == key
        a = auc(s[m], y[m])
        if not np.isnan(a):
            tot += a * m.sum()
            wsum += int(m.sum())
    return float(tot / wsum) if wsum else float("nan")


def bootstrap_ci(
    values: Iterable[float],
    n: int = 1000,
    seed: int = 0,
    *,
    level: float = 0.95,
    stat: Callable[[np.ndarray], float] = np.mean,
) -> tuple[float, float]:
    """Percentile bootstrap CI of ``stat`` over per-query ``values`` (NaNs dropped)."""
    v = np.asarray(list(values), dtype=np.float64)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(v), size=(n, len(v)))
    boots = np.array([stat(v[i]) for i in idx])
    a = (1 - level) / 2
    return (float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a)))


def paired_difference(
    a: Iterable[float], b: Iterable[float], n: int = 1000, seed: int = 0, level: float = 0.95
) -> dict:
    """Paired comparison of per-query metrics a vs b (same queries, same order; pairs with a NaN dropped).

    Returns mean difference a-b, its bootstrap CI, the fraction of bootstrap means <= 0 (a one-sided
    bootstrap p-value for "a > b"), and the number of pairs used.
    """
    x = np.asarray(list(a), dtype=np.float64)
    y = np.asarray(list(b), dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError("paired_difference: a and b must have the same length")
    m = ~(np.isnan(x) | np.isnan(y))
    d = x[m] - y[m]
    if len(d) == 0:
        return {"mean": float("nan"), "lo": float("nan"), "hi": float("nan"), "p_le_0": float("nan"), "n": 0}
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), size=(n, len(d)))].mean(1)
    al = (1 - level) / 2
    return {
        "mean": float(d.mean()),
        "lo": float(np.quantile(boots, al)),
        "hi": float(np.quantile(boots, 1 - al)),
        "p_le_0": float((boots <= 0).mean()),
        "n": int(len(d)),
    }
