"""Summaries of bench/quality.py's per-case results: bootstrap intervals, subsets, paired differences."""

from __future__ import annotations

import numpy as np

from bench._protocol import METRICS
from bench._quality_rows import ABSENT, FULL, NO_COTEACH, ORACLE, PEER_ROWS
from bench._synthetic import auc_ci
from ml import metrics as M


def ci(values, boot: int, seed: int = 0) -> list[float]:
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return [float("nan")] * 3
    lo, hi = M.bootstrap_ci(v, n=boot, seed=seed)
    return [float(v.mean()), lo, hi]


def subset_masks(split) -> dict[str, np.ndarray]:
    prof = np.array([bool(split.data.resumes[r].full_text().strip()) for r in split.test_resume], dtype=bool)
    return {
        "all": np.ones(len(split.test_resume), dtype=bool),
        "profile": prof,
        "cold": split.test_cold.copy(),
        "warm": ~split.test_cold,
    }


def summarise_real(per_case: dict, masks: dict, boot: int) -> dict:
    return {
        sub: {m: ci(per_case[m][mask], boot) for m in METRICS} | {"n": int(mask.sum())}
        for sub, mask in masks.items()
    }


def summarise_syn(res: dict, boot: int) -> dict:
    out = {"auc": list(auc_ci(res["auc_scores"], res["auc_labels"], n_boot=min(boot, 300)))}
    for m in ("ndcg@10", "mrr", "recall@50"):
        out[m] = ci(res[m], boot)
    out["n_ranked"] = int(len(res["ndcg@10"]))
    out["n_pairs"] = int(len(res["auc_labels"]))
    return out


def paired_real(per_case: dict, rows: list[str], masks: dict, boot: int) -> dict:
    """Per-applicant paired difference full network - each peer (and the best peer per metric), by level."""
    out = {}
    peers = [k for k in rows if k in PEER_ROWS and k not in ABSENT]
    for level, res in per_case.items():
        if FULL not in res or not peers:
            continue
        lv = {}
        for m in METRICS:
            best = max((p for p in peers if p in res), key=lambda p, m=m: res[p][m].mean())
            vs = {}
            for p in peers:
                if p in res:
                    d = M.paired_difference(res[FULL][m], res[p][m], n=boot, seed=0)
                    vs[p] = {k: d[k] for k in ("mean", "lo", "hi", "p_le_0", "n")}
            by_subset = {}
            for sub, mask in masks.items():
                d = M.paired_difference(res[FULL][m][mask], res[best][m][mask], n=boot, seed=0)
                by_subset[sub] = {k: d[k] for k in ("mean", "lo", "hi", "n")}
            lv[m] = {"best_peer": best, "vs_best": vs[best], "vs_each": vs, "vs_best_by_subset": by_subset}
        out[level] = lv
    return out


def coteaching_real(per_case: dict, boot: int) -> dict:
    """Per level: co-teaching's paired gain (full - both views without it) and the oracle's (oracle - both)."""
    out = {}
    for level, res in per_case.items():
        if FULL not in res or NO_COTEACH not in res:
            continue
        lv = {}
        for m in ("ndcg@10", "recall@50"):
            d = M.paired_difference(res[FULL][m], res[NO_COTEACH][m], n=boot, seed=0)
            lv[m] = {"full_minus_both": {k: d[k] for k in ("mean", "lo", "hi")}}
            if ORACLE in res:
                d = M.paired_difference(res[ORACLE][m], res[NO_COTEACH][m], n=boot, seed=0)
                lv[m]["oracle_minus_both"] = {k: d[k] for k in ("mean", "lo", "hi")}
        out[level] = lv
    return out


def noise_losses(levels: dict, metric_of) -> dict:
    """row -> {rate: value at 0 - value at rate} (positive = lost)."""
    base = levels.get("0.0") or levels.get("0")
    out = {}
    if base is None:
        return out
    for rate, level in levels.items():
        if float(rate) == 0:
            continue
        for key, row in level.items():
            if "metrics" in row and "metrics" in base.get(key, {}):
                out.setdefault(key, {})[rate] = metric_of(base[key]) - metric_of(row)
    return out
