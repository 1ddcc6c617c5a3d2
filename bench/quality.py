"""Quality benchmark (issue #4): Tandem against peers on the real kandij task and on the synthetic set.

    .venv/bin/python bench/quality.py [--data-dir DIR] [--quick] [--rows popularity,bm25,...] [--noise 0,0.2,0.4]

Writes bench/results/quality.json and the "## Quality (bench/quality.py)" section of docs/results.md (only that
section is replaced). The protocol is in bench/_protocol.py (real task) and bench/_synthetic.py (synthetic set);
bench/README.md has the one-line summary. ``--quick`` runs a tiny subset (a few hundred applicants, a small
synthetic set, 1 epoch, no peer tuning) in under two minutes, to check the plumbing, not to read numbers from.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from bench import peers as P  # noqa: E402
from bench._measure import measure  # noqa: E402
from bench._protocol import METRICS, evaluate, leave_last_out, with_label_noise, without_moved_views  # noqa: E402
from bench._results_doc import publish  # noqa: E402
from bench._synthetic import SYN_METRICS, auc_ci, evaluate_synthetic, synthetic_split  # noqa: E402
from bench._tandem import ORACLE, TANDEM_ROWS, TandemRow  # noqa: E402
from ml import metrics as M  # noqa: E402
from ml.data.kandij import load_kandij  # noqa: E402

# the kandij-job-views folder: --data-dir, else $TANDEM_KANDIJ_DIR, else where this machine keeps it
DEFAULT_DATA_DIR = os.environ.get("TANDEM_KANDIJ_DIR", "/work/shared/data/kandij-job-views")
SECTION = "## Quality (bench/quality.py)"
RESULTS_JSON = ROOT / "bench" / "results" / "quality.json"
CACHE_PATH = ROOT / "bench" / "results" / ".cache" / "minilm.npz"

PEER_ROWS = {
    "popularity": "popularity",
    "bm25": "BM25 (bm25s)",
    "minilm": "MiniLM zero-shot",
    "als": "ALS (implicit)",
    "knn": "co-view item-kNN",
    "lightfm": "LightFM (content features)",
}
ALL_ROWS = [*PEER_ROWS, *TANDEM_ROWS]
ROW_NAMES = {**PEER_ROWS, **{k: v[0] for k, v in TANDEM_ROWS.items()}}
ABSENT = {"lightfm": P.LIGHTFM_ABSENT}
FULL, NO_COTEACH = "tandem-full", "tandem-both"
SUBSETS = ("all", "profile", "cold", "warm")
NOISE_SEED = 1234
TANDEM_MINUTES = 2.0  # safety cap per Tandem fit on the real task (synthetic: a quarter); --tandem-minutes
QUICK_TANDEM_MINUTES = 0.1
QUICK_APPLICANTS = 200
QUICK_SYNTHETIC = dict(n_jobs=80, n_resumes=200, n_interactions=800)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data-dir",
        default=DEFAULT_DATA_DIR,
        help="kandij-job-views folder, read in place (default: $TANDEM_KANDIJ_DIR or /work/shared/data/kandij-job-views)",
    )
    ap.add_argument("--quick", action="store_true", help="tiny subset, < 2 minutes (plumbing check)")
    ap.add_argument("--rows", default=",".join(ALL_ROWS), help=f"comma list of rows: {','.join(ALL_ROWS)}")
    ap.add_argument("--noise", default="0,0.2,0.4", help="training-label noise rates; 0 must be one of them")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--no-synthetic", action="store_true")
    ap.add_argument("--out", default=str(RESULTS_JSON))
    ap.add_argument("--no-docs", action="store_true", help="do not touch docs/results.md")
    ap.add_argument(
        "--epochs", type=int, default=None, help="override TrainConfig.epochs for the Tandem rows"
    )
    ap.add_argument(
        "--tandem-minutes",
        type=float,
        default=None,
        help="cap on each Tandem fit on the real task (TrainConfig.max_minutes; synthetic gets a quarter); "
        f"default {TANDEM_MINUTES} so that the full run stays within 20 minutes on 2 cores; 0 = no cap",
    )
    return ap.parse_args(argv)


# ------------------------------------------------------------------------------------------------ data
def quick_applicants(data_dir: str, n: int = QUICK_APPLICANTS) -> set[str]:
    """Deterministic small sample of applicants (by hash of the id) for --quick."""
    import csv

    ids = set()
    with open(Path(data_dir) / "Job_Views.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            ids.add(row["Applicant.ID"])
    return set(sorted(ids, key=lambda a: hashlib.sha256(a.encode()).hexdigest())[:n])


def get_cache():
    from ml.embedding import EmbeddingCache, get_encoder

    CACHE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return EmbeddingCache(get_encoder(), path=str(CACHE_PATH))


def make_row(key: str, cache, args, bar, *, synthetic: bool = False):
    if key == "popularity":
        return P.Popularity()
    if key == "bm25":
        return P.BM25()
    if key == "minilm":
        return P.MiniLMZeroShot(cache)
    if key == "als":
        return P.ALS(seed=args.seed)
    if key == "knn":
        return P.ItemKNN()
    if key in TANDEM_ROWS:
        overrides = {}
        if args.epochs is not None:
            overrides["epochs"] = args.epochs
        elif args.quick:
            overrides["epochs"] = 1
        default = QUICK_TANDEM_MINUTES if args.quick else TANDEM_MINUTES
        minutes = default if args.tandem_minutes is None else args.tandem_minutes
        if minutes:
            overrides["max_minutes"] = minutes / 4 if synthetic else minutes

        def progress(p, key=key):
            if p.stage == "train":
                bar.set_postfix_str(f"{key} epoch {p.epoch}/{p.epochs} kept {p.kept_fraction:.2f}")

        return TandemRow(key, cache, seed=args.seed, overrides=overrides, progress=progress)
    raise KeyError(key)


def _fit(row, split, clean_mask_fn=None, *, tune: bool = True):
    if isinstance(row, TandemRow):
        row.fit(split, clean_mask_fn=clean_mask_fn)
    elif isinstance(row, P.BM25 | P.MiniLMZeroShot | P.ALS):
        row.fit(split, tune=tune)  # light tuning on the validation split (skipped in --quick)
    else:
        row.fit(split)


# ------------------------------------------------------------------------------------------------ summaries
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


def fmt(x, digits=3) -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def fmt_ci(t) -> str:
    return f"{fmt(t[0])} [{fmt(t[1])}, {fmt(t[2])}]"


def _cpu(row: dict) -> str:
    return f" ({row['fit_cpu_seconds']:.0f})" if "fit_cpu_seconds" in row else ""


def fmt_signed(x) -> str:
    return "—" if x is None or np.isnan(x) else f"{x:+.3f}"


# ------------------------------------------------------------------------------------------------ runs
def run_real(args, rows, cache, noise_levels, bar) -> dict:
    data = load_kandij(args.data_dir, applicants=quick_applicants(args.data_dir) if args.quick else None)
    clean = leave_last_out(data)
    masks = subset_masks(clean)
    out = {
        "n_applicants": len(data.resumes),
        "n_jobs": len(data.jobs),
        "n_views": len(data.interactions),
        "n_test": int(len(clean.test_resume)),
        "n_test_cold": int(clean.test_cold.sum()),
        "n_test_warm": int((~clean.test_cold).sum()),
        "n_test_profile": int(masks["profile"].sum()),
        "n_cold_jobs": int((~clean.warm).sum()),
        "n_warm_jobs": int(clean.warm.sum()),
        "n_train_views": len(clean.train_events),
        "levels": {},
    }
    per_case: dict[str, dict[str, dict]] = {}
    for rate in noise_levels:
        split = with_label_noise(clean, rate, seed=NOISE_SEED)
        level = {}
        for key in rows:
            bar.set_description(f"real {int(rate * 100)}% {key}")
            if key in ABSENT:
                level[key] = {"absent": ABSENT[key]}
                bar.update(1)
                continue
            if key == ORACLE and rate == 0 and NO_COTEACH in level:
                # nothing moved: the oracle is the no-co-teaching row (same split, config and seed)
                level[key] = {**level[NO_COTEACH], "same_as": NO_COTEACH}
                per_case.setdefault(str(rate), {})[key] = per_case[str(rate)][NO_COTEACH]
                bar.update(1)
                continue
            row = make_row(key, cache, args, bar)
            fit_split = without_moved_views(split) if key == ORACLE else split
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with measure() as fit_m:
                    _fit(row, fit_split, tune=not args.quick)
                with measure() as score_m:
                    res = evaluate(fit_split, row)
            per_case.setdefault(str(rate), {})[key] = res
            level[key] = {
                "metrics": summarise_real(res, masks, args.boot),
                "fit_seconds": fit_m.seconds,
                "fit_cpu_seconds": fit_m.cpu_seconds,
                "fit_peak_mb": fit_m.peak_mb,
                "score_seconds": score_m.seconds,
                "score_cpu_seconds": score_m.cpu_seconds,
                "score_peak_mb": score_m.peak_mb,
                "mean_ties": float(res["ties"].mean()),
                "tuned": getattr(row, "tuned", {}),
                "train_metrics": getattr(row, "train_metrics", {}),
            }
            if hasattr(cache, "save") and cache.path:
                cache.save()
            bar.update(1)
        out["levels"][str(rate)] = level
    out["paired"] = paired_real(per_case, rows, masks, args.boot)
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


def run_synthetic(args, rows, cache, noise_levels, bar) -> dict:
    from ml.data.synthetic import make_synthetic

    size = dict(QUICK_SYNTHETIC) if args.quick else {}
    out = {"levels": {}, "size": ", ".join(f"{k}={v}" for k, v in size.items()) or "make_synthetic defaults"}
    for rate in noise_levels:
        syn = make_synthetic(**size, label_noise=rate, seed=args.seed)
        ss = synthetic_split(syn, seed=args.seed)
        out.setdefault("n_train_events", ss.n_train_events)
        out.setdefault("n_test_pairs", ss.n_test_pairs)
        out.setdefault("n_ranked_resumes", int(ss.ranked.sum()))
        level = {}
        for key in rows:
            bar.set_description(f"synthetic {int(rate * 100)}% {key}")
            if key in ABSENT or key == ORACLE:
                level[key] = {"absent": ABSENT.get(key, "real task only (synthetic noise flips labels)")}
                bar.update(1)
                continue
            row = make_row(key, cache, args, bar, synthetic=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with measure() as fit_m:
                    _fit(row, ss.split, clean_mask_fn=ss.clean_mask_fn, tune=not args.quick)
                with measure() as score_m:
                    res = evaluate_synthetic(ss, row)
            level[key] = {
                "metrics": summarise_syn(res, args.boot),
                "fit_seconds": fit_m.seconds,
                "fit_cpu_seconds": fit_m.cpu_seconds,
                "fit_peak_mb": fit_m.peak_mb,
                "score_seconds": score_m.seconds,
                "tuned": getattr(row, "tuned", {}),
                "train_metrics": getattr(row, "train_metrics", {}),
            }
            bar.update(1)
        out["levels"][str(rate)] = level
    return out


# ------------------------------------------------------------------------------------------------ noise + verdicts
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


def verdicts(result: dict) -> list[str]:
    lines = []
    real = result.get("real", {})
    paired = real.get("paired", {}).get("0.0", {})
    for m in ("ndcg@10", "recall@50"):
        if m not in paired:
            lines.append(
                f"GOAL full network beats every peer on real {m} (all): NOT EVALUATED (rows missing)"
            )
            continue
        worst = min(paired[m]["vs_each"].items(), key=lambda kv: kv[1]["lo"])
        met = all(v["lo"] > 0 for v in paired[m]["vs_each"].values())
        b = paired[m]["vs_best"]
        lines.append(
            f"GOAL full network beats every peer on real {m} (all applicants, paired 95% CI excludes 0): "
            f"{'MET' if met else 'NOT MET'} — vs best peer {ROW_NAMES[paired[m]['best_peer']]}: "
            f"{b['mean']:+.4f} [{b['lo']:+.4f}, {b['hi']:+.4f}]; weakest margin vs {ROW_NAMES[worst[0]]} "
            f"(CI low {worst[1]['lo']:+.4f})"
        )
    for name, losses, _label in (
        ("real NDCG@10", result.get("noise_loss", {}).get("real_ndcg@10", {}), "real"),
        ("synthetic AUC", result.get("noise_loss", {}).get("synthetic_auc", {}), "synthetic"),
        ("synthetic NDCG@10", result.get("noise_loss", {}).get("synthetic_ndcg@10", {}), "synthetic"),
    ):
        lf, lb = losses.get(FULL, {}).get("0.4"), losses.get(NO_COTEACH, {}).get("0.4")
        if lf is None or lb is None:
            lines.append(f"GOAL at 40% noise full loses <= half of no-co-teaching ({name}): NOT EVALUATED")
            continue
        met = lf <= 0.5 * lb
        note = "" if lb > 0 else " (no-co-teaching lost nothing, so the bar is a gain)"
        lines.append(
            f"GOAL at 40% noise full network loses <= half of what no-co-teaching loses ({name}): "
            f"{'MET' if met else 'NOT MET'} — full lost {lf:+.4f}, no-co-teaching lost {lb:+.4f}{note}"
        )
    real_losses = result.get("noise_loss", {}).get("real_ndcg@10", {})
    lo, lb = real_losses.get(ORACLE, {}).get("0.4"), real_losses.get(NO_COTEACH, {}).get("0.4")
    if lo is not None and lb is not None:
        lines.append(
            f"CEILING at 40% noise (real NDCG@10): with every moved view deleted (a perfect noise filter) both views "
            f"still lose {lo:+.4f} (the moved views' true jobs are gone); half of no-co-teaching's loss is "
            f"{0.5 * lb:+.4f}, so the goal is {'within' if lo <= 0.5 * lb else 'beyond'} what any filter can reach"
        )
    return lines


# ------------------------------------------------------------------------------------------------ report
def _run_scope(meta: dict) -> str:
    """'full run', or 'subset run' when --rows/--noise narrowed it (verdicts then cover only those rows)."""
    narrowed = any(flag in meta["command"] for flag in ("--rows", "--noise"))
    return "**subset run** (verdicts compare only the rows run here)" if narrowed else "full run"


def markdown(result: dict) -> str:
    """The "## Quality" section of docs/results.md: run line, real-task tables, synthetic table, verdicts."""
    meta, real, syn = result["meta"], result.get("real"), result.get("synthetic")
    L = [SECTION, ""]
    L.append(
        f"Run {meta['finished']} on {meta['machine']} ({meta['cpus']} cores), "
        f"{'**--quick** (plumbing check, numbers not meaningful)' if meta['quick'] else _run_scope(meta)}, "
        f"{meta['total_seconds'] / 60:.1f} min wall"
        + (f" ({meta['total_cpu_seconds'] / 60:.1f} min CPU)" if "total_cpu_seconds" in meta else "")
        + f". Command: `{meta['command'].strip()}`. JSON: `bench/results/quality.json`."
    )
    L.append("")
    L.append(time_split_line(result))
    L.append("")
    if real:
        L += _markdown_real(real)
        L += _markdown_real_paired(real)
        L += _markdown_real_noise(real, result)
    if syn:
        L += _markdown_synthetic(syn, result)
    L += _markdown_tandem_runs(meta, real)
    L.append("**Verdicts**")
    L.append("")
    for v in result["verdicts"]:
        L.append(f"- {v}")
    L.append("")
    L.append(f"Absent row — LightFM (content features): {P.LIGHTFM_ABSENT}")
    L.append("")
    L.append(
        f"Timing: wall clock of fit (incl. any tuning on the validation split) and of scoring all test cases. "
        f"Memory: {meta['memory_method']}."
    )
    L.append("")
    return "\n".join(L)


def _markdown_real(real: dict) -> list[str]:
    """The real task's description and its table at 0% noise."""
    L = [
        f"**Real task (kandij job views, leave-last-new-job-out).** {real['n_applicants']} applicants, "
        f"{real['n_jobs']} jobs, {real['n_views']} views; {real['n_test']} test applicants "
        f"({real['n_test_cold']} with a cold test job ranked among {real['n_cold_jobs']} cold jobs, "
        f"{real['n_test_warm']} warm ranked among the {real['n_warm_jobs']} warm jobs minus their own; "
        f"{real['n_test_profile']} with a profile). Mean over applicants, 95% bootstrap interval; "
        "ties broken at random (exact expectation). Noise: that share of training views moved to random warm "
        "jobs (seeded), test cases unchanged.",
        "",
    ]
    lv0 = real["levels"].get("0.0", {})
    L.append(
        "| row | NDCG@10 (all) | Recall@10 | Recall@50 | MRR | NDCG@10 profile | NDCG@10 cold | NDCG@10 warm "
        "| fit s (CPU s) | fit peak MB | score s |"
    )
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for key, row in lv0.items():
        if "absent" in row:
            L.append(
                f"| {ROW_NAMES[key]} | absent: does not build here (see below) |  |  |  |  |  |  |  |  |  |"
            )
            continue
        a = row["metrics"]
        L.append(
            f"| {ROW_NAMES[key]} | {fmt_ci(a['all']['ndcg@10'])} | {fmt_ci(a['all']['recall@10'])} | "
            f"{fmt_ci(a['all']['recall@50'])} | {fmt_ci(a['all']['mrr'])} | {fmt(a['profile']['ndcg@10'][0])} | "
            f"{fmt(a['cold']['ndcg@10'][0])} | {fmt(a['warm']['ndcg@10'][0])} | {row['fit_seconds']:.1f}"
            f"{_cpu(row)} | "
            f"{row['fit_peak_mb']:.0f} | {row['score_seconds']:.1f} |"
        )
    L.append("")
    return L


