"""Funnel and time in stage, over the interaction log of the jobs a user manages.

A (job, resume) pair *reached* a funnel stage when it has an event of that stage or of a later one (a hire
recorded without an interview still passed the interview stage), so the funnel never widens. Time in a
stage is, for each pair that moved on, the time from its first event of the stage to its first event of
any later stage; the median over pairs is shown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import median

from django.db.models import QuerySet

from recruiting.models import Interaction

K = Interaction.Kind
FUNNEL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("viewed", (K.IMPRESSION, K.CLICK)),
    ("applied", (K.APPLY,)),
    ("shortlisted", (K.SHORTLIST,)),
    ("interviewed", (K.INTERVIEW,)),
    ("offered", (K.OFFER,)),
    ("hired", (K.HIRE,)),
)
_RANK = {kind: rank for rank, (_, kinds) in enumerate(FUNNEL) for kind in kinds}


@dataclass(frozen=True)
class FunnelStage:
    stage: str
    reached: int
    share_of_first: float | None  # reached / reached at the first stage
    median_days: float | None  # median time in this stage before the next, over pairs that moved on
    moved_on: int


@dataclass(frozen=True)
class Funnel:
    stages: list[FunnelStage]
    pairs: int
    rejected: int


def funnel(events: QuerySet[Interaction]) -> Funnel:
    """The funnel of `events` (already scoped to what the user may see)."""
    first: dict[tuple[int, int], dict[int, object]] = defaultdict(dict)
    rejected: set[tuple[int, int]] = set()
    rows = events.order_by().values_list("job_id", "resume_id", "kind", "created_at")
    for job_id, resume_id, kind, at in rows.iterator(chunk_size=5000):
        pair = (job_id, resume_id)
        if kind == K.REJECT:
            rejected.add(pair)
        rank = _RANK.get(kind)
        if rank is None:
            continue
        seen = first[pair]
        if rank not in seen or at < seen[rank]:
            seen[rank] = at
    reached = [0] * len(FUNNEL)
    durations: list[list[float]] = [[] for _ in FUNNEL]
    for seen in first.values():
        for rank in range(max(seen) + 1):
            reached[rank] += 1
        for rank, at in seen.items():
            later = [t for r, t in seen.items() if r > rank and t >= at]
            if later:
                durations[rank].append((min(later) - at).total_seconds() / 86400)
    top = reached[0] or None
    stages = [
        FunnelStage(
            stage=name,
            reached=reached[i],
            share_of_first=(reached[i] / top) if top else None,
            median_days=round(median(durations[i]), 2) if durations[i] else None,
            moved_on=len(durations[i]),
        )
        for i, (name, _) in enumerate(FUNNEL)
    ]
    return Funnel(stages=stages, pairs=len(first), rejected=len(rejected))
