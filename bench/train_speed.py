"""Micro-benchmark of ml.network.train: seconds per epoch and held-out quality, old vs new side by side.

    .venv/bin/python bench/train_speed.py --sizes 10000,100000 --baseline HEAD

Data: ml.data.synthetic at the platform's proportions (1 job : 10 resumes : 100 interactions), time split 80/20.
Embeddings are pre-computed (HashingEncoder, cached) so encoding is not measured. ``--baseline REV`` also trains
the ml/ package of git revision REV (extracted to a temp dir, imported as ``ml_base``) in the same process on
the same data; an epoch cut short by ``--base-minutes`` is extrapolated from its optimiser steps.
Quality: AUC and per-job NDCG@10 of held-out pairs against the synthetic ground truth; zero-shot cosine too.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.data.splits import time_split  # noqa: E402
from ml.data.synthetic import make_synthetic  # noqa: E402
from ml.embedding import EmbeddingCache, HashingEncoder  # noqa: E402
from ml.metrics import auc, ndcg_at_k  # noqa: E402
from ml.textview import embed_sections  # noqa: E402


def load_baseline(rev: str):
    d = Path(tempfile.mkdtemp(prefix="ml_base_"))
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "ml"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(d)], input=tar, check=True)
    (d / "ml").rename(d / "ml_base")
    sys.path.insert(0, str(d))
    import ml.embedding
    import ml.types

    # share the record types and the embedding cache with the new code (isinstance checks, one cache)
    sys.modules["ml_base.types"] = ml.types
    sys.modules["ml_base.embedding"] = ml.embedding
    return importlib.import_module("ml_base.network")


class StepCounter:
    """Counts optimiser steps (both versions use AdamW) to extrapolate an epoch cut short by max_minutes."""

    def __init__(self):
        self.n = 0
        self._orig = torch.optim.AdamW.step

    def __enter__(self):
        counter = self

        def step(opt, *a, **k):
            counter.n += 1
            return counter._orig(opt, *a, **k)

        torch.optim.AdamW.step = step
        return self

    def __exit__(self, *exc):
        torch.optim.AdamW.step = self._orig


def index_pairs(data, events) -> np.ndarray:
    ji = {j.id: i for i, j in enumerate(data.jobs)}
    ri = {r.id: i for i, r in enumerate(data.resumes)}
    return np.array([(ji[e.job_id], ri[e.resume_id]) for e in events], dtype=np.int64).reshape(-1, 2)


def quality(scores: np.ndarray, pairs: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    nd = []
    for j in np.unique(pairs[:, 0]):
        m = pairs[:, 0] == j
        if truth[m].any() and (~truth[m]).any():
            nd.append(ndcg_at_k(scores[m], truth[m], 10))
    return auc(scores, truth), float(np.mean(nd)) if nd else float("nan")


def run_one(net, name, train_data, test_data, pairs, truth, cache, config_kw, n_steps_epoch=None):
    cfg = net.TrainConfig(**config_kw)
    stamps = []
    t0 = time.perf_counter()

    def progress(p):
        if p.stage == "graph":
            stamps.append(("graph", time.perf_counter()))
        if p.stage == "train":
            stamps.append(("epoch", time.perf_counter()))

    with StepCounter() as sc:
        model = net.train(train_data, cfg, cache=cache, progress=progress)
    t_total = time.perf_counter() - t0
    t_graph = stamps[0][1] - t0
    ep = [t for k, t in stamps if k == "epoch"]
    t_train = ep[-1] - stamps[0][1]
    stopped = bool(model.metrics.get("stopped_early"))
    full_epochs = len(ep) - (1 if stopped else 0)
    if n_steps_epoch and (stopped or full_epochs == 0):
        sec_epoch = t_train / max(sc.n, 1) * n_steps_epoch
    else:
        sec_epoch = float(np.median(np.diff([stamps[0][1], *ep])))
    t1 = time.perf_counter()
    s = model.score_pairs(test_data.jobs, test_data.resumes, pairs)
    t_score = time.perf_counter() - t1
    a, nd = quality(s.total, pairs, truth)
    ar, _ = quality(s.relation, pairs, truth) if not np.isnan(s.relation).any() else (float("nan"), 0)
    at, _ = quality(s.text, pairs, truth) if not np.isnan(s.text).any() else (float("nan"), 0)
    return {
        "variant": name,
        "epochs_run": len(ep),
        "steps": sc.n,
        "steps_per_epoch": sc.n / max(len(ep), 1) if not stopped else None,
        "stopped_early": stopped,
        "graph_s": t_graph,
        "s_per_epoch": sec_epoch,
        "train_total_s": t_total,
        "score_s": t_score,
        "auc": a,
        "ndcg10": nd,
        "auc_text": at,
        "auc_rel": ar,
    }


def parse_overrides(pairs: list[str]) -> dict:
    """``--set k=v`` values: None, an int, a float, or else the string."""
    extra = {}
    for kv in pairs:
        k, v = kv.split("=", 1)
        extra[k] = None if v == "None" else int(v) if v.lstrip("-").isdigit() else v
        if isinstance(extra[k], str):
            try:
                extra[k] = float(v)
            except ValueError:
                pass
    return extra


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="interaction counts")
    ap.add_argument("--baseline", default=None, help="git revision of ml/ to compare with (e.g. HEAD)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs for both (default: each one's default)")
    ap.add_argument("--base-minutes", type=float, default=2.0, help="max_minutes for the baseline")
    ap.add_argument("--new-minutes", type=float, default=None, help="max_minutes for the new code")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], help="extra TrainConfig k=v for the new code")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import ml.network as new

    variants = [("new", new)]
    if args.baseline:
        variants.insert(0, (f"base({args.baseline})", load_baseline(args.baseline)))
    extra = parse_overrides(args.set)
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        syn = make_synthetic(max(10, n // 100), max(10, n // 10), n, label_noise=0.2, seed=0)
        train_data, test_data = time_split(syn.data, fraction=0.8)
        cache = EmbeddingCache(HashingEncoder())
        embed_sections(syn.data.jobs, cache)
        embed_sections(syn.data.resumes, cache)
        pairs = index_pairs(test_data, test_data.interactions)
        truth = syn.true_label(pairs)
        ej = cache.encode([test_data.jobs[j].full_text() for j in pairs[:, 0]])
        er = cache.encode([test_data.resumes[r].full_text() for r in pairs[:, 1]])
        ca, cn = quality((ej * er).sum(1), pairs, truth)
        print(
            f"n={n}: {len(train_data.interactions)} train / {len(pairs)} test; cosine AUC {ca:.3f} NDCG {cn:.3f}"
        )
        agg = new.aggregate_interactions(train_data)
        cfg0 = new.TrainConfig()
        per_epoch = len(agg.job) + cfg0.negatives_per_positive * int((agg.label > 0.5).sum())
        for name, net in variants[::-1]:
            bs = net.TrainConfig().batch_size
            steps_epoch = (
                per_epoch / bs + cfg0.n_folds / 2
            )  # new first: its step count extrapolates a capped baseline epoch
            kw = {} if args.epochs is None else {"epochs": args.epochs}
            if name == "new":
                kw.update(extra)
                if args.new_minutes:
                    kw["max_minutes"] = args.new_minutes
            else:
                kw["max_minutes"] = args.base_minutes
                kw["epochs"] = kw.get("epochs", 2 if n <= 10000 else 1)
            r = run_one(net, name, train_data, test_data, pairs, truth, cache, kw, steps_epoch)
            r["n"] = n
            rows.append(r)
            print(
                f"  {name:>14}: graph {r['graph_s']:.1f}s, {r['s_per_epoch']:.1f} s/epoch "
                f"({r['epochs_run']} epochs{', capped' if r['stopped_early'] else ''}, {r['steps']} steps), "
                f"score {r['score_s']:.1f}s | AUC {r['auc']:.3f} (text {r['auc_text']:.3f}, rel {r['auc_rel']:.3f})"
                f" NDCG@10 {r['ndcg10']:.3f}",
                flush=True,
            )
    return rows


if __name__ == "__main__":
    main()