def _markdown_real_paired(real: dict) -> list[str]:
    """Full network minus the best peer, per metric and subset, at 0% noise."""
    p0 = real.get("paired", {}).get("0.0")
    if not p0:
        return []
    L = [
        "Paired per-applicant difference, full network minus the best peer on that metric (95% bootstrap):",
        "",
        "| metric | best peer | all | profile | cold | warm |",
        "|---|---|---|---|---|---|",
    ]
    for m in METRICS:
        d = p0[m]["vs_best_by_subset"]
        cells = " | ".join(f"{d[s]['mean']:+.4f} [{d[s]['lo']:+.4f}, {d[s]['hi']:+.4f}]" for s in SUBSETS)
        L.append(f"| {m} | {ROW_NAMES[p0[m]['best_peer']]} | {cells} |")
    L.append("")
    return L


def _markdown_real_noise(real: dict, result: dict) -> list[str]:
    """Each row's NDCG@10 and Recall@50 at every noise rate, and what it lost against 0%."""
    rates = sorted(real["levels"], key=float)
    if len(rates) <= 1:
        return []
    L = [
        "Noise on the real task (all applicants): value at each noise rate and its change vs 0% (negative = lost):",
        "",
    ]
    head = " | ".join(f"NDCG@10 {int(float(r) * 100)}%" for r in rates)
    head2 = " | ".join(f"R@50 {int(float(r) * 100)}%" for r in rates)
    loss = " | ".join(f"ΔNDCG@10 {int(float(r) * 100)}% vs 0%" for r in rates if float(r) > 0)
    L.append(f"| row | {head} | {loss} | {head2} |")
    L.append("|---|" + "---|" * (2 * len(rates) + len(rates) - 1))
    lv0 = real["levels"].get("0.0", {})
    for key in lv0:
        if "absent" in lv0[key]:
            continue
        vals = [real["levels"][r].get(key, {}).get("metrics", {}).get("all", {}) for r in rates]
        nd = " | ".join(fmt(v.get("ndcg@10", [np.nan])[0]) for v in vals)
        rc = " | ".join(fmt(v.get("recall@50", [np.nan])[0]) for v in vals)
        ls = " | ".join(
            fmt_signed(-result["noise_loss"]["real_ndcg@10"].get(key, {}).get(r, np.nan))
            for r in rates
            if float(r) > 0
        )
        L.append(f"| {ROW_NAMES[key]} | {nd} | {ls} | {rc} |")
    L.append("")
    return L


