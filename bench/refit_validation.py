"""Where ``TrainConfig.refit_epochs`` is chosen: the final refit warm-started from the measured model vs from scratch.

    .venv/bin/python bench/refit_validation.py                  # seeds 0,1,2; warm refits of 1, 2, 3 and 5 epochs
    .venv/bin/python bench/refit_validation.py --seeds 0 --warm 2,3

The platform measures a candidate on the newest 15% of its window, then (TRAINING_FINAL_REFIT) trains it again
with that slice before it serves. The same shape inside the kandij validation split (carved from training; the
test cases never enter): leave-last-out on the training views gives the validation case per applicant (the
newest view), and leave-last-out once more gives the "measured" model's training views (each applicant's
second-newest view held out, as the platform holds out its newest interactions). Rows, all scored on the
validation cases:

- measured: trained on the inner views (all ``epochs``), served without a refit;
- scratch refit: trained on every validation-training view from a random start (all ``epochs``);
- warm refit k: the same views, ``k`` epochs from the measured model's weights (``train(init=...)``).

Writes bench/results/refit_validation.json and its section of docs/results.md.
"""

from __future__ import annotations

import argparse
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

from bench._protocol import METRICS, evaluate, leave_last_out, validation_split  # noqa: E402
from bench._results_doc import publish  # noqa: E402
from bench._tandem import TandemRow  # noqa: E402

OUT = ROOT / "bench" / "results" / "refit_validation.json"
SECTION = "## Final refit: warm start vs from scratch (bench/refit_validation.py, validation split)"
DATA_DIR = ROOT.parent / "shared" / "data" / "kandij-job-views"
# a warm refit counts as reaching the scratch refit's quality within this much NDCG@10 (mean over seeds)
TOLERANCE = 0.005


class _Fitted(TandemRow):
    """The full network's row with a model trained here (``init`` and ``epochs`` set per row)."""

    def fit_with(self, split, *, epochs: int | None = None, init: dict | None = None) -> float:
        from ml.network import train

        cfg = self.config()
        if epochs is not None:
            cfg.epochs = epochs
        t = time.monotonic()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model = train(split.train_data(), cfg, cache=self.cache, init=init)
        self.split = split
        return time.monotonic() - t


def _scored(row: _Fitted, split) -> dict:
    res = evaluate(split, row)
    return {m: float(np.mean(res[m])) for m in METRICS}


def run(seeds: list[int], warm: list[int], cache) -> dict:
    from ml.data.kandij import load_kandij
    from ml.network import warm_start_weights

    data = load_kandij(str(DATA_DIR))
    val = validation_split(leave_last_out(data))  # the validation cases: never the test cases
    inner = validation_split(
        val
    )  # the measured model's views: each applicant's newest training view held out
    out = {"n_validation_cases": int(len(val.test_resume)), "n_train_views": len(val.train_events)}
    out["n_inner_train_views"] = len(inner.train_events)
    rows: dict[str, list[dict]] = {}
    for seed in seeds:
        measured = _Fitted("tandem-full", cache, seed=seed)
        secs = measured.fit_with(inner)
        measured.split = val  # scored on the validation cases, as served without a refit
        rows.setdefault("measured", []).append({"seed": seed, "seconds": secs, **_scored(measured, val)})
        init = warm_start_weights(measured.model.to_state())
        scratch = _Fitted("tandem-full", cache, seed=seed)
        secs = scratch.fit_with(val)
        rows.setdefault("scratch", []).append({"seed": seed, "seconds": secs, **_scored(scratch, val)})
        for k in warm:
            row = _Fitted("tandem-full", cache, seed=seed)
            secs = row.fit_with(val, epochs=k, init=init)
            rows.setdefault(f"warm{k}", []).append({"seed": seed, "seconds": secs, **_scored(row, val)})
            print(f"seed {seed} warm {k}: ndcg@10 {rows[f'warm{k}'][-1]['ndcg@10']:.4f}", flush=True)
        print(
            f"seed {seed}: measured {rows['measured'][-1]['ndcg@10']:.4f} "
            f"scratch {rows['scratch'][-1]['ndcg@10']:.4f}",
            flush=True,
        )
    out["rows"] = rows
    out["summary"] = {
        k: {
            **{m: float(np.mean([r[m] for r in v])) for m in (*METRICS, "seconds")},
            "ndcg@10_spread": float(np.ptp([r["ndcg@10"] for r in v])),
        }
        for k, v in rows.items()
    }
    return out


def verdicts(res: dict, warm: list[int]) -> list[str]:
    s = res["summary"]
    base = s["scratch"]["ndcg@10"]
    lines = []
    for k in warm:
        w = s[f"warm{k}"]
        ok = w["ndcg@10"] >= base - TOLERANCE
        lines.append(
            f"GOAL a warm refit of {k} epochs within {TOLERANCE} NDCG@10 of the scratch refit (validation split, "
            f"mean of {len(res['rows']['scratch'])} seeds): {w['ndcg@10']:.4f} vs {base:.4f} "
            f"(fit {w['seconds']:.0f} s vs {s['scratch']['seconds']:.0f} s): {'MET' if ok else 'NOT MET'}"
        )
    return lines


def markdown(result: dict) -> str:
    res, meta = result["result"], result["meta"]
    lines = [
        SECTION,
        "",
        "Written by `bench/refit_validation.py` (raw figures: `bench/results/refit_validation.json`): the kandij "
        "views, validation split carved from training (the test cases never enter). The measured model trains "
        "without each applicant's newest training view; the refits train with it; every row is scored on the "
        f"validation cases ({res['n_validation_cases']} applicants). Seeds {meta['seeds']}; load average "
        f"{meta['load_average_start'][0]:.2f} -> {meta['load_average_end'][0]:.2f}; {meta['finished']}.",
        "",
        "| row | NDCG@10 | spread over seeds | Recall@10 | Recall@50 | MRR | fit s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"measured": "measured model, no refit", "scratch": "refit from scratch (all epochs)"}
    for key, s in res["summary"].items():
        name = names.get(key, f"warm refit, {key[4:]} epochs")
        lines.append(
            f"| {name} | {s['ndcg@10']:.4f} | {s['ndcg@10_spread']:.4f} | {s['recall@10']:.4f} | "
            f"{s['recall@50']:.4f} | {s['mrr']:.4f} | {s['seconds']:.0f} |"
        )
    lines += ["", *[f"- {v}" for v in result["verdicts"]], ""]
    if meta.get("notes"):
        lines += [meta["notes"], ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--warm", default="1,2,3,5", help="warm refit epochs to try")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    warm = [int(k) for k in args.warm.split(",")]
    from bench.quality import get_cache

    cache = get_cache()
    t0, load0 = time.monotonic(), os.getloadavg()
    res = run(seeds, warm, cache)
    if cache.path:
        cache.save()
    result = {
        "result": res,
        "meta": {
            "command": " ".join(["bench/refit_validation.py", *sys.argv[1:]]),
            "seeds": seeds,
            "warm_epochs": warm,
            "machine": f"{platform.machine()} {platform.system()}",
            "cpus": os.cpu_count(),
            "load_average_start": list(load0),
            "load_average_end": list(os.getloadavg()),
            "total_seconds": time.monotonic() - t0,
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        },
    }
    result["verdicts"] = verdicts(res, warm)
    publish(
        result,
        args.out,
        jsonable=lambda r: r,
        markdown=None if args.no_docs else markdown(result),
        heading=SECTION,
    )


if __name__ == "__main__":
    main()
