"""A small synthetic platform (ml.data.synthetic) written into the database, for training tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ml.data.synthetic import make_synthetic
from recruiting.models import Candidate, Interaction, Job, Organization, Resume


def load_synthetic_platform(
    *,
    n_jobs: int = 24,
    n_resumes: int = 80,
    n_interactions: int = 500,
    seed: int = 0,
    label_noise: float = 0.1,
) -> dict:
    """Jobs, resumes and interactions from ml.data.synthetic, timestamps shifted to end an hour ago.

    Returns {"jobs": {synthetic id: Job}, "resumes": {...}, "syn": SyntheticData}."""
    syn = make_synthetic(
        n_jobs, n_resumes, n_interactions, seed=seed, label_noise=label_noise, sparsity=0.5, days=30
    )
    org = Organization.objects.create(name=f"Synthetic {seed}", slug=f"synthetic-{seed}-{n_jobs}-{n_resumes}")
    long_ago = datetime.now(UTC) - timedelta(days=400)
    jobs = Job.objects.bulk_create(
        [
            Job(
                organization=org,
                title=d.title,
                description=d.description,
                required_skills=list(d.skills),
                location=d.location,
                created_at=long_ago,
            )
            for d in syn.data.jobs
        ]
    )
    candidates = Candidate.objects.bulk_create(
        [
            Candidate(organization=org, full_name=f"Person {i}", location=d.location)
            for i, d in enumerate(syn.data.resumes)
        ]
    )
    resumes = Resume.objects.bulk_create(
        [
            Resume(
                candidate=c,
                headline=d.headline,
                summary=d.summary,
                skills=list(d.skills),
                experience=[{"description": e} for e in d.experience],
                education=[{"degree": e} for e in d.education],
                created_at=long_ago,
            )
            for c, d in zip(candidates, syn.data.resumes, strict=True)
        ]
    )
    for obj in (*jobs, *resumes):  # bulk_create skips save(): fill the content hash
        obj.content_hash = obj.compute_content_hash()
    Job.objects.bulk_update(jobs, ["content_hash"])
    Resume.objects.bulk_update(resumes, ["content_hash"])
    job_by = {d.id: j for d, j in zip(syn.data.jobs, jobs, strict=True)}
    res_by = {d.id: r for d, r in zip(syn.data.resumes, resumes, strict=True)}
    last = max(e.timestamp for e in syn.data.interactions)
    shift = datetime.now(UTC).timestamp() - 3600 - last
    Interaction.objects.bulk_create(
        [
            Interaction(
                job=job_by[e.job_id],
                resume=res_by[e.resume_id],
                kind=e.kind,
                created_at=datetime.fromtimestamp(e.timestamp + shift, tz=UTC),
            )
            for e in syn.data.interactions
        ],
        batch_size=2000,
    )
    return {"jobs": job_by, "resumes": res_by, "syn": syn, "org": org}
