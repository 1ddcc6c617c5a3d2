"""Invitations: an admin invites, the invited user accepts; members leave; nothing discloses usernames."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recruiting.models import Invitation, Membership


@pytest.fixture
def org(make_org):
    return make_org("Acme")


@pytest.fixture
def admin(org, make_recruiter):
    return make_recruiter(org, Membership.Role.ADMIN)


def _invite(client, org, role: str = "recruiter") -> dict:
    response = client.post(f"/api/organizations/{org.pk}/invitations/", {"role": role}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_invited_user_accepts_and_joins_with_the_role(org, admin, make_user, client_for):
    created = _invite(client_for(admin), org, "admin")
    assert created["code"] and created["role"] == "admin" and created["accepted_at"] is None
    assert Invitation.objects.get().code_digest != created["code"]  # only a digest is stored
    invitee = make_user()
    assert not Membership.objects.filter(user=invitee).exists()  # nothing happens before accepting
    response = client_for(invitee).post("/api/invitations/accept/", {"code": created["code"]}, format="json")
    assert response.status_code == 201 and response.json()["role"] == "admin"
    assert Membership.objects.get(user=invitee, organization=org).role == "admin"
    # spent: a second use (by anyone) is refused with the field named
    again = client_for(make_user()).post("/api/invitations/accept/", {"code": created["code"]}, format="json")
    assert again.status_code == 400 and "code" in again.json()
    listed = client_for(admin).get(f"/api/organizations/{org.pk}/invitations/").json()
    assert listed["count"] == 0 and "code" not in str(listed["results"])


def test_expired_revoked_and_unknown_codes_answer_alike(org, admin, make_user, client_for):
    api = client_for(admin)
    expired, revoked = _invite(api, org), _invite(api, org)
    Invitation.objects.filter(pk=expired["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.delete(f"/api/organizations/{org.pk}/invitations/{revoked['id']}/").status_code == 204
    user = client_for(make_user())
    answers = [
        user.post("/api/invitations/accept/", {"code": code}, format="json").json()
        for code in (expired["code"], revoked["code"], "made-up-code")
    ]
    assert answers[0] == answers[1] == answers[2] and "code" in answers[0]
    assert Membership.objects.filter(organization=org).count() == 1


def test_only_admins_invite_and_outsiders_get_404(
    org, admin, make_recruiter, make_org, make_user, client_for
):
    recruiter = make_recruiter(org)
    url = f"/api/organizations/{org.pk}/invitations/"
    assert client_for(recruiter).post(url, {}, format="json").status_code == 403
    assert client_for(recruiter).get(url).status_code == 403
    outsider_admin = make_recruiter(make_org(), Membership.Role.ADMIN)
    assert client_for(outsider_admin).post(url, {}, format="json").status_code == 404
    assert client_for(admin).post(url, {"role": "owner"}, format="json").status_code == 400
    assert not Invitation.objects.exists()


def test_member_leaves_and_last_admin_cannot(org, admin, make_recruiter, client_for):
    recruiter = make_recruiter(org)
    assert client_for(recruiter).post(f"/api/organizations/{org.pk}/leave/").status_code == 204
    assert not Membership.objects.filter(user=recruiter).exists()
    assert client_for(recruiter).get(f"/api/organizations/{org.pk}/").status_code == 404
    response = client_for(admin).post(f"/api/organizations/{org.pk}/leave/")
    assert response.status_code == 400 and "role" in response.json()
    assert Membership.objects.filter(user=admin, organization=org).exists()
