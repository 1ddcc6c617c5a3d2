"""Pure helpers of bench/served_quality.py (no Django): the kandij data as import rows, metrics from a served
rank or from full-catalogue scores, latency summaries and the verdict lines.

Kept apart so that tests/bench can check them with ``-p no:django``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ml.data.kandij import _read_experience, _read_interests
from ml.types import MatchingData

CUTOFFS = (10, 50, 100)
METRICS = ("ndcg@10", "recall@10", "recall@50", "recall@100")
# the platform's column limits (recruiting.models): longer values are cut, and the cuts are counted
TITLE_MAX, LOCATION_MAX, EMPLOYER_MAX, HEADLINE_MAX, ENTRY_MAX = 300, 200, 200, 300, 5000


# ------------------------------------------------------------------------------------------------ metrics
def served_metrics(rank: int | None) -> dict[str, float]:
    """Metrics of one served list from the test job's 1-based rank in it (None: not in the list: 0 for all)."""
    r = rank if rank is not None and rank >= 1 else None
    out = {"ndcg@10": 1.0 / np.log2(r + 1.0) if r is not None and r <= 10 else 0.0}
    for k in CUTOFFS:
        out[f"recall@{k}"] = 1.0 if r is not None and r <= k else 0.0
    return {m: float(out[m]) for m in METRICS}


def exact_metrics(greater: int, ties: int) -> dict[str, float]:
    """Metrics when ``greater`` candidates score strictly above the test job and ``ties`` others equal it; ties
    broken uniformly at random, exact expectation (bench/_protocol.py's rule, with Recall@100 added)."""
    pos = np.arange(greater + 1, greater + ties + 2, dtype=np.float64)
    out = {"ndcg@10": float(np.mean(np.where(pos <= 10, 1.0 / np.log2(pos + 1.0), 0.0)))}
    for k in CUTOFFS:
        out[f"recall@{k}"] = float(np.mean(pos <= k))
    return {m: out[m] for m in METRICS}


def scores_metrics(scores: Sequence[float], target: int) -> dict[str, float]:
    """Exact metrics of position ``target`` in the full ranking of ``scores`` (NaN scores rank last)."""
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    t = s[target]
    return exact_metrics(int(np.sum(s > t)), int(np.sum(s == t)) - 1)


def rank_in(served_ids: Sequence[int], target: int, drop: Iterable[int] = ()) -> tuple[int | None, int]:
    """(1-based rank of ``target`` among ``served_ids`` once the ids in ``drop`` are left out, or None; how
    many of ``drop`` the list held). The client-side stand-in for ``exclude=viewed``."""
    dropped = set(drop)
    kept = [i for i in served_ids if i not in dropped]
    n_dropped = len(served_ids) - len(kept)
    return (kept.index(target) + 1 if target in kept else None), n_dropped


def top_ids(scores: Sequence[float], ids: Sequence[int], n: int) -> list[int]:
    """The ids of the ``n`` best scores (stable on ties: the earlier id first)."""
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    order = np.argsort(-s, kind="stable")[:n]
    return [int(ids[i]) for i in order]


# ------------------------------------------------------------------------------------------------ summaries
def mean_ci(values, *, boot: int = 1000, seed: int = 0) -> list[float | None]:
    """[mean, low, high]: percentile bootstrap 95% interval of the mean; [None]*3 for no values."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return [None, None, None]
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(boot, len(v)))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return [float(v.mean()), float(lo), float(hi)]


def summarise(per_case: dict[str, np.ndarray], masks: dict[str, np.ndarray], boot: int) -> dict:
    """subset -> metric -> [mean, low, high], plus n."""
    out = {}
    for sub, mask in masks.items():
        out[sub] = {m: mean_ci(np.asarray(per_case[m])[mask], boot=boot) for m in METRICS}
        out[sub]["n"] = int(mask.sum())
    return out


def latency(seconds: Sequence[float]) -> dict:
    """Median, p95, p99 and mean in milliseconds."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    if len(ms) == 0:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None}
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "n": len(ms),
        "p50_ms": round(float(p50), 1),
        "p95_ms": round(float(p95), 1),
        "p99_ms": round(float(p99), 1),
        "mean_ms": round(float(ms.mean()), 1),
    }


# ------------------------------------------------------------------------------------------------ data
def sample_applicants(ids: Iterable[str], n: int) -> set[str]:
    """A deterministic sample of ``n`` applicant ids (by sha256 of the id; bench/quality.py's --quick rule)."""
    return set(sorted(set(ids), key=lambda a: hashlib.sha256(a.encode()).hexdigest())[:n])


