"""The Django admin pages load, and deletes there erase like the API's do."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from recruiting import services
from recruiting.models import Candidate, Interaction, Job, Resume


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def test_admin_pages_load(staff_client, make_org, make_job, make_resume):
    org = make_org()
    job = make_job(org)
    resume = make_resume(org=org)
    interaction = services.interaction_record(job=job, resume=resume, kind="shortlist")
    for name, obj in [
        ("organization", org),
        ("job", job),
        ("candidate", resume.candidate),
        ("resume", resume),
        ("interaction", interaction),
    ]:
        assert staff_client.get(f"/admin/recruiting/{name}/").status_code == 200, name
        assert staff_client.get(f"/admin/recruiting/{name}/{obj.pk}/change/").status_code == 200, name
    # The log is read-only there too.
    assert staff_client.get(f"/admin/recruiting/interaction/{interaction.pk}/delete/").status_code == 403


def test_admin_delete_erases_resume_file(staff_client, make_org, django_capture_on_commit_callbacks):
    candidate = Candidate.objects.create(organization=make_org())
    resume = services.resume_create(
        candidate=candidate, data={"headline": "x"}, source_file=SimpleUploadedFile("cv.txt", b"private")
    )
    name = resume.source_file.name
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/admin/recruiting/resume/{resume.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Resume.objects.exists() and not default_storage.exists(name)


def test_admin_saves_jobs_through_the_service(staff_client, make_org):
    org = make_org()
    data = {
        "organization": org.pk,
        "title": "Admin job",
        "description": "",
        "required_skills": '["Python"]',
        "nice_to_have_skills": "[]",
        "location": "",
        "seniority": "mid",
        "employment_type": "full_time",
        "salary_min": "10",
        "salary_max": "5",
        "salary_currency": "USD",
        "status": "open",
        "external_id": "",
        "created_at_0": "2024-01-01",
        "created_at_1": "00:00:00",
    }
    response = staff_client.post("/admin/recruiting/job/add/", data)
    assert response.status_code == 200 and not Job.objects.exists()  # the form shows the salary error
    data["salary_max"] = "20"
    response = staff_client.post("/admin/recruiting/job/add/", data)
    assert response.status_code == 302, response.content[:2000]
    job = Job.objects.get()
    assert job.required_skills == ["Python"] and job.content_hash
    assert not Interaction.objects.exists()
