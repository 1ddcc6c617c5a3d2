"""Generated sample data written into one organization with bulk_create."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from recruiting.models import JOB_FIELDS, RESUME_FIELDS, Candidate, Interaction, Job, Organization, Resume
from recruiting.sample_data.generator import EXTERNAL_PREFIX, HISTORY_DAYS, generate
from recruiting.services import resume_compose_text


def has_sample_data(organization: Organization) -> bool:
    """Whether sample data was loaded into `organization` already (its jobs carry the sample prefix)."""
    return Job.objects.filter(organization=organization, external_id__startswith=EXTERNAL_PREFIX).exists()


@transaction.atomic
def load_sample_data(
    organization: Organization,
    *,
    jobs: int = 200,
    resumes: int = 600,
    interactions: int = 3000,
    seed: int = 7,
    now: datetime | None = None,
    batch_size: int = 500,
) -> dict[str, int]:
    """Write generated data into `organization` (its jobs and talent pool). A no-op returning zeros when
    the organization already holds sample data. Returns the number of rows created per model."""
    if has_sample_data(organization):
        return {"jobs": 0, "candidates": 0, "resumes": 0, "interactions": 0}
    data = generate(jobs=jobs, resumes=resumes, interactions=interactions, seed=seed, now=now)
    created_at = now or timezone.now()

    job_rows = []
    for spec in data.jobs:
        fields = {k: v for k, v in spec.items() if k in JOB_FIELDS}
        job = Job(
            organization=organization, created_at=created_at - timedelta(days=HISTORY_DAYS + 5), **fields
        )
        job.content_hash = job.compute_content_hash()
        job_rows.append(job)
    job_rows = Job.objects.bulk_create(job_rows, batch_size=batch_size)

    candidate_rows = Candidate.objects.bulk_create(
        [Candidate(organization=organization, **spec) for spec in data.candidates], batch_size=batch_size
    )
    resume_rows = []
    for spec in data.resumes:
        fields = {k: v for k, v in spec.items() if k in RESUME_FIELDS}
        resume = Resume(
            candidate=candidate_rows[spec["candidate"]],
            created_at=created_at - timedelta(days=HISTORY_DAYS + 5),
            **fields,
        )
        resume.full_text = resume_compose_text(resume)
        resume.content_hash = resume.compute_content_hash()
        resume.integrity_flags = resume.compute_integrity_flags()
        resume_rows.append(resume)
    resume_rows = Resume.objects.bulk_create(resume_rows, batch_size=batch_size)

    Interaction.objects.bulk_create(
        [
            Interaction(
                job=job_rows[e["job"]],
                resume=resume_rows[e["resume"]],
                kind=e["kind"],
                created_at=e["created_at"],
                external_id=e["external_id"],
            )
            for e in data.interactions
        ],
        batch_size=batch_size,
    )
    return {
        "jobs": len(job_rows),
        "candidates": len(candidate_rows),
        "resumes": len(resume_rows),
        "interactions": len(data.interactions),
    }
