from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from recruiting import services, signals
from recruiting.models import Candidate, Interaction, Job, Membership, Organization, Resume


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@contextmanager
def _listening(signal):
    events: list[tuple[type, dict]] = []

    def receiver(sender, **kwargs):
        events.append((sender, kwargs))

    signal.connect(receiver)
    try:
        yield events
    finally:
        signal.disconnect(receiver)


@pytest.fixture
def org(make_org):
    return make_org("Acme")


def test_inverted_salary_range_is_reported_on_salary_max(org):
    with pytest.raises(ValidationError) as info:
        services.job_create(organization=org, data={"title": "X", "salary_min": 10, "salary_max": 5})
    assert set(info.value.message_dict) == {"salary_max"}
    assert not Job.objects.exists()


def test_salary_error_is_reported_with_other_field_errors(org):
    with pytest.raises(ValidationError) as info:
        services.job_create(
            organization=org, data={"title": "", "salary_min": 10, "salary_max": 5, "seniority": "guru"}
        )
    assert set(info.value.message_dict) == {"salary_max", "title", "seniority"}


def test_job_update_is_atomic_and_reports_content_change(org, make_job, django_capture_on_commit_callbacks):
    job = make_job(org, salary_min=10, salary_max=20)
    with pytest.raises(ValidationError):
        services.job_update(job=job, data={"title": "Changed", "salary_min": 30})
    job.refresh_from_db()
    assert (job.title, job.salary_min) == ("Backend Engineer", 10)

    with _listening(signals.document_saved) as saved:
        with django_capture_on_commit_callbacks(execute=True):
            services.job_update(job=job, data={"salary_max": 30})
            services.job_update(job=job, data={"title": "Platform"})
    assert [kw["content_changed"] for _, kw in saved] == [False, True]


@pytest.mark.parametrize(
    "make",
    [
        lambda org, r: services.job_create(organization=org, data={"title": "B", "external_id": "x"}),
        lambda org, r: services.candidate_create(organization=org, data={"external_id": "x"}),
        lambda org, r: services.resume_create(candidate=r.candidate, data={"external_id": "x"}),
    ],
)
def test_duplicate_external_id_names_the_field(org, make_resume, make):
    resume = make_resume(org=org)
    make(org, resume)
    with pytest.raises(ValidationError) as info:
        make(org, resume)
    assert set(info.value.message_dict) == {"external_id"}


def test_external_id_may_repeat_across_scopes(make_org):
    a, b = make_org(), make_org()
    services.job_create(organization=a, data={"title": "A", "external_id": "x"})
    services.job_create(organization=b, data={"title": "B", "external_id": "x"})
    # Candidates outside any organization are not scoped by external_id.
    services.candidate_create(data={"external_id": "x"})
    services.candidate_create(data={"external_id": "x"})


def test_unknown_fields_and_kinds_are_refused(org, make_job, make_resume):
    with pytest.raises(ValidationError) as info:
        services.job_create(organization=org, data={"title": "X", "organization_id": 5})
    assert "organization_id" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        services.interaction_record(job=make_job(org), resume=make_resume(org=org), kind="promote")
    assert "kind" in info.value.message_dict
    assert not Interaction.objects.exists()


def test_membership_set_validates_before_writing(org, make_user):
    user = make_user()
    with pytest.raises(ValidationError):
        services.membership_set(organization=org, user=user, role="owner")
    assert not Membership.objects.filter(user=user).exists()


def test_last_admin_is_kept(org, make_user):
    admin, other = make_user(), make_user()
    services.membership_set(organization=org, user=admin, role="admin")
    services.membership_set(organization=org, user=other, role="recruiter")
    with pytest.raises(ValidationError):
        services.membership_set(organization=org, user=admin, role="recruiter")
    with pytest.raises(ValidationError):
        services.membership_remove(organization=org, user=admin)
    services.membership_remove(organization=org, user=other)
    services.membership_remove(organization=org, user=other)  # idempotent
    assert list(Membership.objects.values_list("user_id", "role")) == [(admin.pk, "admin")]


def test_organization_create_with_creator_and_unique_slug(make_user):
    user = make_user()
    first = services.organization_create(name="Acme", creator=user)
    second = services.organization_create(name="Acme")
    assert (first.slug, second.slug) == ("acme", "acme-2")
    assert Membership.objects.get(organization=first).role == "admin"


def test_organization_delete_erases_files(org, make_job, django_capture_on_commit_callbacks):
    candidate = Candidate.objects.create(organization=org)
    resume = services.resume_create(
        candidate=candidate, data={"headline": "x"}, source_file=SimpleUploadedFile("cv.txt", b"private")
    )
    name = resume.source_file.name
    make_job(org)
    with _listening(signals.document_erased) as erased:
        with django_capture_on_commit_callbacks(execute=True):
            services.organization_delete(organization=org)
    assert sorted(sender.__name__ for sender, _ in erased) == ["Job", "Resume"]
    assert not default_storage.exists(name)
    assert not Organization.objects.exists() and not Resume.objects.exists()


def test_resume_create_removes_file_when_the_row_is_refused(org, monkeypatch):
    candidate = Candidate.objects.create(organization=org)
    stored = []
    original = services._after_commit_saved

    def fail_after_save(instance, **kwargs):
        stored.append(instance.source_file.name)
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "_after_commit_saved", fail_after_save)
    with pytest.raises(RuntimeError):
        services.resume_create(
            candidate=candidate, data={"headline": "x"}, source_file=SimpleUploadedFile("cv.txt", b"x")
        )
    monkeypatch.setattr(services, "_after_commit_saved", original)
    assert stored and not default_storage.exists(stored[0])
    assert not Resume.objects.exists()
