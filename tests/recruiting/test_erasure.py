"""Erasure through the API: the text, the stored file, the interactions and every derived row go, and
`document_erased` is sent once the transaction has committed (not before)."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from matching.models import DocumentVector
from recruiting import services, signals
from recruiting.models import Candidate, Interaction, Job, Resume


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def erased():
    events: list[tuple[type, int]] = []

    def on_erased(sender, instance_id, **kwargs):
        events.append((sender, instance_id))

    signals.document_erased.connect(on_erased)
    yield events
    signals.document_erased.disconnect(on_erased)


def _resume_with_everything(candidate: Candidate, job: Job, name: str = "cv.pdf") -> Resume:
    resume = services.resume_create(
        candidate=candidate,
        data={
            "headline": "Engineer",
            "skills": ["Python"],
            "full_text": "Private text",
            "source_file_name": name,
        },
        source_file=SimpleUploadedFile(name, b"%PDF-1.4 private bytes", content_type="application/pdf"),
    )
    vector = np.ones(4, dtype="<f4") / 2
    DocumentVector.objects.create(
        kind=DocumentVector.Kind.RESUME,
        resume=resume,
        space="encoder:test",
        content_hash=resume.content_hash,
        dim=4,
        vector=DocumentVector.to_bytes(vector),
    )
    services.interaction_record(job=job, resume=resume, kind="shortlist")
    return resume


def test_delete_resume_erases_text_file_interactions_and_vectors(
    make_org, make_recruiter, make_job, client_for, erased, django_capture_on_commit_callbacks
):
    org = make_org()
    job = make_job(org)
    candidate = Candidate.objects.create(organization=org, full_name="Ada")
    resume = _resume_with_everything(candidate, job)
    file_name = resume.source_file.name
    assert file_name.startswith(f"resumes/{candidate.pk}/") and default_storage.exists(file_name)
    keep = services.resume_create(candidate=candidate, data={"headline": "Other resume"})
    api = client_for(make_recruiter(org))

    with django_capture_on_commit_callbacks() as callbacks:
        response = api.delete(f"/api/resumes/{resume.pk}/")
        assert response.status_code == 204
        # Nothing outside the database is touched before the commit.
        assert erased == [] and default_storage.exists(file_name)
    for callback in callbacks:
        callback()

    assert erased == [(Resume, resume.pk)]
    assert not Resume.objects.filter(pk=resume.pk).exists()
    assert not Resume.objects.filter(full_text__contains="Private text").exists()
    assert not default_storage.exists(file_name)
    assert not Interaction.objects.filter(resume_id=resume.pk).exists()
    assert not DocumentVector.objects.filter(resume_id=resume.pk).exists()
    # Only that resume: the candidate, their other resume and the job stay.
    assert Resume.objects.filter(pk=keep.pk).exists() and Candidate.objects.filter(pk=candidate.pk).exists()
    assert Job.objects.filter(pk=job.pk).exists()
    assert api.get(f"/api/resumes/{resume.pk}/").status_code == 404


def test_job_seeker_erases_own_resume(
    make_org, make_job, make_user, client_for, erased, django_capture_on_commit_callbacks
):
    user = make_user()
    candidate = Candidate.objects.create(user=user, full_name="Me")
    resume = _resume_with_everything(candidate, make_job(make_org()))
    file_name = resume.source_file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(user).delete(f"/api/resumes/{resume.pk}/").status_code == 204
    assert erased == [(Resume, resume.pk)]
    assert not default_storage.exists(file_name)
    assert not DocumentVector.objects.exists() and not Interaction.objects.exists()


def test_delete_candidate_erases_every_resume(
    make_org, make_recruiter, make_job, client_for, erased, django_capture_on_commit_callbacks
):
    org = make_org()
    job = make_job(org)
    candidate = Candidate.objects.create(organization=org, full_name="Ada")
    first = _resume_with_everything(candidate, job, "one.pdf")
    second = _resume_with_everything(candidate, job, "two.pdf")
    files = [first.source_file.name, second.source_file.name]
    bystander = Candidate.objects.create(organization=org, full_name="Bob")
    kept = _resume_with_everything(bystander, job, "bob.pdf")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(make_recruiter(org)).delete(f"/api/candidates/{candidate.pk}/")
    assert response.status_code == 204
    assert sorted(erased) == sorted([(Resume, first.pk), (Resume, second.pk)])
    assert not Candidate.objects.filter(pk=candidate.pk).exists()
    assert not Resume.objects.filter(pk__in=[first.pk, second.pk]).exists()
    assert not any(default_storage.exists(name) for name in files)
    assert list(DocumentVector.objects.values_list("resume_id", flat=True)) == [kept.pk]
    assert list(Interaction.objects.values_list("resume_id", flat=True)) == [kept.pk]
    assert default_storage.exists(kept.source_file.name)


def test_failed_erasure_keeps_everything(make_org, make_recruiter, make_job, client_for, erased, make_user):
    """Someone who may only see a resume (an applicant's) cannot erase it: 403, and nothing goes."""
    org = make_org()
    job = make_job(org)
    seeker = make_user()
    candidate = Candidate.objects.create(user=seeker, full_name="Applicant")
    resume = _resume_with_everything(candidate, job)
    services.interaction_record(job=job, resume=resume, kind="apply", actor=seeker)
    api = client_for(make_recruiter(org))
    assert api.delete(f"/api/resumes/{resume.pk}/").status_code == 403
    assert api.delete(f"/api/candidates/{candidate.pk}/").status_code == 403
    assert Resume.objects.filter(pk=resume.pk).exists() and default_storage.exists(resume.source_file.name)
    assert DocumentVector.objects.filter(resume=resume).exists() and erased == []


def test_delete_job_sends_document_erased(
    make_org, make_recruiter, make_job, client_for, erased, django_capture_on_commit_callbacks
):
    org = make_org()
    job = make_job(org)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(make_recruiter(org)).delete(f"/api/jobs/{job.pk}/").status_code == 204
    assert erased == [(Job, job.pk)]
