from __future__ import annotations

import pytest
from django.forms.models import model_to_dict

from recruiting.models import Candidate, Job, Membership, Organization


@pytest.fixture
def org(make_org):
    return make_org("Acme")


@pytest.fixture
def admin(org, make_recruiter):
    return make_recruiter(org, Membership.Role.ADMIN)


@pytest.fixture
def recruiter(org, make_recruiter):
    return make_recruiter(org)


def test_create_organization_makes_the_creator_admin(make_user, client_for):
    user = make_user()
    api = client_for(user)
    response = api.post("/api/organizations/", {"name": "Widgets & Co"}, format="json")
    assert response.status_code == 201, response.content
    assert response.data["slug"] == "widgets-co" and response.data["role"] == "admin"
    org = Organization.objects.get(pk=response.data["id"])
    assert Membership.objects.get(organization=org, user=user).role == "admin"
    listed = api.get("/api/organizations/").data["results"]
    assert [(o["id"], o["role"]) for o in listed] == [(org.pk, "admin")]


def test_create_organization_bad_input(make_user, client_for, org):
    api = client_for(make_user())
    response = api.post("/api/organizations/", {"name": ""}, format="json")
    assert response.status_code == 400 and "name" in response.data
    response = api.post("/api/organizations/", {"name": "Dup", "slug": org.slug}, format="json")
    assert response.status_code == 400 and "slug" in response.data
    response = api.post("/api/organizations/", {"name": "Bad", "slug": "not a slug"}, format="json")
    assert response.status_code == 400 and "slug" in response.data
    assert Organization.objects.count() == 1


def test_admin_updates_organization_recruiter_cannot(org, admin, recruiter, client_for):
    response = client_for(recruiter).patch(f"/api/organizations/{org.pk}/", {"name": "Mine"}, format="json")
    assert response.status_code == 403
    assert client_for(recruiter).delete(f"/api/organizations/{org.pk}/").status_code == 403
    assert Organization.objects.get(pk=org.pk).name == "Acme"
    assert client_for(recruiter).get(f"/api/organizations/{org.pk}/").data["role"] == "recruiter"

    api = client_for(admin)
    response = api.patch(f"/api/organizations/{org.pk}/", {"name": "Acme GmbH"}, format="json")
    assert response.status_code == 200 and response.data["name"] == "Acme GmbH"
    response = api.put(f"/api/organizations/{org.pk}/", {"name": "Acme AG", "slug": "acme-ag"}, format="json")
    assert response.status_code == 200, response.content
    org.refresh_from_db()
    assert (org.name, org.slug) == ("Acme AG", "acme-ag")


def test_failed_organization_update_changes_nothing(org, admin, make_org, client_for):
    other = make_org()
    before = model_to_dict(Organization.objects.get(pk=org.pk))
    response = client_for(admin).put(
        f"/api/organizations/{org.pk}/", {"name": "Renamed", "slug": other.slug}, format="json"
    )
    assert response.status_code == 400 and "slug" in response.data
    assert model_to_dict(Organization.objects.get(pk=org.pk)) == before


def test_admin_deletes_organization_with_its_jobs_and_talent_pool(
    org, admin, client_for, make_job, make_resume
):
    job = make_job(org)
    resume = make_resume(org=org)
    assert client_for(admin).delete(f"/api/organizations/{org.pk}/").status_code == 204
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert not Job.objects.filter(pk=job.pk).exists()
    assert not Candidate.objects.filter(pk=resume.candidate_id).exists()


def test_members_list_change_remove(org, admin, recruiter, make_user, client_for):
    api = client_for(admin)
    members = api.get(f"/api/organizations/{org.pk}/members/").data["results"]
    assert {(m["user"], m["role"]) for m in members} == {(admin.pk, "admin"), (recruiter.pk, "recruiter")}
    url = f"/api/organizations/{org.pk}/members/{recruiter.pk}/"
    assert api.get(url).data["role"] == "recruiter"
    response = api.patch(url, {"role": "admin"}, format="json")
    assert response.status_code == 200 and response.data["role"] == "admin"
    assert Membership.objects.get(organization=org, user=recruiter).role == "admin"
    response = api.put(url, {"role": "recruiter"}, format="json")
    assert response.status_code == 200 and response.data["role"] == "recruiter"
    assert api.delete(url).status_code == 204
    assert not Membership.objects.filter(organization=org, user=recruiter).exists()
    assert api.get(url).status_code == 404


def test_nobody_is_added_by_username(org, admin, make_user, client_for):
    """Adding by username added people without consent and told whether a username exists."""
    newcomer = make_user()
    api = client_for(admin)
    for username in (newcomer.username, "nobody-by-this-name"):
        response = api.post(f"/api/organizations/{org.pk}/members/", {"username": username}, format="json")
        assert response.status_code == 405
    assert not Membership.objects.filter(user=newcomer).exists()


def test_recruiters_cannot_manage_members(org, admin, recruiter, make_user, client_for):
    api = client_for(recruiter)
    assert api.get(f"/api/organizations/{org.pk}/members/").status_code == 200
    assert api.post(f"/api/organizations/{org.pk}/invitations/", {}, format="json").status_code == 403
    # Not even to promote themselves.
    url = f"/api/organizations/{org.pk}/members/{recruiter.pk}/"
    assert api.patch(url, {"role": "admin"}, format="json").status_code == 403
    assert api.delete(f"/api/organizations/{org.pk}/members/{admin.pk}/").status_code == 403
    assert sorted(Membership.objects.filter(organization=org).values_list("user_id", "role")) == sorted(
        [(admin.pk, "admin"), (recruiter.pk, "recruiter")]
    )


def test_member_bad_input(org, admin, client_for):
    api = client_for(admin)
    url = f"/api/organizations/{org.pk}/members/{admin.pk}/"
    response = api.patch(url, {"role": "owner"}, format="json")
    assert response.status_code == 400 and "role" in response.data
    assert Membership.objects.get(organization=org, user=admin).role == "admin"


def test_last_admin_cannot_leave_or_be_demoted(org, admin, recruiter, client_for):
    api = client_for(admin)
    url = f"/api/organizations/{org.pk}/members/{admin.pk}/"
    response = api.patch(url, {"role": "recruiter"}, format="json")
    assert response.status_code == 400 and "role" in response.data
    response = api.delete(url)
    assert response.status_code == 400 and "role" in response.data
    assert Membership.objects.get(organization=org, user=admin).role == "admin"
    # With a second admin, the first may step down.
    api.patch(f"/api/organizations/{org.pk}/members/{recruiter.pk}/", {"role": "admin"}, format="json")
    assert api.patch(url, {"role": "recruiter"}, format="json").status_code == 200
