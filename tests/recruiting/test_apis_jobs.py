from __future__ import annotations

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone
from rest_framework.pagination import PageNumberPagination

from recruiting import signals
from recruiting.models import Job, Membership


@pytest.fixture
def org(make_org):
    return make_org("Acme")


@pytest.fixture
def recruiter(org, make_recruiter):
    return make_recruiter(org)


@pytest.fixture
def api(recruiter, client_for):
    return client_for(recruiter)


def _results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.data["results"]


def test_create_job_defaults_to_the_single_organization(api, org, django_capture_on_commit_callbacks):
    saved = []

    def on_saved(sender, **kwargs):
        saved.append((sender, kwargs))

    signals.document_saved.connect(on_saved)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                "/api/jobs/",
                {"title": "Data Engineer", "required_skills": ["Python", "Spark"], "salary_min": 50000},
                format="json",
            )
    finally:
        signals.document_saved.disconnect(on_saved)
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.data["id"])
    assert job.organization == org and job.required_skills == ["Python", "Spark"]
    assert response.data["organization"] == org.pk
    assert response.data["status"] == "open" and response.data["seniority"] == "mid"
    assert saved == [
        (Job, {"signal": signals.document_saved, "instance_id": job.pk, "content_changed": True})
    ]


def test_create_job_needs_organization_when_member_of_several(make_org, make_recruiter, client_for, org):
    user = make_recruiter(org)
    other = make_org()
    Membership.objects.create(user=user, organization=other)
    api = client_for(user)
    response = api.post("/api/jobs/", {"title": "X"}, format="json")
    assert response.status_code == 400 and "organization" in response.data
    response = api.post("/api/jobs/", {"title": "X", "organization": other.pk}, format="json")
    assert response.status_code == 201 and response.data["organization"] == other.pk


def test_create_job_in_foreign_organization_is_400_on_organization(api, make_org):
    foreign = make_org()
    response = api.post("/api/jobs/", {"title": "X", "organization": foreign.pk}, format="json")
    assert response.status_code == 400
    assert response.data["organization"] == [f'Invalid pk "{foreign.pk}" - object does not exist.']
    assert not Job.objects.filter(organization=foreign).exists()


def test_job_seeker_cannot_create_jobs(make_user, client_for):
    response = client_for(make_user()).post("/api/jobs/", {"title": "X"}, format="json")
    assert response.status_code == 400 and "organization" in response.data