def _markdown_synthetic(syn: dict, result: dict) -> list[str]:
    """The synthetic set's description and one table: 0% with intervals, then each noise rate and its loss."""
    rates = sorted(syn["levels"], key=float)
    L = [
        f"**Synthetic set (ml.data.synthetic, {syn['size']}; time split 80/20).** Methods train on observed labels "
        f"(flipped at the noise rate); held-out pairs are judged by their TRUE label. AUC pooled over "
        f"{syn['n_test_pairs']} held-out pairs; NDCG@10, MRR, Recall@50 per resume over all jobs it did not touch "
        f"in training ({syn['n_ranked_resumes']} resumes with a truly positive held-out job). 95% bootstrap.",
        "",
    ]
    noisy = [r for r in rates if float(r) > 0]
    pct = {r: f"{int(float(r) * 100)}%" for r in rates}
    extra = [f"AUC {pct[r]}" for r in noisy] + [f"NDCG@10 {pct[r]}" for r in noisy]
    extra += [f"ΔAUC {pct[r]}" for r in noisy] + [f"ΔNDCG@10 {pct[r]}" for r in noisy]
    head = ["row", "AUC 0% [95% CI]", "NDCG@10 0% [95% CI]", "MRR 0%", "Recall@50 0%", *extra, "fit s (0%)"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    lv0 = syn["levels"][rates[0]]
    nl = result.get("noise_loss", {})
    for key, row in lv0.items():
        if "absent" in row:
            L.append(f"| {ROW_NAMES[key]} | absent |" + " |" * (len(head) - 2))
            continue
        a = row["metrics"]
        cells = [fmt(syn["levels"][r][key]["metrics"]["auc"][0]) for r in noisy]
        cells += [fmt(syn["levels"][r][key]["metrics"]["ndcg@10"][0]) for r in noisy]
        cells += [fmt_signed(-nl.get("synthetic_auc", {}).get(key, {}).get(r, np.nan)) for r in noisy]
        cells += [fmt_signed(-nl.get("synthetic_ndcg@10", {}).get(key, {}).get(r, np.nan)) for r in noisy]
        L.append(
            f"| {ROW_NAMES[key]} | {fmt_ci(a['auc'])} | {fmt_ci(a['ndcg@10'])} | {fmt(a['mrr'][0])} | "
            f"{fmt(a['recall@50'][0])} | " + " | ".join(cells) + f" | {row['fit_seconds']:.1f} |"
        )
    L += ["", "Δ = value at that noise rate minus the value at 0% (negative = lost).", ""]
    return L


def _markdown_tandem_runs(meta: dict, real: dict | None) -> list[str]:
    """How the Tandem rows were configured and capped, and how many epochs each fit completed."""
    cap = meta.get("tandem_max_minutes_real")
    if not (real and any(k in TANDEM_ROWS for k in meta["rows"])):
        return []
    runs = []
    for r in sorted(real["levels"], key=float):
        for k in TANDEM_ROWS:
            t = real["levels"][r].get(k, {}).get("tuned", {})
            if t:
                runs.append(f"{k} {int(float(r) * 100)}%: {t.get('epochs_run')}/{t.get('epochs')}")
    return [
        "Tandem rows: `ml.network.train` with TrainConfig defaults plus the row's view/co-teaching flags, "
        + (
            f"each fit capped at {cap:g} min wall clock on the real task and {cap / 4:g} min on the synthetic "
            "set (TrainConfig.max_minutes, a safety net for the 20-minute budget: a fit that hit it shows fewer "
            "epochs than configured below). "
            if cap
            else "no time cap. "
        )
        + "Epochs completed on the real task: "
        + "; ".join(runs)
        + ".",
        "",
    ]


def time_split_line(result: dict) -> str:
    """Where the wall time went: peers vs Tandem fit vs Tandem scoring, real vs synthetic."""
    parts = {"peers (fit+score)": 0.0, "Tandem fit": 0.0, "Tandem scoring": 0.0}
    syn = 0.0
    for name in ("real", "synthetic"):
        for level in result.get(name, {}).get("levels", {}).values():
            for key, row in level.items():
                if "fit_seconds" not in row or "same_as" in row:  # a copied row ran no time of its own
                    continue
                t = row["fit_seconds"] + row.get("score_seconds", 0.0)
                if name == "synthetic":
                    syn += t
                elif key in TANDEM_ROWS:
                    parts["Tandem fit"] += row["fit_seconds"]
                    parts["Tandem scoring"] += row.get("score_seconds", 0.0)
                else:
                    parts["peers (fit+score)"] += t
    total = result["meta"]["total_seconds"]
    items = [f"{k} {v / 60:.1f} min" for k, v in parts.items()] + [f"synthetic set {syn / 60:.1f} min"]
    rest = total - sum(parts.values()) - syn
    items.append(f"loading, encoding, bootstrap {rest / 60:.1f} min")
    over = " — OVER the 20-minute budget" if total > 1200 and not result["meta"]["quick"] else ""
    return f"Wall time {total / 60:.1f} min{over}: " + ", ".join(items) + "."


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and np.isnan(x):
        return None
    return x


def main(argv=None) -> dict:
    args = parse_args(argv)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ALL_ROWS]
    if unknown:
        raise SystemExit(f"unknown rows: {unknown}; known: {ALL_ROWS}")
    noise_levels = [float(x) for x in args.noise.split(",")]
    if 0.0 not in noise_levels:
        noise_levels = [0.0, *noise_levels]
    if args.quick and args.noise == "0,0.2,0.4":
        noise_levels = [0.0, 0.4]
    t0, c0 = time.perf_counter(), time.process_time()
    needs_cache = any(r == "minilm" or r in TANDEM_ROWS for r in rows)
    cache = get_cache() if needs_cache else None
    steps = len(rows) * len(noise_levels) * (1 if args.no_synthetic else 2)
    result: dict = {}
    with tqdm(total=steps, desc="quality", unit="row") as bar:
        result["real"] = run_real(args, rows, cache, noise_levels, bar)
        if not args.no_synthetic:
            result["synthetic"] = run_synthetic(args, rows, cache, noise_levels, bar)
    if cache is not None and cache.path:
        cache.save()
    result["noise_loss"] = {
        "real_ndcg@10": noise_losses(result["real"]["levels"], lambda r: r["metrics"]["all"]["ndcg@10"][0]),
        "real_recall@50": noise_losses(
            result["real"]["levels"], lambda r: r["metrics"]["all"]["recall@50"][0]
        ),
    }
    if "synthetic" in result:
        for m in SYN_METRICS:
            result["noise_loss"][f"synthetic_{m}"] = noise_losses(
                result["synthetic"]["levels"], lambda r, m=m: r["metrics"][m][0]
            )
    from bench._measure import measure as _m

    with _m() as probe:
        pass
    result["meta"] = {
        "command": "bench/quality.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick,
        "rows": rows,
        "noise_levels": noise_levels,
        "noise_seed": NOISE_SEED,
        "seed": args.seed,
        "bootstrap": args.boot,
        "data_dir": args.data_dir,
        "machine": platform.machine() + " " + platform.system(),
        "cpus": os.cpu_count(),
        "memory_method": probe.method,
        "tandem_max_minutes_real": (
            (QUICK_TANDEM_MINUTES if args.quick else TANDEM_MINUTES)
            if args.tandem_minutes is None
            else args.tandem_minutes
        ),
        "tandem_epochs_override": args.epochs,
        "absent": {ROW_NAMES[k]: v for k, v in ABSENT.items() if k in rows},
        "total_seconds": time.perf_counter() - t0,
        "total_cpu_seconds": time.process_time() - c0,
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    result["verdicts"] = verdicts(result)
    md = None if args.no_docs else markdown(result)
    publish(result, Path(args.out), jsonable=_jsonable, markdown=md, heading=SECTION)
    return result


if __name__ == "__main__":
    main()
