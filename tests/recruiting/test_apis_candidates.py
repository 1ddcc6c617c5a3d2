from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from recruiting.models import Candidate


@pytest.fixture
def org(make_org):
    return make_org("Acme")


@pytest.fixture
def api(org, make_recruiter, client_for):
    return client_for(make_recruiter(org))


def test_recruiter_creates_talent_pool_candidate(api, org):
    response = api.post(
        "/api/candidates/",
        {
            "organization": org.pk,
            "full_name": "Ada Lovelace",
            "email": "ada@example.com",
            "external_id": "c-1",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    candidate = Candidate.objects.get(pk=response.data["id"])
    assert candidate.organization == org and candidate.user is None
    assert response.data["has_account"] is False


def test_recruiter_must_name_the_organization(api):
    response = api.post("/api/candidates/", {"full_name": "X"}, format="json")
    assert response.status_code == 400 and "organization" in response.data
    assert not Candidate.objects.exists()


def test_job_seeker_creates_own_profile_once(make_user, client_for):
    user = make_user()
    api = client_for(user)
    response = api.post("/api/candidates/", {"full_name": "Grace Hopper"}, format="json")
    assert response.status_code == 201, response.content
    assert Candidate.objects.get(pk=response.data["id"]).user == user
    assert response.data["organization"] is None and response.data["has_account"] is True
    response = api.post("/api/candidates/", {"full_name": "Grace again"}, format="json")
    assert response.status_code == 400 and "non_field_errors" in response.data
    assert Candidate.objects.filter(user=user).count() == 1


def test_job_seeker_cannot_join_a_talent_pool(make_user, client_for, org):
    response = client_for(make_user()).post(
        "/api/candidates/", {"full_name": "X", "organization": org.pk}, format="json"
    )
    assert response.status_code == 400 and "organization" in response.data


def test_update_and_bad_input_changes_nothing(api, org):
    candidate = Candidate.objects.create(organization=org, full_name="Ada", email="ada@example.com")
    url = f"/api/candidates/{candidate.pk}/"
    response = api.patch(url, {"location": "London"}, format="json")
    assert response.status_code == 200 and response.data["location"] == "London"
    before = model_to_dict(Candidate.objects.get(pk=candidate.pk))
    for payload, field in [
        ({"email": "not-an-email"}, "email"),
        ({"full_name": "x" * 201}, "full_name"),
        ({"full_name": ["list"]}, "full_name"),
    ]:
        response = api.patch(url, payload, format="json")
        assert response.status_code == 400 and field in response.data, response.data
        assert model_to_dict(Candidate.objects.get(pk=candidate.pk)) == before
    response = api.put(url, {"full_name": "Ada King"}, format="json")
    assert response.status_code == 200
    candidate.refresh_from_db()
    assert (candidate.full_name, candidate.email, candidate.location, candidate.organization) == (
        "Ada King",
        "",
        "",
        org,
    )


def test_duplicate_external_id_is_refused(api, org):
    Candidate.objects.create(organization=org, full_name="A", external_id="ext-1")
    response = api.post("/api/candidates/", {"organization": org.pk, "external_id": "ext-1"}, format="json")
    assert response.status_code == 400
    assert response.data["external_id"] == ["Candidate with this external_id already exists."]
    assert Candidate.objects.filter(external_id="ext-1").count() == 1


def test_candidate_sees_and_edits_own_profile_only(make_user, client_for, org):
    user = make_user()
    own = Candidate.objects.create(user=user, full_name="Me")
    pooled = Candidate.objects.create(organization=org, full_name="Pooled")
    api = client_for(user)
    assert [c["id"] for c in api.get("/api/candidates/").data["results"]] == [own.pk]
    assert api.patch(f"/api/candidates/{own.pk}/", {"location": "Paris"}, format="json").status_code == 200
    assert api.get(f"/api/candidates/{pooled.pk}/").status_code == 404


def test_candidate_filters_and_ordering(api, org):
    a = Candidate.objects.create(organization=org, full_name="Zed", email="Z@x.io", external_id="e1")
    b = Candidate.objects.create(organization=org, full_name="Amy", email="amy@x.io")
    rows = api.get("/api/candidates/?ordering=full_name").data["results"]
    assert [r["id"] for r in rows] == [b.pk, a.pk]
    assert [r["id"] for r in api.get("/api/candidates/?email=z@x.io").data["results"]] == [a.pk]
    assert [r["id"] for r in api.get("/api/candidates/?name=am").data["results"]] == [b.pk]
    assert [r["id"] for r in api.get("/api/candidates/?external_id=e1").data["results"]] == [a.pk]
