"""Training pairs: observed interactions aggregated to one label per pair, and the negatives drawn each epoch.

Labels: the latest event of a (job, resume) pair decides (positive kind -> 1, negative kind -> 0); the pair's
strength is the max |strength| of events of that polarity. Unlabelled pairs are sampled as negatives, both
other resumes for a positive's job and other jobs for a positive's resume (the ranking task ranks jobs for a
resume), so the model learns both directions.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..types import MatchingData
from .config import TrainConfig

# what an epoch's pair is (``EpochPairs.kind``); co-teaching measures noise against the uniform negatives
OBSERVED, RESUME_NEGATIVE, JOB_NEGATIVE, HARD_JOB_NEGATIVE = 0, 1, 2, 3


@dataclass
class LabelledPairs:
    """One row per observed (job, resume) pair, as parallel arrays."""

    job: np.ndarray  # index into data.jobs
    resume: np.ndarray
    label: np.ndarray  # 0/1 float32
    strength: np.ndarray  # |strength|
    fold: np.ndarray


@dataclass
class EpochPairs:
    """One epoch's training pairs: every observed pair, then this epoch's sampled negatives."""

    job: np.ndarray
    resume: np.ndarray
    label: np.ndarray
    fold: np.ndarray
    observed: np.ndarray  # index into the observed LabelledPairs, -1 for a sampled negative
    kind: np.ndarray  # OBSERVED, RESUME_NEGATIVE, JOB_NEGATIVE or HARD_JOB_NEGATIVE


def aggregate_interactions(data: MatchingData) -> LabelledPairs:
    """One labelled pair per (job, resume): the latest event's polarity decides (see module docstring); ties in
    time go to the event listed last. Interactions that reference unknown documents are ignored. Pairs come
    sorted by (job, resume). Vectorised: one Python pass to read the events, the rest is numpy."""
    ji = {j.id: i for i, j in enumerate(data.jobs)}
    ri = {r.id: i for i, r in enumerate(data.resumes)}
    evs = data.interactions
    n = len(evs)
    jx = np.fromiter((ji.get(e.job_id, -1) for e in evs), dtype=np.int64, count=n)
    rx = np.fromiter((ri.get(e.resume_id, -1) for e in evs), dtype=np.int64, count=n)
    ts = np.fromiter((e.timestamp for e in evs), dtype=np.float64, count=n)
    st = np.fromiter((e.strength for e in evs), dtype=np.float64, count=n)
    ok = (jx >= 0) & (rx >= 0)
    return latest_per_pair(jx[ok], rx[ok], ts[ok], st[ok], np.arange(n)[ok], max(1, len(data.resumes)))


def latest_per_pair(
    jx: np.ndarray, rx: np.ndarray, ts: np.ndarray, st: np.ndarray, seq: np.ndarray, n_res: int
) -> LabelledPairs:
    """``aggregate_interactions`` on events already read into arrays (job index, resume index < n_res, time,
    signed strength, position in the log): one labelled pair per (job, resume), sorted by (job, resume)."""
    key = jx * n_res + rx
    if len(key) == 0:
        z = np.zeros(0, dtype=np.int64)
        return LabelledPairs(z, z.copy(), np.zeros(0, np.float32), np.zeros(0, np.float32), z.copy())
    o = np.lexsort((seq, ts, key))  # per key: by time, then by position in the log
    ks = key[o]
    last = np.r_[ks[1:] != ks[:-1], True]
    keys = ks[last]
    latest_pos = st[o][last] > 0
    u = np.searchsorted(keys, key)
    best_pos = np.zeros(len(keys))
    best_neg = np.zeros(len(keys))
    p = st > 0
    np.maximum.at(best_pos, u[p], np.abs(st[p]))
    np.maximum.at(best_neg, u[~p], np.abs(st[~p]))
    return LabelledPairs(
        keys // n_res,
        keys % n_res,
        latest_pos.astype(np.float32),
        np.where(latest_pos, best_pos, best_neg).astype(np.float32),
        np.zeros(len(keys), dtype=np.int64),
    )


def pair_keys(job: np.ndarray, res: np.ndarray, n_res: int) -> np.ndarray:
    """One int64 key per (job, resume) pair: job * n_res + resume."""
    return np.asarray(job, dtype=np.int64) * n_res + np.asarray(res, dtype=np.int64)


def _is_taken(key: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """Which keys are among the sorted ``taken`` keys (the observed pairs)."""
    at = np.minimum(np.searchsorted(taken, key), max(len(taken) - 1, 0))
    return taken[at] == key if len(taken) else np.zeros(len(key), dtype=bool)


def sample_resume_negatives(
    pairs: LabelledPairs, n_res: int, k: int, rng: np.random.Generator, taken: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each observed positive, k random resumes for the same job that have no interaction with it.
    ``taken``: sorted int64 keys job*n_res + resume of every observed pair. Returns (jobs, resumes, folds)."""
    pos = np.flatnonzero(pairs.label > 0.5)
    if k <= 0 or len(pos) == 0 or n_res < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    jobs = np.repeat(pairs.job[pos], k)
    folds = np.repeat(pairs.fold[pos], k)
    res = rng.integers(0, n_res, size=len(jobs))
    for _ in range(5):  # re-draw collisions with observed pairs
        bad = _is_taken(pair_keys(jobs, res, n_res), taken)
        if not bad.any():
            break
        res[bad] = rng.integers(0, n_res, size=int(bad.sum()))
    keep = ~_is_taken(pair_keys(jobs, res, n_res), taken)
    return jobs[keep], res[keep], folds[keep]


