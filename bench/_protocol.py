"""Leave-last-new-job-out protocol for the real (kandij) task, shared by bench/quality.py and its test.

1. Each applicant's views collapse to distinct jobs, ordered by first view.
2. For each applicant with >= 2 distinct jobs the last new job is the test item; all their views of it leave the
   training data. Their other jobs are training interactions and are excluded from their ranking.
3. The test job is ranked against candidates of its own kind: a job nobody viewed in training ("cold") among all
   jobs with zero training views; any other ("warm") among all jobs with training views (minus the applicant's
   own training jobs). Each applicant is scored on their own; no method sees any test label.
4. Metrics from the test item's rank in the FULL candidate ranking; ties are broken uniformly at random and the
   metric is the exact expectation over that tie-break (so a constant scorer gets the random-ranking value).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np

from ml.types import InteractionEvent, MatchingData

METRICS = ("ndcg@10", "recall@10", "recall@50", "mrr")


@dataclass
class Split:
    """One train/test split of a MatchingData (indices into ``data.jobs`` / ``data.resumes``)."""

    data: MatchingData
    train_events: list[InteractionEvent]  # what methods may train on (after any label noise)
    job_index: dict[str, int]
    resume_index: dict[str, int]
    # distinct training jobs per resume index, ordered by first view (as the methods see them; noisy if noisy)
    history: dict[int, list[int]]
    # the protocol's exclusion set: each test applicant's CLEAN training jobs (not changed by noise)
    clean_history: dict[int, list[int]]
    test_resume: np.ndarray  # (T,) resume index of each test case
    test_job: np.ndarray  # (T,) job index of the test item
    test_cold: np.ndarray  # (T,) bool: test job has zero (clean) training views
    warm: np.ndarray  # (n_jobs,) bool: job has >= 1 clean training view
    meta: dict = field(default_factory=dict)

    @property
    def n_jobs(self) -> int:
        return len(self.data.jobs)

    @property
    def n_resumes(self) -> int:
        return len(self.data.resumes)

    def train_data(self) -> MatchingData:
        """MatchingData with only the training interactions (for the models that take MatchingData)."""
        return MatchingData(self.data.jobs, self.data.resumes, list(self.train_events), dict(self.data.meta))

    def train_pairs(self) -> np.ndarray:
        """(m, 2) distinct (resume index, job index) training pairs, from the (possibly noisy) training events."""
        pairs = [(r, j) for r, jobs in self.history.items() for j in jobs]
        return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)

    def candidates(self, t: int) -> np.ndarray:
        """Candidate job indices for test case t (includes the test job itself)."""
        if self.test_cold[t]:
            return np.flatnonzero(~self.warm)
        mask = self.warm.copy()
        own = self.clean_history.get(int(self.test_resume[t]), [])
        if own:
            mask[np.asarray(own)] = False
        return np.flatnonzero(mask)


def distinct_jobs_in_order(events: list[InteractionEvent]) -> dict[str, list[str]]:
    """resume id -> distinct job ids ordered by first view (ties in time: by first appearance in the log)."""
    first: dict[tuple[str, str], tuple[float, int]] = {}
    for n, e in enumerate(events):
        key = (e.resume_id, e.job_id)
        if key not in first or (e.timestamp, n) < first[key]:
            first[key] = (e.timestamp, n)
    per: dict[str, list[tuple[tuple[float, int], str]]] = defaultdict(list)
    for (rid, jid), when in first.items():
        per[rid].append((when, jid))
    return {rid: [j for _, j in sorted(items)] for rid, items in per.items()}


def _history(events: list[InteractionEvent], job_index, resume_index) -> dict[int, list[int]]:
    return {
        resume_index[rid]: [job_index[j] for j in jobs]
        for rid, jobs in distinct_jobs_in_order(events).items()
        if rid in resume_index
    }


def leave_last_out(data: MatchingData, *, kinds: tuple[str, ...] | None = None) -> Split:
    """The protocol's split. ``kinds``: only these interaction kinds count as views (None: all positive)."""
    job_index = {j.id: i for i, j in enumerate(data.jobs)}
    resume_index = {r.id: i for i, r in enumerate(data.resumes)}
    events = [
        e
        for e in data.interactions
        if e.job_id in job_index
        and e.resume_id in resume_index
        and (e.kind in kinds if kinds is not None else e.strength > 0)
    ]
    ordered = distinct_jobs_in_order(events)
    test_item: dict[str, str] = {rid: jobs[-1] for rid, jobs in ordered.items() if len(jobs) >= 2}
    train = [e for e in events if test_item.get(e.resume_id) != e.job_id]
    warm = np.zeros(len(data.jobs), dtype=bool)
    for e in train:
        warm[job_index[e.job_id]] = True
    test_ids = sorted(test_item, key=lambda r: resume_index[r])
    test_resume = np.array([resume_index[r] for r in test_ids], dtype=np.int64)
    test_job = np.array([job_index[test_item[r]] for r in test_ids], dtype=np.int64)
    hist = _history(train, job_index, resume_index)
    return Split(
        data=data,
        train_events=train,
        job_index=job_index,
        resume_index=resume_index,
        history=hist,
        clean_history={k: list(v) for k, v in hist.items()},
        test_resume=test_resume,
        test_job=test_job,
        test_cold=~warm[test_job] if len(test_job) else np.zeros(0, dtype=bool),
        warm=warm,
    )


