"""bench/compatibility.py, offline part: versions 1 and 2 on the real task, first-stage retrieval quality of every
(query version, index version) pair, with each drift compensation, a half-backfilled index, and the variants
with and without the stationary head and distillation.

Version 1 trains on the earlier two thirds (by time) of a split's training views, version 2 on all of them; a
document vector is ``MatchingModel.embed_jobs/embed_resumes`` (what the platform stores), the query is the
applicant's resume vector, and the candidates of each test case are ranked by cosine (the first stage alone),
with the metrics of bench/_protocol.py. The projections are fitted as the platform fits them: on a sample of
documents drawn at random and embedded by both versions (jobs for ``linear`` and ``procrustes``: the kind searched;
both kinds for ``linear_both``; resumes for ``mean_shift`` and ``linear_query``: the query kind), each candidate of
``CANDIDATES`` with its own sample size and ridge.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from bench._protocol import evaluate
from ml.compat import compatibility_report, fit_projection, gain_recovered
from ml.data.splits import time_split
from ml.network import TrainConfig, train

METHODS = (
    "none",
    "mean_shift",
    "linear_query",
    "linear",
)  # the table's columns (each fitted as at promotion)
# Every projection the VALIDATION split chooses among: name -> (ml.compat.drift method, documents per kind it is
# fitted on (None: all of them), ridge). The platform's COMPAT_DRIFT_METHOD, COMPAT_FIT_SAMPLE and COMPAT_RIDGE
# are set to the chosen one's. "qdc" is the paper's own: the mean shift over every training query.
CANDIDATES = {
    "none": ("none", 500, 1e-3),
    "mean_shift": ("mean_shift", 500, 1e-3),
    "qdc": ("mean_shift", None, 1e-3),
    "linear_query": ("linear_query", 500, 1e-3),
    "linear": ("linear", 500, 1e-3),
    "linear n2000": ("linear", 2000, 1e-3),
    "linear n2000 ridge1e-4": ("linear", 2000, 1e-4),
    "linear n2000 ridge1e-2": ("linear", 2000, 1e-2),
    "linear n2000 ridge1e-1": ("linear", 2000, 1e-1),
    "linear_both n2000": ("linear_both", 2000, 1e-3),
    "procrustes n2000": ("procrustes", 2000, 1e-3),
}
VARIANTS = {
    # name: (stationary head in both versions, version 2 distilled from version 1)
    "plain": (False, False),
    "head": (True, False),
    "distill": (False, True),
    "head+distill": (True, True),
}
REPORT_METRICS = ("ndcg@10", "recall@50")


class CosineRanker:
    """First stage alone: each case's candidates scored by <query vector, document vector>; a document whose
    vector comes from the new version (``own`` mask) is scored with ``query_own``, the others with ``query``."""

    def __init__(
        self,
        queries: np.ndarray,
        docs: np.ndarray,
        own: np.ndarray | None = None,
        query_own=None,
        docs_own=None,
    ):
        self.queries, self.docs, self.own = queries, docs, own
        self.query_own, self.docs_own = query_own, docs_own

    def score_batch(self, split, cases):
        out = []
        for r, cands in cases:
            s = self.docs[cands] @ self.queries[r]
            if self.own is not None:
                mine = self.own[cands]
                s = np.where(mine, self.docs_own[cands] @ self.query_own[r], s)
            out.append(s)
        return out


def quality(split, ranker) -> dict[str, float]:
    res = evaluate(split, ranker)
    return {m: float(np.mean(res[m])) for m in REPORT_METRICS}


@dataclasses.dataclass
class Version:
    model: object
    jobs: np.ndarray
    resumes: np.ndarray
    seconds: float
    epochs_run: int


def fit_version(data, config: TrainConfig, cache, previous: Version | None = None) -> Version:
    t = time.perf_counter()
    model = train(data, config, cache=cache, previous=previous.model if previous is not None else None)
    if getattr(cache, "path", None) and cache._dirty:
        cache.save()  # a run stopped later restarts with every section already encoded
    hist = model.metrics.get("history", [])
    return Version(
        model,
        np.asarray(model.embed_jobs(data.jobs), np.float32),
        np.asarray(model.embed_resumes(data.resumes), np.float32),
        time.perf_counter() - t,
        sum(1 for h in hist if h.get("stage") == "train"),
    )


def train_versions(
    split, base: TrainConfig, cache, variants, *, log=print
) -> dict[str, tuple[Version, Version]]:
    """Version 1 (earlier two thirds of the training views) and version 2 (all) for each variant; the
    version 1 of a variant with the head is shared by the variants with the head, and likewise without."""
    full = split.train_data()
    early = time_split(full, fraction=2 / 3)[0]
    v1s: dict[bool, Version] = {}
    out = {}
    for name in variants:
        head, distill = VARIANTS[name]
        cfg = dataclasses.replace(base, stationary_head=head)
        if head not in v1s:
            v1s[head] = fit_version(early, cfg, cache)
            log(f"   v1 head={head}: {v1s[head].seconds:.0f}s, {v1s[head].epochs_run} epochs")
        v1 = v1s[head]
        v2 = fit_version(full, cfg, cache, previous=v1 if distill else None)
        log(f"   v2 {name}: {v2.seconds:.0f}s, {v2.epochs_run} epochs")
        out[name] = (v1, v2)
    return out


def projections(v1: Version, v2: Version, seed: int) -> dict:
    """Every candidate projection, each on its own random sample of documents embedded by both versions (as the
    platform draws its sample: the kind searched for the document maps, the query kind otherwise)."""
    out = {}
    for name, (method, n, ridge) in CANDIDATES.items():
        rng = np.random.default_rng(seed)
        j = rng.permutation(len(v1.jobs))[:n]
        r = rng.permutation(len(v1.resumes))[:n]
        if method == "linear_both":
            docs = (np.vstack([v1.jobs[j], v1.resumes[r]]), np.vstack([v2.jobs[j], v2.resumes[r]]))
            out[name] = fit_projection(method, documents=docs, ridge=ridge)
        elif method in ("linear", "procrustes"):
            out[name] = fit_projection(method, documents=(v1.jobs[j], v2.jobs[j]), ridge=ridge)
        else:
            out[name] = fit_projection(method, queries=(v1.resumes[r], v2.resumes[r]), ridge=ridge)
    return out


def evaluate_pair(split, v1: Version, v2: Version, *, seed: int, mixed_method: str) -> dict:
    """Every cell of the compatibility figures for one (version 1, version 2) pair."""
    cells = {
        "old/old": quality(split, CosineRanker(v1.resumes, v1.jobs)),
        "new/new": quality(split, CosineRanker(v2.resumes, v2.jobs)),
    }
    projs = projections(v1, v2, seed)
    for m, p in projs.items():
        cells[f"new/old {m}"] = quality(split, CosineRanker(p.apply(v2.resumes), v1.jobs))
    own = np.zeros(len(v1.jobs), bool)
    own[np.random.default_rng(seed + 1).permutation(len(own))[: len(own) // 2]] = True
    p = projs[mixed_method]
    cells["half backfilled"] = quality(
        split, CosineRanker(p.apply(v2.resumes), v1.jobs, own, v2.resumes, v2.jobs)
    )
    return {"cells": cells, "summary": summarise(cells)}


def summarise(cells: dict) -> dict:
    out = {}
    for m in CANDIDATES:
        key = f"new/old {m}"
        per = {}
        for metric in REPORT_METRICS:
            c = np.array([[cells["old/old"][metric], 0.0], [cells[key][metric], cells["new/new"][metric]]])
            rep = compatibility_report(c)
            per[metric] = {
                "compatible": rep["pairs"][0]["compatible"],
                "gain_recovered": gain_recovered(
                    cells[key][metric], cells["old/old"][metric], cells["new/new"][metric]
                ),
                "am": rep["am"],
            }
        per["ac"] = float(np.mean([per[metric]["compatible"] for metric in REPORT_METRICS]))
        out[m] = per
    return out


def choose_method(val: dict) -> tuple[str, dict]:
    """The projection with the best mean share of the re-index gain recovered on the VALIDATION split (over the
    variants evaluated there and both metrics); ties: the simpler one (the order of METHODS)."""
    scores = {}
    for m in CANDIDATES:
        vals = []
        for res in val.values():
            for metric in REPORT_METRICS:
                g = res["summary"][m][metric]["gain_recovered"]
                vals.append(g if g is not None else 0.0)
        scores[m] = float(np.mean(vals)) if vals else float("-inf")
    names = list(CANDIDATES)
    best = max(names, key=lambda m: (scores[m], -names.index(m)))
    return best, scores


def encoder_upgrade(split, config: TrainConfig, v1: Version, *, distill: bool, out_dir: str, log=print):
    """Version 2': version 2 trained on a MiniLM fine-tuned on the split's training interactions (contrastive)."""
    from ml.compat.encoder import FinetuneConfig, finetune_encoder, interaction_pairs
    from ml.embedding import EmbeddingCache

    full = split.train_data()
    pairs = interaction_pairs(full)
    encoder, record = finetune_encoder(pairs, out_dir, FinetuneConfig(seed=config.seed))
    log(
        f"   encoder fine-tuned: {record['steps']} steps on {record['pairs']} pairs, {record['seconds']:.0f}s, "
        f"loss {record['loss_first']:.3f} -> {record['loss_last']:.3f}"
    )
    t = time.perf_counter()
    cache = EmbeddingCache(encoder)
    v2 = fit_version(full, config, cache, previous=v1 if distill else None)
    record["encoder_version"] = encoder.version
    record["train_seconds"] = time.perf_counter() - t
    return v2, record
