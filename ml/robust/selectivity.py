"""The relation view does not reward indiscriminate applying.

A candidate's own signals (impressions, clicks, applications: ``CANDIDATE_KINDS``) say something about their
fit only when they choose: a candidate who applied to more than ``max(min_jobs, max_share * n_jobs)`` distinct
jobs gets selectivity 0 for those signals, so none of them becomes an edge of the relation graph, a history
feature or a training label (in training, and in the fresh events applied at serving time). What recruiters
did with them (shortlist, interview, offer, hire, reject) keeps its full weight: a candidate cannot make those.

Why a cut and not a weight ``cap/d``: the R-GCN normalises a node's edges per relation, so a uniform weight on
all of one candidate's edges changes nothing in that candidate's own vector (the mean of every job they touched,
near every job); only leaving the edges out does. The cap is far above what real applicants do (kandij: the most
active of 2,748 applicants viewed 45 of 5,698 jobs; the cap there is 285).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ..types import InteractionEvent

CANDIDATE_KINDS = frozenset({"impression", "click", "apply"})
MAX_SHARE = 0.05
MIN_JOBS = 50


def selectivity_cap(n_jobs: int, *, max_share: float = MAX_SHARE, min_jobs: int = MIN_JOBS) -> int:
    return max(int(min_jobs), int(max_share * max(0, n_jobs)))


def unselective_resumes(
    events: Sequence[InteractionEvent], n_jobs: int, *, max_share: float = MAX_SHARE, min_jobs: int = MIN_JOBS
) -> set[str]:
    """Resumes whose own signals reach more distinct jobs than the cap."""
    jobs: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.kind in CANDIDATE_KINDS:
            jobs[e.resume_id].add(e.job_id)
    cap = selectivity_cap(n_jobs, max_share=max_share, min_jobs=min_jobs)
    return {r for r, js in jobs.items() if len(js) > cap}


def selective_events(
    events: Sequence[InteractionEvent] | None,
    n_jobs: int,
    *,
    max_share: float = MAX_SHARE,
    min_jobs: int = MIN_JOBS,
) -> list[InteractionEvent] | None:
    """``events`` without the candidate-made signals of unselective resumes (None stays None)."""
    if not events:
        return None if events is None else list(events)
    drop = unselective_resumes(events, n_jobs, max_share=max_share, min_jobs=min_jobs)
    if not drop:
        return list(events)
    return [e for e in events if not (e.resume_id in drop and e.kind in CANDIDATE_KINDS)]