def with_label_noise(split: Split, rate: float, seed: int) -> Split:
    """A copy whose training views are corrupted: ``rate`` of them (seeded) move to a random job.

    The replacement job is drawn uniformly from the warm jobs (never the applicant's own test job), so the test
    cases, the cold/warm partition and the candidate sets are exactly those of the clean split; only what the
    methods train on changes.
    """
    if rate <= 0:
        return split
    rng = np.random.default_rng(seed)
    n = len(split.train_events)
    moved = rng.choice(n, size=int(round(rate * n)), replace=False)
    warm_jobs = np.flatnonzero(split.warm)
    test_of = {int(r): int(j) for r, j in zip(split.test_resume, split.test_job, strict=True)}
    events = list(split.train_events)
    for k in moved:
        e = events[k]
        forbidden = test_of.get(split.resume_index[e.resume_id], -1)
        j = forbidden
        while j == forbidden:
            j = int(warm_jobs[rng.integers(len(warm_jobs))])
        events[k] = InteractionEvent(split.data.jobs[j].id, e.resume_id, e.kind, e.timestamp)
    return _with_events(split, events, noise=rate, moved=len(moved), moved_events=sorted(moved.tolist()))


def without_moved_views(noisy: Split) -> Split:
    """The noisy split with its moved views deleted instead of moved: what a perfect noise filter would leave
    (the oracle ceiling of any cleaning; the views' true jobs stay lost). The clean split is returned as is."""
    moved = set(noisy.meta.get("moved_events", ()))
    if not moved:
        return noisy
    events = [e for k, e in enumerate(noisy.train_events) if k not in moved]
    return _with_events(noisy, events, oracle="moved views deleted")


def _with_events(split: Split, events: list[InteractionEvent], **meta) -> Split:
    """The same split (test cases, candidates) with other training events."""
    history = _history(events, split.job_index, split.resume_index)
    return replace(split, train_events=events, history=history, meta={**split.meta, **meta})


def validation_split(split: Split) -> Split:
    """Leave-last-out again INSIDE the training data (for tuning peers without touching the test items)."""
    sub = MatchingData(split.data.jobs, split.data.resumes, list(split.train_events), split.data.meta)
    return leave_last_out(sub)


# ----------------------------------------------------------------------------------------------------------
# Metrics from ranks (single relevant item per case), exact under uniform random tie-breaking.


def metrics_from_counts(greater: int, ties: int) -> dict[str, float]:
    """Metrics when ``greater`` candidates score strictly above the test item and ``ties`` others equal it."""
    pos = np.arange(greater + 1, greater + ties + 2, dtype=np.float64)  # equally likely positions
    return {
        "ndcg@10": float(np.mean(np.where(pos <= 10, 1.0 / np.log2(pos + 1.0), 0.0))),
        "recall@10": float(np.mean(pos <= 10)),
        "recall@50": float(np.mean(pos <= 50)),
        "mrr": float(np.mean(1.0 / pos)),
    }


def case_metrics(scores: np.ndarray, target: int) -> dict[str, float]:
    """Metrics of candidate ``target`` (a position in ``scores``) in the full ranking of ``scores``."""
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    t = s[target]
    greater = int(np.sum(s > t))
    ties = int(np.sum(s == t)) - 1
    return metrics_from_counts(greater, ties)


def build_cases(split: Split) -> list[tuple[int, np.ndarray, int]]:
    """(resume index, candidate job indices, position of the test job among the candidates) per test case."""
    cold_cands = np.flatnonzero(~split.warm)
    out = []
    for t in range(len(split.test_resume)):
        cands = cold_cands if split.test_cold[t] else split.candidates(t)
        pos = int(np.searchsorted(cands, split.test_job[t]))
        assert pos < len(cands) and cands[pos] == split.test_job[t], "test job missing from its candidates"
        out.append((int(split.test_resume[t]), cands, pos))
    return out


def evaluate(split: Split, method, *, progress=None) -> dict[str, np.ndarray]:
    """Score every test case and compute its metrics.

    ``method`` is either a callable ``(resume_index, candidate_job_indices) -> scores`` or an object with
    ``score(resume_index, cands)`` and optionally ``score_batch(split, [(resume_index, cands), ...]) -> [scores]``
    (one call for all cases; used by the network, whose per-call overhead is large). A method only ever gets
    the resume and the candidate set: never the test job. Returns per-case arrays for each metric (aligned with
    ``split.test_resume``), plus ``n_candidates`` and ``ties`` (candidates scored exactly like the test job).
    """
    cases = build_cases(split)
    n = len(cases)
    out = {m: np.zeros(n) for m in METRICS}
    out["n_candidates"] = np.array([len(c) for _, c, _ in cases], dtype=np.int64)
    out["ties"] = np.zeros(n, dtype=np.int64)
    batch = getattr(method, "score_batch", None)
    if batch is not None:
        all_scores = batch(split, [(r, c) for r, c, _ in cases])
    else:
        fn = method if callable(method) and not hasattr(method, "score") else method.score
        all_scores = None
    for t, (r, cands, pos) in enumerate(cases):
        scores = all_scores[t] if all_scores is not None else fn(r, cands)
        s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
        if s.shape != cands.shape:
            raise ValueError(f"scorer returned shape {s.shape} for {len(cands)} candidates")
        greater = int(np.sum(s > s[pos]))
        ties = int(np.sum(s == s[pos])) - 1
        for m, v in metrics_from_counts(greater, ties).items():
            out[m][t] = v
        out["ties"][t] = ties
        if progress is not None:
            progress.update(1)
    return out


# ----------------------------------------------------------------------------------------------------------
# Bootstrap (percentile), per-applicant resampling.


def bootstrap_mean_ci(values: np.ndarray, *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0):
    """(mean, low, high): percentile bootstrap interval of the mean over cases."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(v), size=(n_boot, len(v)))
    means = v[idx].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(v.mean()), float(lo), float(hi)
