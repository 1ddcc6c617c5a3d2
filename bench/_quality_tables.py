"""The newer tables of bench/quality.py's docs section: co-teaching against the oracle, seeds, tuned peers."""

from __future__ import annotations

import numpy as np

from bench._quality_rows import FULL, NO_COTEACH, ROW_NAMES


def fmt(x, digits=3) -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def _selection(real: dict, level: str, key: str) -> dict:
    return (real["levels"][level].get(key, {}).get("seeds") or [{}])[0].get("selection") or {}


def markdown_coteaching(real: dict) -> list[str]:
    """Co-teaching against both views without it and the oracle, and how clean its selection is."""
    ct = real.get("coteaching", {})
    if not ct:
        return []
    L = [
        "Co-teaching on the real task (NDCG@10, paired 95% bootstrap over applicants). Against the known noise "
        "(moved views; at 0% noise, views under 5 s), last epoch of the first seed: detection AUC = how well the "
        "two views' mean rank of each observed view among random jobs tells genuine from noisy (0.5 = chance; "
        "for both views without co-teaching and for the full network); precision = share of the pairs the views "
        "kept for each other that are genuine, against that share in the batches (what random selection keeps); "
        "named = share of the noisy views that the views left out (each view's, averaged):",
        "",
        "| noise | full - both | oracle - both | gap closed | detection AUC (both / full) | precision kept "
        "| genuine in batches | noisy named |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for level in sorted(ct, key=float):
        d = ct[level]["ndcg@10"]
        f = d["full_minus_both"]
        o = d.get("oracle_minus_both")
        closed = f"{f['mean'] / o['mean']:.0%}" if o and o["mean"] > 0 else "—"
        sel, sel_both = _selection(real, level, FULL), _selection(real, level, NO_COTEACH)
        kept = sel.get("clean_kept_by_epoch") or []
        named = [sel.get(f"noisy_suspected_{v}") for v in ("text", "relation")]
        named = [x for x in named if x is not None]
        L.append(
            f"| {float(level) * 100:.0f}% | {f['mean']:+.4f} [{f['lo']:+.4f}, {f['hi']:+.4f}] | "
            + (f"{o['mean']:+.4f} [{o['lo']:+.4f}, {o['hi']:+.4f}]" if o else "—")
            + f" | {closed} | {fmt(sel_both.get('detect_auc_mean'))} / {fmt(sel.get('detect_auc_mean'))} | "
            f"{fmt(kept[-1]) if kept else '—'} | {fmt(sel.get('clean_in_batches'))} | "
            f"{fmt(float(np.mean(named))) if named else '—'} |"
        )
    L.append("")
    zero = _selection(real, "0.0", FULL) if "0.0" in ct else {}
    if zero.get("clean_in_batches") is not None:
        named = [zero.get(f"noisy_suspected_{v}") for v in ("text", "relation")]
        named = [x for x in named if x is not None]
        L += [
            "The data's own noise (0% row): views under 5 s (View.Duration) are "
            f"{1 - zero['clean_in_batches']:.1%} of the observed pairs in the batches; the views rank them with "
            f"detection AUC {fmt(zero.get('detect_auc_mean'))} against the rest (0.5 = no sign that they are "
            f"noise) and co-teaching left out {fmt(float(np.mean(named))) if named else '—'} of them.",
            "",
        ]
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
