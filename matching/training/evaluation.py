"""Held-out evaluation of a model (or of zero-shot cosine) on a version's held-out slice.

Per job in the held-out slice, the candidate list is the resumes it interacted with in the slice plus
EVAL_RANDOM_NEGATIVES random resumes (seeded); a pair's label follows ml.network: the latest event's polarity
decides, the gain is the strongest event of that polarity. Metrics: NDCG@10 (graded), MRR, Recall@50, GAUC
(per-job AUC, size-weighted) and pooled AUC, all from ml.metrics, averaged over jobs with a relevant resume.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings

from matching.documents import jobs_by_id, resumes_by_id
from matching.encoders import current_encoder
from matching.models import ModelVersion
from matching.section_store import prime_cache_for_training
from matching.training.snapshot import holdout_events
from ml import metrics as M
from ml.embedding import EmbeddingCache, shared_cache
from ml.types import InteractionEvent
from recruiting.models import Resume

METRIC_KEYS = ("ndcg_at_10", "mrr", "recall_at_50", "gauc", "auc")


@dataclass
class EvalSet:
    jobs: list  # JobDoc, one per query
    resumes: list  # ResumeDoc, every candidate that appears
    pairs: np.ndarray  # (m, 2) indices into jobs / resumes
    gains: np.ndarray  # (m,) graded relevance (0 = not relevant)
    query: np.ndarray  # (m,) query index

    @property
    def n_queries(self) -> int:
        return len(self.jobs)


def _pair_labels(events: list[InteractionEvent]) -> dict[tuple[int, int], float]:
    """(job, resume) -> gain, with ml.network's rule: the latest event's polarity decides; gain = the strongest
    event of that polarity (0 for a negative pair)."""
    latest: dict[tuple[int, int], tuple[float, int]] = {}
    best: dict[tuple[int, int, bool], int] = {}
    for ev in events:
        key = (int(ev.job_id), int(ev.resume_id))
        s = ev.strength
        if key not in latest or ev.timestamp >= latest[key][0]:
            latest[key] = (ev.timestamp, s)
        bk = (*key, s > 0)
        best[bk] = max(best.get(bk, 0), abs(s))
    return {k: float(best[(*k, True)]) if s > 0 else 0.0 for k, (_, s) in latest.items()}


def build_eval_set(
    events: list[InteractionEvent],
    resume_pool: np.ndarray,
    *,
    job_docs,
    resume_docs,
    seed: int,
    n_random: int | None = None,
    max_queries: int | None = None,
) -> EvalSet:
    """`job_docs`/`resume_docs`: callables ids -> {id: doc}. Deterministic for a given seed and inputs."""
    n_random = settings.EVAL_RANDOM_NEGATIVES if n_random is None else n_random
    max_queries = settings.EVAL_MAX_QUERIES if max_queries is None else max_queries
    rng = np.random.default_rng(seed)
    labels = _pair_labels(events)
    by_job: dict[int, dict[int, float]] = {}
    for (j, r), g in labels.items():
        by_job.setdefault(j, {})[r] = g
    query_jobs = sorted(j for j, c in by_job.items() if any(g > 0 for g in c.values()))
    if len(query_jobs) > max_queries:
        query_jobs = sorted(rng.choice(query_jobs, size=max_queries, replace=False).tolist())
    jobs = job_docs(query_jobs)
    query_jobs = [j for j in query_jobs if j in jobs]
    pool = np.sort(np.asarray(resume_pool, dtype=np.int64))
    cand_lists: list[dict[int, float]] = []
    for j in query_jobs:
        cands = dict(by_job[j])
        if n_random and len(pool):
            for r in rng.choice(pool, size=min(n_random, len(pool)), replace=False).tolist():
                cands.setdefault(int(r), 0.0)
        cand_lists.append(cands)
    needed = sorted({r for c in cand_lists for r in c})
    resumes = resume_docs(needed)
    r_index = {rid: i for i, rid in enumerate(sorted(resumes))}
    pairs, gains, query = [], [], []
    for qi, cands in enumerate(cand_lists):
        for r, g in sorted(cands.items()):
            if r in r_index:
                pairs.append((qi, r_index[r]))
                gains.append(g)
                query.append(qi)
    return EvalSet(
        jobs=[jobs[j] for j in query_jobs],
        resumes=[resumes[r] for r in sorted(resumes)],
        pairs=np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
        gains=np.asarray(gains, dtype=np.float64),
        query=np.asarray(query, dtype=np.int64),
    )


def evaluate_scores(es: EvalSet, scores: np.ndarray) -> dict[str, float]:
    scores = np.asarray(scores, dtype=np.float64)
    per: dict[str, list[float]] = {"ndcg_at_10": [], "mrr": [], "recall_at_50": []}
    for q in range(es.n_queries):
        m = es.query == q
        s, g = scores[m], es.gains[m]
        if not (g > 0).any():
            continue
        per["ndcg_at_10"].append(M.ndcg_at_k(s, g, 10))
        per["mrr"].append(M.mrr(s, g > 0))
        per["recall_at_50"].append(M.recall_at_k(s, g > 0, 50))
    out = {k: float(np.nanmean(v)) if v else float("nan") for k, v in per.items()}
    y = (es.gains > 0).astype(np.float64)
    out["gauc"] = M.grouped_auc(scores, y, es.query) if len(y) else float("nan")
    out["auc"] = M.auc(scores, y) if len(y) else float("nan")
    out["n_queries"] = len(per["ndcg_at_10"])
    out["n_pairs"] = len(es.gains)
    return out


def model_scores(model, es: EvalSet, *, block: int = 20_000) -> np.ndarray:
    """The model's scores of the held-out pairs; section vectors the embedding worker stored are read, not
    encoded again. ``block`` pairs at a time (a pair's score depends on its two documents only): at 1M
    interactions the 231k pairs name 100k resumes, whose representations at once held ~0.6 GB."""
    if len(es.pairs) == 0:
        return np.zeros(0)
    if getattr(model, "cache", None) is not None:
        prime_cache_for_training(model.cache, es.jobs, es.resumes)
    out = np.empty(len(es.pairs), np.float64)
    for a in range(0, len(out), block):
        out[a : a + block] = model.score_pairs(es.jobs, es.resumes, es.pairs[a : a + block]).total
    return out


def zero_shot_scores(es: EvalSet, encoder=None, cache: EmbeddingCache | None = None) -> np.ndarray:
    """Cosine between encoder vectors of the whole documents (what serving does with no trained model); the
    whole-text vectors come from the stored section vectors where the embedding worker wrote them."""
    if len(es.pairs) == 0:
        return np.zeros(0)
    encoder = encoder or current_encoder()
    if cache is None or cache.version != encoder.version:
        cache = shared_cache(encoder)
    prime_cache_for_training(cache, es.jobs, es.resumes)
    batch = settings.EMBEDDING_BATCH_SIZE
    vj = cache.encode([d.full_text() for d in es.jobs], batch_size=batch)
    vr = cache.encode([d.full_text() for d in es.resumes], batch_size=batch)
    out = np.empty(len(es.pairs), np.float32)
    for a in range(0, len(out), 16384):  # the pairs' gathered rows a block at a time (231k at once: ~0.7 GB)
        p = es.pairs[a : a + 16384]
        out[a : a + len(p)] = np.einsum("ij,ij->i", vj[p[:, 0]], vr[p[:, 1]])
    return out


def clean_metrics(m: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in m.items()}


def eval_set_for_version(version: ModelVersion) -> EvalSet:
    w = version.data_window
    events = holdout_events(w)
    cutoff = datetime.fromisoformat(w["end"])
    pool = np.fromiter(
        Resume.objects.filter(created_at__lte=cutoff).values_list("id", flat=True).iterator(chunk_size=20000),
        dtype=np.int64,
    )
    return build_eval_set(
        events,
        pool,
        job_docs=jobs_by_id,
        resume_docs=resumes_by_id,
        seed=int(w.get("eval_seed", version.version)),
    )
