"""The filters of the ranked-match endpoints, applied in PostgreSQL to the caller's pool."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from recruiting.models import Interaction, Job, Resume

# `exclude=` words -> interaction kinds. A candidate (or job) with such an event for the pair is left out.
# "viewed" covers both kinds a view is recorded as (an impression, or a click when it was opened).
EXCLUDE_KINDS: dict[str, tuple[str, ...]] = {
    "rejected": (Interaction.Kind.REJECT,),
    "hired": (Interaction.Kind.HIRE,),
    "shortlisted": (Interaction.Kind.SHORTLIST,),
    "interviewed": (Interaction.Kind.INTERVIEW,),
    "offered": (Interaction.Kind.OFFER,),
    "withdrawn": (Interaction.Kind.WITHDRAW,),
    "not_interested": (Interaction.Kind.NOT_INTERESTED,),
    "applied": (Interaction.Kind.APPLY,),
    "viewed": (Interaction.Kind.IMPRESSION, Interaction.Kind.CLICK),
}
SENIORITIES = tuple(Job.Seniority.values)


@dataclass(frozen=True)
class Filters:
    location: str = ""
    remote: bool | None = None
    seniority: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # interaction kinds

    def as_key(self) -> dict:
        return {
            "location": self.location.lower(),
            "remote": self.remote,
            "seniority": sorted(self.seniority),
            "exclude": sorted(self.exclude),
        }


def filter_candidates(qs: QuerySet[Resume], job: Job, f: Filters) -> QuerySet[Resume]:
    """Database-side filters for ranked candidates of `job`.

    location: the candidate's location contains the text. remote=false: the job is treated as on-site,
    so the candidate's location must contain the job's city (first comma-separated part of
    `job.location`); remote=true: anywhere (no location condition from the job). exclude: no interaction
    of those kinds between the resume and this job.
    """
    if f.location:
        qs = qs.filter(candidate__location__icontains=f.location)
    if f.remote is False and job.location.strip():
        city = job.location.split(",")[0].strip()
        qs = qs.filter(candidate__location__icontains=city)
    if f.exclude:
        qs = qs.filter(
            ~Exists(Interaction.objects.filter(job_id=job.pk, resume_id=OuterRef("pk"), kind__in=f.exclude))
        )
    return qs


def filter_jobs(qs: QuerySet[Job], resume: Resume, f: Filters) -> QuerySet[Job]:
    """location: the job's location contains the text (remote jobs always pass when remote is not false);
    remote=true: remote jobs only; remote=false: on-site jobs only; seniority: the job's level;
    exclude: no interaction of those kinds between this resume and the job."""
    if f.remote is True:
        qs = qs.filter(remote=True)
    elif f.remote is False:
        qs = qs.filter(remote=False)
    if f.location:
        cond = Q(location__icontains=f.location)
        if f.remote is not False:
            cond |= Q(remote=True)
        qs = qs.filter(cond)
    if f.seniority:
        qs = qs.filter(seniority__in=f.seniority)
    if f.exclude:
        qs = qs.filter(
            ~Exists(
                Interaction.objects.filter(resume_id=resume.pk, job_id=OuterRef("pk"), kind__in=f.exclude)
            )
        )
    return qs