def _cut(text: str, limit: int, counts: dict, what: str) -> str:
    if len(text) > limit:
        counts[what] = counts.get(what, 0) + 1
        return text[:limit].rstrip()
    return text


def job_rows(data: MatchingData, *, employer: bool, counts: dict) -> list[dict]:
    """Import rows (kind "jobs") for every job: open jobs; ``employer`` when the platform has the column."""
    rows = []
    for j in data.jobs:
        row = {
            "external_id": j.id,
            "title": _cut(j.title or j.company or f"job {j.id}", TITLE_MAX, counts, "job_title_cut"),
            "status": "open",
        }
        if j.location:
            row["location"] = _cut(j.location, LOCATION_MAX, counts, "job_location_cut")
        if j.description:
            row["description"] = j.description
        if employer and j.company:
            row["employer"] = _cut(j.company, EMPLOYER_MAX, counts, "job_employer_cut")
        rows.append(row)
    return rows


def _clean(value: str | None) -> str:
    value = " ".join((value or "").split())
    return "" if value == "NA" else value


def experience_entry(row: dict, counts: dict) -> dict:
    """One Experience.csv row as a platform experience entry (title, company, location, start, end,
    description); empty values left out. Dates alone make no entry (ml.data.kandij shows no text for them)."""
    place = ", ".join(p for p in (_clean(row.get("City")), _clean(row.get("State.Name"))) if p)
    entry = {
        "title": _clean(row.get("Position.Name")),
        "company": _clean(row.get("Employer.Name")),
        "location": place,
        "start": _clean(row.get("Start.Date")),
        "end": _clean(row.get("End.Date")),
        "description": _clean(row.get("Job.Description")),
    }
    if not any(entry[k] for k in ("title", "company", "location", "description")):
        return {}
    return {k: _cut(v, ENTRY_MAX, counts, "experience_value_cut") for k, v in entry.items() if v}


def resume_rows(data: MatchingData, data_dir: str | Path, counts: dict) -> tuple[list[dict], list[dict]]:
    """(rows of applicants with a profile, rows of applicants without one) for kind "resumes": one candidate
    and one resume per applicant, both with the applicant id as external id. The profile is what
    ml.data.kandij reads (positions of interest as the headline, else the latest position; the work history,
    newest first; the latest place as the candidate's location), as structured fields."""
    keep = {r.id for r in data.resumes}
    experience = _read_experience(Path(data_dir) / "Experience.csv", keep)
    interests = _read_interests(Path(data_dir) / "Positions_Of_Interest.csv", keep)
    with_profile, without = [], []
    for r in data.resumes:
        entries = [row for _, _, row in sorted(experience.get(r.id, []), key=lambda t: (t[0], t[1]))]
        exp = [e for e in (experience_entry(row, counts) for row in entries) if e]
        latest = entries[0] if entries else {}
        headline = ", ".join(interests.get(r.id, [])) or _clean(latest.get("Position.Name"))
        row = {"candidate_external_id": r.id, "external_id": r.id, "full_name": f"Applicant {r.id}"}
        if r.location:
            row["location"] = _cut(r.location, LOCATION_MAX, counts, "candidate_location_cut")
        if headline:
            row["headline"] = _cut(headline, HEADLINE_MAX, counts, "headline_cut")
        if exp:
            row["experience"] = exp
        (with_profile if ("headline" in row or exp) else without).append(row)
    return with_profile, without


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def interaction_rows(events) -> list[dict]:
    """Import rows (kind "interactions") for the split's TRAINING views, each with its own external id."""
    return [
        {
            "external_id": f"kv{n}",
            "job_external_id": e.job_id,
            "candidate_external_id": e.resume_id,
            "resume_external_id": e.resume_id,
            "kind": e.kind,
            "created_at": iso(e.timestamp),
        }
        for n, e in enumerate(events)
    ]


# ------------------------------------------------------------------------------------------------ verdicts
def fmt(x, digits: int = 3) -> str:
    return "—" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{digits}f}"


def ratio_verdict(metric: str, subset: str, served: float | None, offline: float | None, share: float) -> str:
    """GOAL line: served >= share x offline on ``metric`` for ``subset``."""
    head = f"GOAL served {metric} >= {share:.0%} of the offline full-catalogue figure ({subset})"
    if served is None or offline is None:
        return f"{head}: NOT EVALUATED (no applicants) NOT MET"
    ratio = served / offline if offline > 0 else float("inf") if served > 0 else 1.0
    met = served >= share * offline
    return (
        f"{head}: served {fmt(served)} vs offline {fmt(offline)} = {ratio:.1%} of it "
        f"-> {'MET' if met else 'NOT MET'}"
    )
