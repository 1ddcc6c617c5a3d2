"""The newer tables of bench/quality.py's docs section: co-teaching against the oracle, seeds, tuned peers."""

from __future__ import annotations

import numpy as np

from bench._quality_rows import FULL, ROW_NAMES


def fmt(x, digits=3) -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def markdown_coteaching(real: dict) -> list[str]:
    """Co-teaching against both views without it and the oracle, and how clean its selection is."""
    ct = real.get("coteaching", {})
    if not ct:
        return []
    L = [
        "Co-teaching on the real task (NDCG@10, paired 95% bootstrap over applicants). Selection precision: the "
        "share of the observed pairs the views kept for each other that are clean (not a moved view; at 0% noise, "
        "not a view under 5 s), last epoch, against that share in the batches (what random selection keeps):",
        "",
        "| noise | full - both | oracle - both | gap closed | selection precision (last epoch) | clean in batches |",
        "|---|---|---|---|---|---|",
    ]
    for level in sorted(ct, key=float):
        d = ct[level]["ndcg@10"]
        f = d["full_minus_both"]
        o = d.get("oracle_minus_both")
        closed = f"{f['mean'] / o['mean']:.0%}" if o and o["mean"] > 0 else "—"
        sel = (real["levels"][level].get(FULL, {}).get("seeds") or [{}])[0].get("selection") or {}
        kept = sel.get("clean_kept_by_epoch") or []
        L.append(
            f"| {float(level) * 100:.0f}% | {f['mean']:+.4f} [{f['lo']:+.4f}, {f['hi']:+.4f}] | "
            + (f"{o['mean']:+.4f} [{o['lo']:+.4f}, {o['hi']:+.4f}]" if o else "—")
            + f" | {closed} | {fmt(kept[-1]) if kept else '—'} | {fmt(sel.get('clean_in_batches'))} |"
        )
    L.append("")
    return L


def markdown_seeds(real: dict) -> list[str]:
    """Each Tandem row's per-seed means (the table's figure is the mean over seeds of per-applicant metrics)."""
    rows = []
    for level in sorted(real.get("levels", {}), key=float):
        for key, row in real["levels"][level].items():
            seeds = row.get("seeds") or []
            if len(seeds) < 2 or "same_as" in row:
                continue
            nd = np.array([s["ndcg@10"] for s in seeds])
            rc = np.array([s["recall@50"] for s in seeds])
            rows.append(
                f"| {ROW_NAMES[key]} | {float(level) * 100:.0f}% | {', '.join(f'{x:.3f}' for x in nd)} | "
                f"{nd.std(ddof=1):.4f} | {nd.max() - nd.min():.4f} | {', '.join(f'{x:.3f}' for x in rc)} | "
                f"{rc.std(ddof=1):.4f} |"
            )
    if not rows:
        return []
    return [
        "Training seeds (each Tandem row's mean over applicants, one value per seed):",
        "",
        "| row | noise | NDCG@10 per seed | sd | range | Recall@50 per seed | sd |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def markdown_peer_tuning(real: dict) -> list[str]:
    """What the tuned peers chose on the validation split, and LambdaRank's feature importances."""
    lv0 = real.get("levels", {}).get("0.0", {})
    L = []
    for key in ("place", "fieldbm25"):
        t = lv0.get(key, {}).get("tuned")
        if t:
            weights = ", ".join(f"{k} {v:g}" for k, v in t.items() if k != "validation_ndcg@10")
            L.append(
                f"- {ROW_NAMES[key]}: weights chosen on the validation split (NDCG@10 there "
                f"{t.get('validation_ndcg@10', float('nan')):.3f}): {weights}."
            )
    t = lv0.get("lambdarank", {}).get("tuned")
    if t:
        top = ", ".join(f"{k} {v:.1%}" for k, v in list(t["feature_importance_gain"].items())[:10])
        L.append(
            f"- {ROW_NAMES['lambdarank']}: {t['trees']} trees (early stopping on a fifth of the "
            f"{t['validation_queries']} validation applicants, then refitted on all), {t['training_rows']} training "
            f"rows; feature importance (share of split gain), top 10: {top}."
        )
    return ["Peers tuned on validation (0% noise):", "", *L, ""] if L else []
