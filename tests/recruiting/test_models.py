import importlib

from recruiting.models import Interaction, Job


def test_resume_content_hash_tracks_content(make_org, make_resume):
    resume = make_resume(org=make_org())
    first = resume.content_hash
    resume.save()
    assert resume.content_hash == first
    resume.skills = [*resume.skills, "kubernetes"]
    resume.save()
    assert resume.content_hash != first


def test_interaction_strength_has_order_and_sign():
    kinds = Interaction.Kind
    ordered = [
        kinds.IMPRESSION,
        kinds.CLICK,
        kinds.APPLY,
        kinds.SHORTLIST,
        kinds.INTERVIEW,
        kinds.OFFER,
        kinds.HIRE,
    ]
    strengths = [Interaction(kind=k).strength for k in ordered]
    assert strengths == sorted(strengths) and strengths[0] > 0
    for k in (kinds.REJECT, kinds.WITHDRAW, kinds.NOT_INTERESTED):
        assert Interaction(kind=k).strength < 0


def test_job_content_hash_covers_employer_and_remote(make_org, make_job):
    job = make_job(make_org())
    first = job.content_hash
    job.employer = "Initech"
    job.save()
    second = job.content_hash
    job.remote = not job.remote
    job.save()
    third = job.content_hash
    assert len({first, second, third}) == 3
    job.status = "closed"  # not content: the vector stays current
    job.save()
    assert job.content_hash == third == Job.objects.get(pk=job.pk).content_hash


def test_employer_migration_rehashes_existing_jobs(make_org, make_job):
    """0002 recomputes every stored hash with the new field list (content-keyed imports keep matching)."""
    from django.apps import apps

    migration = importlib.import_module("recruiting.migrations.0002_job_employer")
    job = make_job(make_org(), employer="Initech", remote=True)
    Job.objects.filter(pk=job.pk).update(content_hash="stale")
    migration.rehash_jobs(apps, None)
    assert Job.objects.get(pk=job.pk).content_hash == job.compute_content_hash()