def test_retrieve_update_partial_update_delete(api, org, make_job):
    job = make_job(org, salary_min=1000, salary_max=2000, remote=True)
    response = api.get(f"/api/jobs/{job.pk}/")
    assert response.status_code == 200 and response.data["title"] == "Backend Engineer"

    response = api.patch(f"/api/jobs/{job.pk}/", {"status": "closed"}, format="json")
    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert job.status == "closed" and job.remote is True and job.salary_max == 2000

    # PUT replaces: omitted optional fields go back to their defaults.
    response = api.put(f"/api/jobs/{job.pk}/", {"title": "Platform Engineer"}, format="json")
    assert response.status_code == 200, response.content
    job.refresh_from_db()
    assert (job.title, job.status, job.remote, job.salary_min, job.required_skills) == (
        "Platform Engineer",
        "open",
        False,
        None,
        [],
    )
    response = api.put(f"/api/jobs/{job.pk}/", {"description": "no title"}, format="json")
    assert response.status_code == 400 and "title" in response.data

    assert api.delete(f"/api/jobs/{job.pk}/").status_code == 204
    assert not Job.objects.filter(pk=job.pk).exists()
    assert api.get(f"/api/jobs/{job.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"required_skills": "python"}, "required_skills"),
        ({"required_skills": [1, {"a": 1}]}, "required_skills"),
        ({"required_skills": [""]}, "required_skills"),
        ({"nice_to_have_skills": ["x" * 201]}, "nice_to_have_skills"),
        ({"salary_min": 90000, "salary_max": 10000}, "salary_max"),
        ({"salary_min": 60000}, "salary_max"),  # above the stored salary_max
        ({"salary_max": 10}, "salary_max"),  # below the stored salary_min
        ({"salary_min": -1}, "salary_min"),
        ({"seniority": "wizard"}, "seniority"),
        ({"status": "paused"}, "status"),
        ({"employment_type": "gig"}, "employment_type"),
        ({"remote": "sometimes"}, "remote"),
        ({"title": ""}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"salary_currency": "EURO"}, "salary_currency"),
    ],
)
def test_bad_input_is_400_with_the_field_named_and_nothing_changes(api, org, make_job, payload, field):
    job = make_job(org, salary_min=20000, salary_max=50000)
    before = model_to_dict(Job.objects.get(pk=job.pk))
    before_updated = Job.objects.get(pk=job.pk).updated_at
    response = api.patch(f"/api/jobs/{job.pk}/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.data, response.data
    after = Job.objects.get(pk=job.pk)
    assert model_to_dict(after) == before and after.updated_at == before_updated
    # Invalid on its own (not only against the stored row): it cannot create a job either.
    if field != "salary_max" or len(payload) == 2:
        count = Job.objects.count()
        response = api.post("/api/jobs/", {"title": "New", **payload}, format="json")
        assert response.status_code == 400 and field in response.data
        assert Job.objects.count() == count


def test_unknown_fields_are_ignored_not_written(api, org, make_job):
    job = make_job(org)
    response = api.patch(
        f"/api/jobs/{job.pk}/", {"organization": 999999, "content_hash": "x", "title": "T"}, format="json"
    )
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.organization == org and job.content_hash != "x" and job.title == "T"


def test_recruiter_cannot_touch_jobs_seen_only_as_job_seeker(make_org, make_job, make_user, client_for):
    """A job seeker sees open jobs; changing them is a 403, not a 404, since they can see them."""
    job = make_job(make_org())
    api = client_for(make_user())
    assert api.get(f"/api/jobs/{job.pk}/").status_code == 200
    assert api.put(f"/api/jobs/{job.pk}/", {"title": "Mine"}, format="json").status_code == 403
    assert Job.objects.get(pk=job.pk).title == "Backend Engineer"


@pytest.fixture
def catalogue(org, make_job):
    now = timezone.now()
    return {
        "py": make_job(
            org,
            title="Python dev",
            required_skills=["Python", "Django"],
            location="Berlin, DE",
            remote=True,
            seniority="senior",
            created_at=now - timedelta(days=10),
            salary_min=70000,
        ),
        "go": make_job(
            org,
            title="Go dev",
            required_skills=["Go"],
            nice_to_have_skills=["Kubernetes"],
            location="Munich",
            seniority="junior",
            employment_type="contract",
            created_at=now - timedelta(days=3),
            salary_min=50000,
        ),
        "closed": make_job(
            org,
            title="Old role",
            required_skills=["COBOL"],
            location="Berlin",
            status="closed",
            created_at=now - timedelta(days=1),
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", {"py", "go"}),
        ("status=closed", {"closed"}),
        ("remote=true", {"py"}),
        ("remote=false", {"go", "closed"}),
        ("seniority=senior", {"py"}),
        ("seniority=senior&seniority=junior", {"py", "go"}),
        ("employment_type=contract", {"go"}),
        ("location=berlin", {"py", "closed"}),
        ("skill=python", {"py"}),
        ("skill=go", {"go"}),  # an element match: "Django" does not contain the skill "go"
        ("skill=kubernetes", {"go"}),  # nice-to-have counts for skill=
        ("required_skill=kubernetes", set()),
        ("skill=python,django", {"py"}),
        ("skill=python,go", set()),
        ("created_after={d5}", {"go", "closed"}),
        ("created_before={d5}", {"py"}),
        ("created_after={d5}&created_before={d2}", {"go"}),
        ("location=berlin&status=open", {"py"}),
    ],
)
def test_job_filters(api, org, catalogue, query, expected):
    now = timezone.now()
    query = query.format(
        d5=(now - timedelta(days=5)).isoformat().replace("+00:00", "Z"),
        d2=(now - timedelta(days=2)).isoformat().replace("+00:00", "Z"),
    )
    ids = {row["id"] for row in _results(api.get(f"/api/jobs/?{query}"))}
    assert ids == {catalogue[k].pk for k in expected}


def test_job_filter_by_organization(api, org, catalogue):
    assert len(_results(api.get(f"/api/jobs/?organization={org.pk}"))) == 3


def test_bad_filter_value_is_400_naming_the_filter(api, catalogue):
    response = api.get("/api/jobs/?seniority=wizard")
    assert response.status_code == 400 and "seniority" in response.data
    response = api.get("/api/jobs/?created_after=yesterday")
    assert response.status_code == 400 and "created" in response.data


def test_ordering_and_pagination(api, org, catalogue, monkeypatch):
    titles = [r["title"] for r in _results(api.get("/api/jobs/?ordering=title"))]
    assert titles == ["Go dev", "Old role", "Python dev"]
    default = [r["id"] for r in _results(api.get("/api/jobs/"))]
    assert default == [catalogue[k].pk for k in ("closed", "go", "py")]  # newest first
    ids = [r["id"] for r in _results(api.get("/api/jobs/?ordering=-salary_min"))]
    assert ids[:2] == [catalogue["py"].pk, catalogue["go"].pk]

    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    first = api.get("/api/jobs/?ordering=title")
    assert first.data["count"] == 3 and len(first.data["results"]) == 2 and first.data["next"]
    second = api.get(first.data["next"])
    assert [r["title"] for r in second.data["results"]] == ["Python dev"]
    assert api.get("/api/jobs/?page=9").status_code == 404


def test_employer_is_written_read_and_filtered(api, org, make_job):
    response = api.post("/api/jobs/", {"title": "Nurse", "employer": "St. Mary's Hospital"}, format="json")
    assert response.status_code == 201, response.content
    assert response.data["employer"] == "St. Mary's Hospital"
    assert Job.objects.get(pk=response.data["id"]).employer == "St. Mary's Hospital"
    plain = make_job(org, title="Cook")  # no employer: the organization hires for itself
    assert api.get(f"/api/jobs/{plain.pk}/").data["employer"] == ""
    response = api.patch(f"/api/jobs/{plain.pk}/", {"employer": "Marys Diner"}, format="json")
    assert response.status_code == 200 and response.data["employer"] == "Marys Diner"
    assert {r["title"] for r in _results(api.get("/api/jobs/?employer=MARY"))} == {"Nurse", "Cook"}
    assert [r["title"] for r in _results(api.get("/api/jobs/?employer=hospital"))] == ["Nurse"]
    response = api.post("/api/jobs/", {"title": "X", "employer": "e" * 201}, format="json")
    assert response.status_code == 400 and "employer" in response.data
