"""Where a training epoch's time goes at a scale, without the database: per-batch cost of the relation view's
two training paths side by side in one process, and the history features in three cell block sizes.

    .venv/bin/python bench/training_probe.py --scale 1 --batches 15 --feature-pairs 30000

The synthetic platform of bench/training_scale.py (10k jobs, 100k resumes, 1M interactions at scale 1) with
random unit section vectors; TrainConfig defaults; history heads off for the batch timings (they time the views).
Prints RSS after each build step, the refresh of the historical states (3 folds), the median batch with
historical states and with L-hop subgraphs (two interleaved rounds, the same batches), and ``pair_features`` on a
random subset of one epoch's pairs with three cell block sizes. A probe, not a verdict: timings
are the machine's at the time (record its load)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch


def _mb(key: str) -> int:
    return int(Path("/proc/self/status").read_text().split(key + ":")[1].split()[0]) // 1024


class RandomUnit:
    version, dim = "probe-random:384", 384

    def __init__(self):
        self.rng = np.random.default_rng(0)

    def encode(self, texts, **kw):
        v = self.rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def main() -> None:
    from ml.data.splits import time_split
    from ml.data.synthetic import make_synthetic
    from ml.embedding import EmbeddingCache
    from ml.network import TrainConfig
    from ml.network import trainer as T
    from ml.network.epochs import EpochRunner
    from ml.network.progress import TrainingLog
    from ml.network.stale import HistoricalStates

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--batches", type=int, default=15, help="batches per path and round")
    ap.add_argument("--feature-pairs", type=int, default=30000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()}", flush=True)
    s = args.scale
    t = time.perf_counter()
    syn = make_synthetic(int(10000 * s), int(100000 * s), int(1000000 * s), seed=0, label_noise=0.2, days=180)
    data, _ = time_split(syn.data, fraction=0.85)
    del syn
    print(f"generate {time.perf_counter() - t:.0f}s rss {_mb('VmRSS')} MB", flush=True)
    cfg, rng, cache, log = (
        TrainConfig(),
        np.random.default_rng(0),
        EmbeddingCache(RandomUnit()),
        TrainingLog(None),
    )
    t = time.perf_counter()
    inputs = T._encode(data, cfg, cache, rng, False, log)
    views = T._build_views(data, cfg, cache, inputs, log)
    g = views.graph
    print(
        f"encode + graph + history {time.perf_counter() - t:.0f}s, {g.n_nodes} nodes, {len(g.edges)} edges, "
        f"rss {_mb('VmRSS')} MB, peak {_mb('VmHWM')} MB",
        flush=True,
    )
    history, views.heads = views.history, {}
    run = EpochRunner(data, cfg, inputs, views, rng, log, time.monotonic(), None, None)
    ep = run._epoch_pairs(0)
    batches = run._batches(ep.pairs.fold)
    print(f"{len(ep.pairs.job)} epoch pairs, {len(batches)} batches", flush=True)
    for m in views.modules():
        m.train()
    times: dict[bool, list[float]] = {True: [], False: []}
    for rnd in range(2):
        for historical in (True, False):
            run.stale = HistoricalStates(g, views.relation, cfg.state_refreshes) if historical else None
            if historical:
                t = time.perf_counter()
                for f in range(g.n_folds):
                    run.stale.states(f, views.node_x, views.node_types)
                print(
                    f"refresh {g.n_folds} folds {time.perf_counter() - t:.1f}s peak {_mb('VmHWM')} MB",
                    flush=True,
                )
            for idx in batches[rnd * args.batches : (rnd + 1) * args.batches]:
                t = time.perf_counter()
                run._step(ep, idx, 1.0, 1.0)
                times[historical].append(time.perf_counter() - t)
    for historical, ts in times.items():
        print(f"historical={historical}: median batch {1000 * np.median(ts):.0f} ms", flush=True)
    sel = np.sort(rng.permutation(len(ep.pairs.job))[: args.feature_pairs])
    for cells in (2048, 8192, 32768):
        t = time.perf_counter()
        p = ep.pairs
        history.pair_features(
            history.jobs, data.resumes, p.job[sel], p.resume[sel], p.fold[sel], max_cells=cells
        )
        print(
            f"pair_features {len(sel)} pairs, max_cells {cells}: {time.perf_counter() - t:.1f}s", flush=True
        )
    print(f"load average {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
