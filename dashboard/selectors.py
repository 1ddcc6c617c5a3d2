"""Reads for the dashboard's own summaries (stage counts, histories), always from the scoped querysets of
`recruiting.selectors`: the dashboard never widens what the API lets a user see."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from recruiting import selectors as rsel
from recruiting.filters import JobFilter
from recruiting.models import Interaction, Job, Resume

K = Interaction.Kind
# The pipeline stages a recruiter follows, each with the interaction kinds that put a pair in it.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("viewed", (K.IMPRESSION, K.CLICK)),
    ("applied", (K.APPLY,)),
    ("shortlisted", (K.SHORTLIST,)),
    ("interviewed", (K.INTERVIEW,)),
    ("hired", (K.HIRE,)),
    ("rejected", (K.REJECT,)),
)
STAGE_OF_KIND = {kind: stage for stage, kinds in STAGES for kind in kinds}
STAGE_OF_KIND[K.OFFER] = "offered"
STAGE_OF_KIND[K.WITHDRAW] = "withdrawn"
STAGE_OF_KIND[K.NOT_INTERESTED] = "not interested"
# The one-click decisions on a shortlist row, in the order they are shown.
ROW_ACTIONS: tuple[tuple[str, str], ...] = (
    (K.SHORTLIST, "Shortlist"),
    (K.INTERVIEW, "Interview"),
    (K.HIRE, "Hire"),
    (K.REJECT, "Reject"),
)


def job_list(*, user, params: dict) -> QuerySet[Job]:
    """Jobs of the user's organizations (as `GET /api/jobs/` lists them to a recruiter), with the API's filters and a title/employer search `q`."""
    jobs = rsel.jobs_manageable_by(user).select_related("organization")
    jobs = JobFilter(params, queryset=jobs).qs
    query = (params.get("q") or "").strip()
    if query:
        jobs = jobs.filter(
            Q(title__icontains=query) | Q(employer__icontains=query) | Q(description__icontains=query)
        )
    return jobs.order_by("-created_at", "-pk")


def stage_counts(job_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """job id -> {stage: number of resumes with an event of that stage}, every stage present (0 if none)."""
    ids = list(job_ids)
    aggregates = {
        stage: Count("resume_id", filter=Q(kind__in=kinds), distinct=True) for stage, kinds in STAGES
    }
    rows = Interaction.objects.filter(job_id__in=ids).values("job_id").annotate(**aggregates).order_by()
    counts = {job_id: {stage: 0 for stage, _ in STAGES} for job_id in ids}
    for row in rows:
        counts[row["job_id"]] = {stage: row[stage] for stage, _ in STAGES}
    return counts


def pair_stages(*, job: Job, resume_ids: Iterable[int]) -> dict[int, str]:
    """resume id -> the stage of its latest event on `job` (only resumes with one)."""
    latest: dict[int, str] = {}
    rows = (
        Interaction.objects.filter(job=job, resume_id__in=list(resume_ids))
        .order_by("created_at", "pk")
        .values_list("resume_id", "kind")
    )
    for resume_id, kind in rows:
        latest[resume_id] = STAGE_OF_KIND.get(kind, kind)
    return latest


@dataclass(frozen=True)
class HistoryRow:
    at: object
    kind: str
    stage: str
    job_id: int
    job_title: str
    resume_id: int
    actor: str


def interaction_history(*, user, resumes: Iterable[Resume], limit: int = 200) -> list[HistoryRow]:
    """The events on these resumes that the user sees (as `GET /api/interactions/`), newest first."""
    events = (
        rsel.interactions_visible_to(user)
        .filter(resume__in=list(resumes))
        .select_related("job", "actor")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        HistoryRow(
            at=e.created_at,
            kind=e.kind,
            stage=STAGE_OF_KIND.get(e.kind, e.kind),
            job_id=e.job_id,
            job_title=e.job.title,
            resume_id=e.resume_id,
            actor=e.actor.get_username() if e.actor else "",
        )
        for e in events
    ]


def candidate_list(*, user, query: str = "", limit: int = 50) -> QuerySet:
    """Candidates the user sees (as `GET /api/candidates/`), newest first, by name or e-mail."""
    candidates = rsel.candidates_visible_to(user)
    if query.strip():
        q = query.strip()
        candidates = candidates.filter(Q(full_name__icontains=q) | Q(email__icontains=q))
    return candidates.annotate(resume_count=Count("resumes")).order_by("-created_at", "-pk")[:limit]
