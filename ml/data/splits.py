"""Train/test splits that respect what a deployed model could have known.

* ``time_split``: interactions before the cutoff train, the rest test. Both halves keep ALL documents (documents
  are content, available at any time); only the interaction log is split, so the relation graph built from the
  train half never contains a test pair.
* ``cold_start_split``: a fraction of the resumes (or jobs) that have interactions is held out entirely: their
  documents are removed from the train half, and all their interactions go to the test half.
"""

from __future__ import annotations

import numpy as np

from ..types import MatchingData


def time_split(
    data: MatchingData, cutoff_ts: float | None = None, *, fraction: float | None = None
) -> tuple[MatchingData, MatchingData]:
    """Split by interaction time. Give ``cutoff_ts`` (train: ts < cutoff) or ``fraction`` (share of events,
    in time order, that train; ties at the cutoff go to test). A positional value in (0, 1) is read as a
    fraction (no real timestamp is that small), so ``time_split(data, 0.8)`` works too."""
    if cutoff_ts is not None and fraction is None and 0.0 < cutoff_ts < 1.0:
        cutoff_ts, fraction = None, float(cutoff_ts)
    if (cutoff_ts is None) == (fraction is None):
        raise ValueError("time_split: give exactly one of cutoff_ts or fraction")
    ts = np.array([e.timestamp for e in data.interactions], dtype=np.float64)
    if fraction is not None:
        if not 0.0 < fraction < 1.0:
            raise ValueError("fraction must be in (0, 1)")
        cutoff_ts = float(np.sort(ts)[int(fraction * len(ts))]) if len(ts) else 0.0
    train_ev = [e for e in data.interactions if e.timestamp < cutoff_ts]
    test_ev = [e for e in data.interactions if e.timestamp >= cutoff_ts]
    meta = {**data.meta, "split": "time", "cutoff_ts": float(cutoff_ts)}
    return (
        MatchingData(list(data.jobs), list(data.resumes), train_ev, {**meta, "part": "train"}),
        MatchingData(list(data.jobs), list(data.resumes), test_ev, {**meta, "part": "test"}),
    )


def cold_start_split(
    data: MatchingData, fraction: float = 0.2, side: str = "resume", seed: int = 0
) -> tuple[MatchingData, MatchingData]:
    """Hold out ``fraction`` of the ``side`` documents that have interactions. Train: all other documents and
    their interactions that do not touch a held-out document. Test: all documents, held-out interactions."""
    if side not in ("resume", "job"):
        raise ValueError("side must be 'resume' or 'job'")
    rng = np.random.default_rng(seed)
    key = (lambda e: e.resume_id) if side == "resume" else (lambda e: e.job_id)
    active = sorted({key(e) for e in data.interactions})
    n_cold = int(round(fraction * len(active)))
    cold = set(rng.permutation(np.array(active, dtype=object))[:n_cold].tolist()) if n_cold else set()
    train_ev = [e for e in data.interactions if key(e) not in cold]
    test_ev = [e for e in data.interactions if key(e) in cold]
    if side == "resume":
        tr_jobs, tr_res = list(data.jobs), [r for r in data.resumes if r.id not in cold]
    else:
        tr_jobs, tr_res = [j for j in data.jobs if j.id not in cold], list(data.resumes)
    meta = {**data.meta, "split": "cold_start", "side": side, "fraction": fraction, "seed": seed}
    return (
        MatchingData(tr_jobs, tr_res, train_ev, {**meta, "part": "train", "n_cold": len(cold)}),
        MatchingData(
            list(data.jobs), list(data.resumes), test_ev, {**meta, "part": "test", "cold_ids": sorted(cold)}
        ),
    )