def _draw_jobs(
    src_jobs: np.ndarray,
    pool: np.ndarray,
    hard_fraction: float,
    job_group: np.ndarray | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One job per source job: uniform from ``pool``, or (a ``hard_fraction`` share) from the source job's group.
    Returns (jobs, drawn from the group)."""
    out = pool[rng.integers(0, len(pool), size=len(src_jobs))]
    hard = np.zeros(len(src_jobs), dtype=bool)
    if job_group is not None and hard_fraction > 0:
        g = job_group[src_jobs]
        hard = (rng.random(len(src_jobs)) < hard_fraction) & (g >= 0)
        order = np.argsort(job_group, kind="stable")
        sg = job_group[order]
        lo = np.searchsorted(sg, g[hard], "left")
        hi = np.searchsorted(sg, g[hard], "right")
        out[hard] = order[lo + (rng.random(int(hard.sum())) * (hi - lo)).astype(np.int64)]
    return out, hard


def sample_job_negatives(
    pairs: LabelledPairs,
    n_jobs: int,
    n_res: int,
    k: int,
    hard_fraction: float,
    job_group: np.ndarray | None,
    rng: np.random.Generator,
    taken: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each observed positive, k other jobs for the same resume with no interaction with it; a
    ``hard_fraction`` share is drawn among jobs of the positive job's group (``job_group``: e.g. state key id per
    job, -1 unknown -> uniform), the rest uniformly among the jobs that have a positive pair (where a mistaken
    view lands: these negatives are also the yardstick of ``estimate_noise``). Returns (jobs, resumes, folds,
    drawn from the group)."""
    pos = np.flatnonzero(pairs.label > 0.5)
    if k <= 0 or len(pos) == 0 or n_jobs < 2:
        z = np.zeros(0, np.int64)
        return z, z.copy(), z.copy(), np.zeros(0, dtype=bool)
    res = np.repeat(pairs.resume[pos], k)
    src = np.repeat(pairs.job[pos], k)
    folds = np.repeat(pairs.fold[pos], k)
    pool = np.unique(pairs.job[pos])
    if len(pool) < 2:
        pool = np.arange(n_jobs)
    jobs, hard = _draw_jobs(src, pool, hard_fraction, job_group, rng)
    for _ in range(5):
        bad = _is_taken(pair_keys(jobs, res, n_res), taken)
        if not bad.any():
            break
        jobs[bad] = pool[rng.integers(0, len(pool), size=int(bad.sum()))]
        hard[bad] = False
    keep = ~_is_taken(pair_keys(jobs, res, n_res), taken)
    return jobs[keep], res[keep], folds[keep], hard[keep]


def epoch_pairs(
    pairs: LabelledPairs,
    n_jobs: int,
    n_res: int,
    config: TrainConfig,
    job_group: np.ndarray | None,
    rng: np.random.Generator,
    taken: np.ndarray,
) -> EpochPairs:
    """Every observed pair plus fresh negatives: ``negatives_per_positive`` resumes, then
    ``job_negatives_per_positive`` jobs per observed positive (in that order: it fixes the draws from ``rng``).
    Above ``config.epoch_pair_cap`` observed pairs, the epoch takes a fresh random sample of that many instead
    (``observed`` still indexes the full ``pairs``)."""
    sample = None
    if config.epoch_pair_cap and len(pairs.job) > config.epoch_pair_cap:
        sample = np.sort(rng.choice(len(pairs.job), config.epoch_pair_cap, replace=False))
        pairs = LabelledPairs(**{f.name: getattr(pairs, f.name)[sample] for f in fields(LabelledPairs)})
    nj_, nr_, nf_ = sample_resume_negatives(pairs, n_res, config.negatives_per_positive, rng, taken)
    kind = np.full(len(nj_), RESUME_NEGATIVE)
    if config.job_negatives_per_positive > 0:
        jj_, jr_, jf_, jh_ = sample_job_negatives(
            pairs,
            n_jobs,
            n_res,
            config.job_negatives_per_positive,
            config.hard_negative_fraction,
            job_group,
            rng,
            taken,
        )
        nj_, nr_, nf_ = np.concatenate([nj_, jj_]), np.concatenate([nr_, jr_]), np.concatenate([nf_, jf_])
        kind = np.concatenate([kind, np.where(jh_, HARD_JOB_NEGATIVE, JOB_NEGATIVE)])
    n_obs = len(pairs.job)
    return EpochPairs(
        job=np.concatenate([pairs.job, nj_]),
        resume=np.concatenate([pairs.resume, nr_]),
        label=np.concatenate([pairs.label, np.zeros(len(nj_), np.float32)]),
        fold=np.concatenate([pairs.fold, nf_]),
        observed=np.concatenate([np.arange(n_obs) if sample is None else sample, np.full(len(nj_), -1)]),
        kind=np.concatenate([np.full(n_obs, OBSERVED), kind]),
    )
