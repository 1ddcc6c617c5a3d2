"""Input that used to answer 500 (schemathesis and by hand) now answers 4xx naming the field, storing nothing."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from recruiting.models import Job, Membership, Resume
from recruiting.validators import MAX_TEXT_CHARS


@pytest.fixture
def org(make_org):
    return make_org()


@pytest.fixture
def recruiter(org, make_recruiter, client_for):
    return client_for(make_recruiter(org, Membership.Role.ADMIN))


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [50, 100_000])
def test_deeply_nested_json_is_a_400_also_unauthenticated(client, recruiter, depth):
    body = '{"username": ' + _nested(depth) + ', "password": "x"}'
    response = client.post("/api/auth/token/", body, content_type="application/json")
    assert response.status_code == 400 and "nested" in response.json()["detail"]
    response = recruiter.post(
        "/api/jobs/", '{"title": "T", "x": ' + _nested(depth) + "}", content_type="application/json"
    )
    assert response.status_code == 400
    assert not Job.objects.exists()


def test_oversized_json_body_is_a_413(recruiter, settings):
    body = json.dumps({"title": "T", "description": "x" * (settings.JSON_BODY_MAX_BYTES + 10)})
    response = recruiter.post("/api/jobs/", body, content_type="application/json")
    assert response.status_code == 413
    assert not Job.objects.exists()


def test_free_text_caps_name_the_field(recruiter, org, make_resume):
    response = recruiter.post(
        "/api/jobs/", {"title": "T", "description": "x" * (MAX_TEXT_CHARS + 1)}, format="json"
    )
    assert response.status_code == 400 and "description" in response.json()
    resume = make_resume(org=org)
    response = recruiter.patch(
        f"/api/resumes/{resume.pk}/", {"summary": "y" * (MAX_TEXT_CHARS + 1)}, format="json"
    )
    assert response.status_code == 400 and "summary" in response.json()
    assert not Job.objects.exists() and Resume.objects.get(pk=resume.pk).summary == resume.summary


@pytest.mark.parametrize("field", ["experience", "education"])
@pytest.mark.parametrize("text", ["nul \x00 inside", "lone \ud800 surrogate"])
def test_unstorable_characters_in_entries(recruiter, org, make_resume, field, text):
    resume = make_resume(org=org)
    key = "title" if field == "experience" else "degree"
    body = json.dumps(
        {field: [{key: text}]}, ensure_ascii=True
    )  # \\u0000 and \\ud800 escapes, as a client sends
    response = recruiter.patch(f"/api/resumes/{resume.pk}/", body, content_type="application/json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert getattr(Resume.objects.get(pk=resume.pk), field) == getattr(resume, field)
    # and an unknown key carrying a surrogate is named without breaking the response's encoding
    body = json.dumps({field: [{"\ud800": "x"}]}, ensure_ascii=True)
    response = recruiter.patch(f"/api/resumes/{resume.pk}/", body, content_type="application/json")
    assert response.status_code == 400 and field in response.json()


@pytest.mark.parametrize("offset", ["+23:59", "-20:00", "+16:00"])
def test_date_filters_with_any_utc_offset(recruiter, org, make_job, offset):
    make_job(org)
    for endpoint in ("jobs", "candidates", "resumes", "interactions"):
        response = recruiter.get(f"/api/{endpoint}/", {"created_after": f"2020-01-01T00:00:00{offset}"})
        assert response.status_code == 200, (endpoint, response.content)
    assert recruiter.get("/api/jobs/", {"created_after": "2020-01-01T00:00:00+23:00"}).json()["count"] == 1
    response = recruiter.get("/api/jobs/", {"created_before": "0001-01-01T00:00:00+23:00"})
    assert response.status_code == 400 and "created" in str(response.json())


@pytest.mark.parametrize("value", ["²", "9" * 5000, "9" * 30, "-1", "1.5"])
def test_odd_organization_and_id_filters(recruiter, org, make_job, value):
    make_job(org)
    for endpoint, name in (("jobs", "organization"), ("candidates", "organization"), ("interactions", "job")):
        response = recruiter.get(f"/api/{endpoint}/", {name: value})
        assert response.status_code == 400 and name in response.json(), (endpoint, response.content)


@pytest.mark.parametrize("value", ["²", "9" * 5000, "9" * 30, "org\x00x", "a b"])
def test_odd_organization_on_upload_and_import(recruiter, value):
    upload = SimpleUploadedFile("cv.txt", b"Jane Doe\nSkills: python", content_type="text/plain")
    response = recruiter.post(
        "/api/resumes/upload/", {"file": upload, "organization": value}, format="multipart"
    )
    assert response.status_code in (400, 404) and "organization" in str(response.json())
    data = SimpleUploadedFile("jobs.jsonl", b'{"title": "T"}\n', content_type="application/jsonl")
    response = recruiter.post(
        "/api/imports/", {"file": data, "organization": value, "kind": "jobs"}, format="multipart"
    )
    assert response.status_code in (400, 404) and "organization" in str(response.json())
    assert not Resume.objects.exists() and not Job.objects.exists()


def test_odd_ids_on_the_registry(make_user, client_for):
    staff = client_for(make_user(is_staff=True))
    for path in ("/api/model-versions/abc/activate/", f"/api/model-versions/{'9' * 5000}/activate/"):
        assert staff.post(path).status_code == 404
    for value in ("x", "9" * 5000, 2**70):
        response = staff.post("/api/model-versions/rollback/", {"to_version": value}, format="json")
        assert response.status_code == 400 and "to_version" in response.json()
