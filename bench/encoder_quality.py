"""The quality benchmark's Tandem rows with the float encoder and the INT8 path side by side, in one run.

    .venv/bin/python bench/encoder_quality.py [--rows tandem-full] [--seeds 0,1,2] [--epochs 10] [--quick]

The real kandij task of ``bench/quality.py`` (same split, protocol and rows), at noise 0: each row is trained
and scored once per seed with the section vectors of raw sentence-transformers (``TANDEM_ENCODER=minilm``) and
once with those of the ONNX INT8 path (``minilm-onnx-int8``), each encoder with its own cache file. The
epochs are fixed (no wall-clock cap), so machine load cannot give one encoder more training than the other.
The goal reads the per-applicant paired difference INT8 - float of NDCG@10, averaged over the seeds.
Writes bench/results/encoder_quality.json; ``bench/encoder_speed.py`` reports it in the "Encoder speed" section.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import quality as Q  # noqa: E402  (sets the offline environment first)
from bench._protocol import METRICS, leave_last_out  # noqa: E402
from bench._quality_stats import subset_masks, summarise_real  # noqa: E402
from ml import metrics as M  # noqa: E402
from ml.data.kandij import load_kandij  # noqa: E402

OUT = ROOT / "bench" / "results" / "encoder_quality.json"
ENCODERS = ("minilm", "minilm-onnx-int8")
TOLERANCE = 0.005  # the bound on |NDCG@10(INT8) - NDCG@10(float)|


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default="tandem-full")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=10, help="fixed for both encoders (TrainConfig default)")
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="a few hundred applicants, 1 epoch: plumbing only")
    ap.add_argument("--out", type=Path, default=OUT)
    own = ap.parse_args(argv)
    rows = [r.strip() for r in own.rows.split(",") if r.strip()]
    qargs = ["--no-synthetic", "--noise", "0", "--rows", own.rows, "--seeds", own.seeds, "--no-docs"]
    qargs += ["--epochs", str(1 if own.quick else own.epochs), "--tandem-minutes", "0"]
    args = Q.parse_args(qargs + (["--quick"] if own.quick else []))
    t0, load_start = time.perf_counter(), list(os.getloadavg())
    data = load_kandij(args.data_dir, applicants=Q.quick_applicants(args.data_dir) if args.quick else None)
    split = leave_last_out(data)
    masks = subset_masks(split)
    per_case: dict[str, dict[str, dict]] = {}
    result: dict = {"rows": {}, "n_test": int(len(split.test_resume))}
    with Q.tqdm(total=len(rows) * len(ENCODERS), desc="encoder quality", unit="row") as bar:
        for name in ENCODERS:
            cache = Q.get_cache(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for key in rows:
                    res, info = Q._real_row(key, split, args, cache, bar)
                    per_case.setdefault(key, {})[name] = res
                    info["metrics"] = summarise_real(res, masks, args.boot)
                    result["rows"].setdefault(key, {})[name] = {"encoder_version": cache.version, **info}
                    bar.update(1)
            cache.save()
    result["paired"] = {
        key: {
            m: {
                k: v
                for k, v in M.paired_difference(
                    enc[ENCODERS[1]][m], enc[ENCODERS[0]][m], n=args.boot, seed=0
                ).items()
                if k in ("mean", "lo", "hi", "n")
            }
            for m in METRICS
        }
        for key, enc in per_case.items()
    }
    result["meta"] = {
        "command": "bench/encoder_quality.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick,
        "seeds": args.seed_list,
        "epochs": args.epochs,
        "load_average_start": load_start,
        "load_average_end": list(os.getloadavg()),
        "total_seconds": time.perf_counter() - t0,
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    result["verdicts"] = verdicts(result)
    Q.publish(result, own.out, jsonable=Q._jsonable, markdown=None, heading="")
    return result


def verdicts(r: dict) -> list[str]:
    out = []
    for key, enc in r["rows"].items():
        f, q = (enc[name]["metrics"]["all"]["ndcg@10"][0] for name in ENCODERS)
        d = r["paired"][key]["ndcg@10"]
        seeds = (
            ", ".join(
                f"seed {a['seed']}: {a['ndcg@10']:.4f} vs {b['ndcg@10']:.4f}"
                for a, b in zip(
                    enc[ENCODERS[0]].get("seeds", []), enc[ENCODERS[1]].get("seeds", []), strict=True
                )
            )
            or "no training"
        )
        ok = abs(d["mean"]) <= TOLERANCE
        out.append(
            f"GOAL {key} NDCG@10 with the INT8 encoder within {TOLERANCE} of the float encoder: float {f:.4f}, "
            f"INT8 {q:.4f}, paired INT8 - float {d['mean']:+.4f} [{d['lo']:+.4f}, {d['hi']:+.4f}] over "
            f"{len(r['meta']['seeds'])} seed(s) ({seeds}; load {r['meta']['load_average_end'][0]:.1f}): "
            f"{'MET' if ok else 'NOT MET'}"
        )
    return out


if __name__ == "__main__":
    main()
