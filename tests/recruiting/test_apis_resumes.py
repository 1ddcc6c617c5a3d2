from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from recruiting import services
from recruiting.models import Candidate, Resume


@pytest.fixture
def org(make_org):
    return make_org("Acme")


@pytest.fixture
def api(org, make_recruiter, client_for):
    return client_for(make_recruiter(org))


@pytest.fixture
def candidate(org):
    return Candidate.objects.create(organization=org, full_name="Ada")


RESUME = {
    "headline": "Backend engineer",
    "summary": "Ten years of Python.",
    "skills": ["Python", "PostgreSQL"],
    "experience": [{"title": "Engineer", "company": "Initech", "start": "2015", "end": "2020"}],
    "education": [{"degree": "MSc", "institution": "ETH", "year": 2014}],
}


def test_recruiter_creates_resume_for_pool_candidate(api, candidate):
    response = api.post("/api/resumes/", {"candidate": candidate.pk, **RESUME}, format="json")
    assert response.status_code == 201, response.content
    resume = Resume.objects.get(pk=response.data["id"])
    assert resume.candidate == candidate and resume.education == RESUME["education"]
    assert "Backend engineer" in resume.full_text and "Skills: Python, PostgreSQL" in resume.full_text
    assert response.data["has_file"] is False


def test_candidate_field_is_scoped(api, make_org):
    foreign = Candidate.objects.create(organization=make_org(), full_name="Other")
    response = api.post("/api/resumes/", {"candidate": foreign.pk, **RESUME}, format="json")
    assert response.status_code == 400
    assert response.data["candidate"] == [f'Invalid pk "{foreign.pk}" - object does not exist.']
    response = api.post("/api/resumes/", RESUME, format="json")
    assert response.status_code == 400 and "candidate" in response.data
    assert not Resume.objects.exists()


def test_job_seeker_creates_updates_and_erases_own_resume(make_user, client_for):
    user = make_user()
    own = Candidate.objects.create(user=user, full_name="Me")
    api = client_for(user)
    response = api.post("/api/resumes/", RESUME, format="json")
    assert response.status_code == 201, response.content
    resume = Resume.objects.get(pk=response.data["id"])
    assert resume.candidate == own
    response = api.patch(f"/api/resumes/{resume.pk}/", {"skills": ["Rust"]}, format="json")
    assert response.status_code == 200 and response.data["skills"] == ["Rust"]
    assert "Skills: Rust" in Resume.objects.get(pk=resume.pk).full_text
    assert api.delete(f"/api/resumes/{resume.pk}/").status_code == 204
    assert not Resume.objects.filter(pk=resume.pk).exists()


def test_user_without_profile_must_create_one_first(make_user, client_for):
    response = client_for(make_user()).post("/api/resumes/", RESUME, format="json")
    assert response.status_code == 400 and "candidate" in response.data


def test_put_replaces_and_explicit_full_text_is_kept(api, candidate):
    resume = services.resume_create(candidate=candidate, data=dict(RESUME))
    response = api.put(
        f"/api/resumes/{resume.pk}/", {"headline": "Data engineer", "full_text": "Raw text."}, format="json"
    )
    assert response.status_code == 200, response.content
    resume.refresh_from_db()
    assert (resume.headline, resume.skills, resume.experience, resume.full_text) == (
        "Data engineer",
        [],
        [],
        "Raw text.",
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"skills": "python"}, "skills"),
        ({"skills": [""]}, "skills"),
        ({"skills": ["x"] * 201}, "skills"),
        ({"experience": "lots"}, "experience"),
        ({"experience": ["not an object"]}, "experience"),
        ({"experience": [{"title": "x", "salary": 1}]}, "experience"),  # unknown key
        ({"experience": [{"title": {"nested": 1}}]}, "experience"),
        ({"education": [{"degree": ["x"]}]}, "education"),
        ({"headline": "x" * 301}, "headline"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_nothing_changes(api, candidate, payload, field):
    resume = services.resume_create(candidate=candidate, data=dict(RESUME))
    before = model_to_dict(Resume.objects.get(pk=resume.pk))
    response = api.patch(f"/api/resumes/{resume.pk}/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.data, response.data
    assert model_to_dict(Resume.objects.get(pk=resume.pk)) == before
    count = Resume.objects.count()
    response = api.post("/api/resumes/", {"candidate": candidate.pk, **payload}, format="json")
    assert response.status_code == 400 and field in response.data
    assert Resume.objects.count() == count


def test_resume_filters(api, candidate, org):
    other = Candidate.objects.create(organization=org, full_name="Bob")
    r1 = services.resume_create(candidate=candidate, data={"skills": ["Python", "Go"]})
    r2 = services.resume_create(candidate=other, data={"skills": ["Django", "go-lang"]})

    def ids(query):
        response = api.get(f"/api/resumes/?{query}")
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.data["results"]}

    assert ids("") == {r1.pk, r2.pk}
    assert ids(f"candidate={other.pk}") == {r2.pk}
    assert ids("skill=go") == {r1.pk}
    assert ids("skill=GO,python") == {r1.pk}
    assert ids("skill=django") == {r2.pk}
    assert ids("skill=java") == set()
    assert [r["id"] for r in api.get("/api/resumes/?ordering=created_at").data["results"]] == [r1.pk, r2.pk]


def test_resume_without_text_is_created(api, candidate):
    """A candidate known only by interactions has a resume with no text: valid, nothing composed."""
    response = api.post("/api/resumes/", {"candidate": candidate.pk, "external_id": "R-7"}, format="json")
    assert response.status_code == 201, response.content
    resume = Resume.objects.get(pk=response.data["id"])
    assert (resume.external_id, resume.headline, resume.skills, resume.full_text) == ("R-7", "", [], "")
    assert resume.content_hash == resume.compute_content_hash()
    response = api.post("/api/resumes/", {"candidate": candidate.pk}, format="json")
    assert response.status_code == 201, response.content
