"""The data a training run sees: every document and interaction up to a cutoff, the latest slice held out.

Time-aware holdout: interactions up to the snapshot time are ordered by time; the most recent
TRAINING_HOLDOUT_FRACTION is held out. The model trains on the rest (its relation graph never sees held-out
pairs). The window is recorded on the version, so the held-out slice can be read back later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from matching.documents import iter_job_docs, iter_resume_docs
from matching.training.errors import NotEnoughData
from ml.types import InteractionEvent, MatchingData
from recruiting.models import Interaction, Job, Resume


@dataclass
class Snapshot:
    train: MatchingData
    holdout: list[InteractionEvent]
    window: dict[str, Any]
    resume_ids: np.ndarray  # every resume in the snapshot (negative pool for evaluation)
    jobs: dict[int, Any] = field(default_factory=dict)
    resumes: dict[int, Any] = field(default_factory=dict)


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat() if ts is not None else None


def take_snapshot(*, cutoff: datetime | None = None, holdout_fraction: float | None = None) -> Snapshot:
    """Every document and interaction up to `cutoff` (now); the last `holdout_fraction` by time held out."""
    cutoff = cutoff or timezone.now()
    frac = settings.TRAINING_HOLDOUT_FRACTION if holdout_fraction is None else holdout_fraction
    qs = Interaction.objects.filter(created_at__lte=cutoff)
    max_id = qs.aggregate(m=Max("id"))["m"] or 0
    rows = list(
        qs.filter(id__lte=max_id)
        .order_by("created_at", "id")
        .values_list("job_id", "resume_id", "kind", "created_at")
    )
    n = len(rows)
    if n < 10:
        raise NotEnoughData(f"{n} interactions up to {cutoff.isoformat()}: at least 10 are needed to train")
    n_hold = max(1, int(math.ceil(frac * n)))
    holdout_start = rows[n - n_hold][3]
    events = [InteractionEvent(str(j), str(r), k, t.timestamp()) for j, r, k, t in rows]
    train = [e for e, row in zip(events, rows, strict=True) if row[3] < holdout_start]
    holdout = [e for e, row in zip(events, rows, strict=True) if row[3] >= holdout_start]
    if not train:
        raise NotEnoughData("every interaction falls in the held-out slice (they share one timestamp)")
    jobs = {int(d.id): d for d in iter_job_docs(Job.objects.filter(created_at__lte=cutoff))}
    resumes = {int(d.id): d for d in iter_resume_docs(Resume.objects.filter(created_at__lte=cutoff))}
    window = {
        "start": _iso(events[0].timestamp),
        "end": cutoff.isoformat(),
        "holdout_start": holdout_start.isoformat(),
        "max_interaction_id": max_id,
        "holdout_fraction": frac,
        "jobs": len(jobs),
        "resumes": len(resumes),
        "interactions": n,
        "train_interactions": len(train),
        "holdout_interactions": len(holdout),
    }
    data = MatchingData(jobs=list(jobs.values()), resumes=list(resumes.values()), interactions=train)
    return Snapshot(
        train=data,
        holdout=holdout,
        window=window,
        resume_ids=np.fromiter(resumes.keys(), dtype=np.int64, count=len(resumes)),
        jobs=jobs,
        resumes=resumes,
    )


def holdout_events(window: dict) -> list[InteractionEvent]:
    """The held-out slice recorded in a version's data window, read back from the (append-only) log."""
    rows = (
        Interaction.objects.filter(
            id__lte=window["max_interaction_id"],
            created_at__gte=datetime.fromisoformat(window["holdout_start"]),
            created_at__lte=datetime.fromisoformat(window["end"]),
        )
        .order_by("created_at", "id")
        .values_list("job_id", "resume_id", "kind", "created_at")
    )
    return [InteractionEvent(str(j), str(r), k, t.timestamp()) for j, r, k, t in rows]


def window_data(window: dict) -> MatchingData:
    """Everything a version's data window holds, held-out slice included: what a final refit trains on."""
    cutoff = datetime.fromisoformat(window["end"])
    rows = (
        Interaction.objects.filter(id__lte=window["max_interaction_id"], created_at__lte=cutoff)
        .order_by("created_at", "id")
        .values_list("job_id", "resume_id", "kind", "created_at")
    )
    events = [InteractionEvent(str(j), str(r), k, t.timestamp()) for j, r, k, t in rows]
    jobs = list(iter_job_docs(Job.objects.filter(created_at__lte=cutoff)))
    resumes = list(iter_resume_docs(Resume.objects.filter(created_at__lte=cutoff)))
    return MatchingData(jobs=jobs, resumes=resumes, interactions=events)
