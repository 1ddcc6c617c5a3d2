"""Tenancy: nobody reaches another organization's (or another candidate's) objects.

Every detail route, for every method, answers 404 for an object outside the caller's scope, with a
valid body so that validation cannot be what stops the request; nothing stored changes; list
endpoints never include such objects, whatever the filters.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.forms.models import model_to_dict

from recruiting import membership_services, selectors, services
from recruiting.models import (
    Candidate,
    ImportJob,
    Interaction,
    Invitation,
    Job,
    Membership,
    Organization,
    Resume,
)


@dataclass
class World:
    org_a: Organization
    org_b: Organization
    a_recruiter: object
    a_admin: object
    b_admin: object
    job_a: Job
    job_b_open: Job
    job_b_closed: Job
    cand_a: Candidate
    cand_b: Candidate
    resume_a: Resume
    resume_b: Resume
    seeker: object
    seeker_cand: Candidate
    resume_s: Resume
    other_seeker: object
    other_cand: Candidate
    resume_o: Resume
    inter_a: Interaction
    inter_b: Interaction
    inter_s: Interaction
    invitation_b: Invitation
    import_b: ImportJob


@pytest.fixture
def world(make_org, make_user, make_recruiter, make_job, make_resume) -> World:
    org_a, org_b = make_org("Alpha"), make_org("Beta")
    job_a = make_job(org_a, title="Alpha backend")
    job_b_open = make_job(org_b, title="Beta backend")
    job_b_closed = make_job(org_b, title="Beta closed", status=Job.Status.CLOSED)
    resume_a = make_resume(org=org_a)
    resume_b = make_resume(org=org_b)
    seeker, other_seeker = make_user(), make_user()
    seeker_cand = Candidate.objects.create(user=seeker, full_name="Seeker")
    other_cand = Candidate.objects.create(user=other_seeker, full_name="Other seeker")
    resume_s = make_resume(candidate=seeker_cand)
    resume_o = make_resume(candidate=other_cand)
    a_recruiter = make_recruiter(org_a)
    a_admin = make_recruiter(org_a, Membership.Role.ADMIN)
    b_admin = make_recruiter(org_b, Membership.Role.ADMIN)
    inter_a = services.interaction_record(job=job_a, resume=resume_a, kind="shortlist", actor=a_recruiter)
    inter_b = services.interaction_record(job=job_b_open, resume=resume_b, kind="interview", actor=b_admin)
    inter_s = services.interaction_record(job=job_b_open, resume=resume_s, kind="apply", actor=seeker)
    invitation_b = membership_services.invitation_create(
        organization=org_b, role=Membership.Role.ADMIN, created_by=b_admin
    ).invitation
    import_b = ImportJob.objects.create(organization=org_b, created_by=b_admin, kind="jobs", format="csv")
    return World(
        org_a=org_a,
        org_b=org_b,
        a_recruiter=a_recruiter,
        a_admin=a_admin,
        b_admin=b_admin,
        job_a=job_a,
        job_b_open=job_b_open,
        job_b_closed=job_b_closed,
        cand_a=resume_a.candidate,
        cand_b=resume_b.candidate,
        resume_a=resume_a,
        resume_b=resume_b,
        seeker=seeker,
        seeker_cand=seeker_cand,
        resume_s=resume_s,
        other_seeker=other_seeker,
        other_cand=other_cand,
        resume_o=resume_o,
        inter_a=inter_a,
        inter_b=inter_b,
        inter_s=inter_s,
        invitation_b=invitation_b,
        import_b=import_b,
    )


# A body that every write endpoint would accept, so a refusal cannot be a 400.
def _valid_body(w: World) -> dict:
    return {
        "name": "Hijacked",
        "slug": "hijacked",
        "title": "Hijacked",
        "full_name": "Hijacked",
        "headline": "Hijacked",
        "role": Membership.Role.ADMIN,
        "username": w.a_recruiter.username,
    }


def _b_routes(w: World) -> list[tuple[str, tuple[str, ...]]]:
    """Organization B's objects, by URL, with the methods each route answers."""
    rw = ("get", "put", "patch", "delete")
    return [
        (f"/api/organizations/{w.org_b.pk}/", rw),
        (f"/api/organizations/{w.org_b.pk}/members/", ("get",)),
        (f"/api/organizations/{w.org_b.pk}/invitations/", ("get", "post")),
        (f"/api/organizations/{w.org_b.pk}/invitations/{w.invitation_b.pk}/", ("delete",)),
        (f"/api/organizations/{w.org_b.pk}/leave/", ("post",)),
        (f"/api/organizations/{w.org_b.pk}/members/{w.b_admin.pk}/", rw),
        # B's admin is no member of A: addressing them under A is a 404 too.
        (f"/api/organizations/{w.org_a.pk}/members/{w.b_admin.pk}/", rw),
        (f"/api/jobs/{w.job_b_open.pk}/", rw),
        (f"/api/jobs/{w.job_b_closed.pk}/", rw),
        (f"/api/candidates/{w.cand_b.pk}/", rw),
        (f"/api/candidates/{w.seeker_cand.pk}/", rw),  # applied to B, not to A
        (f"/api/resumes/{w.resume_b.pk}/", rw),
        (f"/api/resumes/{w.resume_s.pk}/", rw),
        (f"/api/interactions/{w.inter_b.pk}/", ("get",)),
        (f"/api/interactions/{w.inter_s.pk}/", ("get",)),
        (f"/api/imports/{w.import_b.pk}/", ("get",)),
    ]


def _snapshot(w: World) -> dict:
    rows = [
        w.org_b,
        w.job_b_open,
        w.job_b_closed,
        w.cand_b,
        w.seeker_cand,
        w.resume_b,
        w.resume_s,
        w.inter_b,
        w.inter_s,
        w.import_b,
    ]
    snap = {f"{type(r).__name__}:{r.pk}": model_to_dict(type(r).objects.get(pk=r.pk)) for r in rows}
    snap["members_b"] = sorted(Membership.objects.filter(organization=w.org_b).values_list("user_id", "role"))
    snap["invitations_b"] = sorted(Invitation.objects.filter(organization=w.org_b).values_list("pk", "role"))
    snap["members_a"] = sorted(Membership.objects.filter(organization=w.org_a).values_list("user_id", "role"))
    return snap


@pytest.mark.parametrize("who", ["a_recruiter", "a_admin"])
def test_other_organizations_objects_are_404_for_every_route_and_method(world, client_for, who):
    client = client_for(getattr(world, who))
    before = _snapshot(world)
    body = _valid_body(world)
    checked = 0
    for url, methods in _b_routes(world):
        for method in methods:
            kwargs = {"format": "json"} if method in ("put", "patch", "post") else {}
            if method in ("put", "patch", "post"):
                kwargs["data"] = body
            response = getattr(client, method)(url, **kwargs)
            assert response.status_code == 404, (method, url, response.status_code, response.content)
            checked += 1
    assert checked >= 40
    assert _snapshot(world) == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_interactions_are_append_only_for_everyone(world, client_for, method):
    """Interactions have no update or delete: 405 for one's own events and for others' alike."""
    client = client_for(world.a_admin)
    for inter in (world.inter_a, world.inter_b):
        response = getattr(client, method)(f"/api/interactions/{inter.pk}/", {"kind": "hire"}, format="json")
        assert response.status_code == 405
    assert Interaction.objects.get(pk=world.inter_b.pk).kind == "interview"
    assert Interaction.objects.get(pk=world.inter_a.pk).kind == "shortlist"


def _ids(client, url: str) -> set[int]:
    ids: set[int] = set()
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        ids |= {row.get("id", row.get("user")) for row in response.data["results"]}
        url = response.data["next"]
    return ids


@pytest.mark.parametrize("who", ["a_recruiter", "a_admin"])
def test_lists_never_include_other_organizations_objects(world, client_for, who):
    w = world
    client = client_for(getattr(w, who))
    assert _ids(client, "/api/organizations/") == {w.org_a.pk}
    assert _ids(client, "/api/jobs/") == {w.job_a.pk}
    assert _ids(client, "/api/candidates/") == {w.cand_a.pk}
    assert _ids(client, "/api/resumes/") == {w.resume_a.pk}
    assert _ids(client, "/api/interactions/") == {w.inter_a.pk}
    assert w.b_admin.pk not in _ids(client, f"/api/organizations/{w.org_a.pk}/members/")
    # Filters narrow the scope, they never widen it.
    assert _ids(client, f"/api/jobs/?organization={w.org_b.pk}") == set()
    assert _ids(client, "/api/jobs/?status=open") == {w.job_a.pk}
    assert _ids(client, f"/api/resumes/?candidate={w.cand_b.pk}") == set()
    assert _ids(client, f"/api/candidates/?organization={w.org_b.pk}") == set()
    assert _ids(client, f"/api/interactions/?job={w.job_b_open.pk}") == set()
    assert _ids(client, f"/api/interactions/?resume={w.resume_s.pk}") == set()


def test_organization_b_sees_its_applicant_and_not_a(world, client_for):
    w = world
    client = client_for(w.b_admin)
    assert _ids(client, "/api/jobs/") == {w.job_b_open.pk, w.job_b_closed.pk}
    # The seeker applied to B's job: B sees them, read-only.
    assert _ids(client, "/api/candidates/") == {w.cand_b.pk, w.seeker_cand.pk}
    assert _ids(client, "/api/resumes/") == {w.resume_b.pk, w.resume_s.pk}
    assert _ids(client, "/api/interactions/") == {w.inter_b.pk, w.inter_s.pk}
    assert client.get(f"/api/resumes/{w.resume_a.pk}/").status_code == 404
    assert client.patch(f"/api/resumes/{w.resume_s.pk}/", {"headline": "x"}, format="json").status_code == 403
    assert client.delete(f"/api/candidates/{w.seeker_cand.pk}/").status_code == 403
    assert Resume.objects.filter(pk=w.resume_s.pk, headline="Python developer").exists()


def test_candidate_cannot_see_another_candidates_resumes(world, client_for):
    w = world
    client = client_for(w.other_seeker)
    assert _ids(client, "/api/resumes/") == {w.resume_o.pk}
    assert _ids(client, "/api/candidates/") == {w.other_cand.pk}
    assert _ids(client, "/api/interactions/") == set()
    before = model_to_dict(Resume.objects.get(pk=w.resume_s.pk))
    for method in ("get", "put", "patch", "delete"):
        response = getattr(client, method)(
            f"/api/resumes/{w.resume_s.pk}/", {"headline": "Mine"}, format="json"
        )
        assert response.status_code == 404, method
        response = getattr(client, method)(
            f"/api/candidates/{w.seeker_cand.pk}/", {"full_name": "x"}, format="json"
        )
        assert response.status_code == 404, method
    assert model_to_dict(Resume.objects.get(pk=w.resume_s.pk)) == before
    # Nor can they find it by filtering, nor record events with it.
    assert _ids(client, f"/api/resumes/?candidate={w.seeker_cand.pk}") == set()
    response = client.post(
        "/api/interactions/",
        {"job": w.job_b_open.pk, "resume": w.resume_s.pk, "kind": "withdraw"},
        format="json",
    )
    assert response.status_code == 400 and "resume" in response.data
    assert response.data["resume"] == [f'Invalid pk "{w.resume_s.pk}" - object does not exist.']


def test_job_seeker_sees_open_jobs_only_and_own_events(world, client_for):
    w = world
    client = client_for(w.seeker)
    assert _ids(client, "/api/jobs/") == {w.job_a.pk, w.job_b_open.pk}
    assert client.get(f"/api/jobs/{w.job_b_closed.pk}/").status_code == 404
    # Visible, not theirs to change.
    assert client.patch(f"/api/jobs/{w.job_a.pk}/", {"title": "x"}, format="json").status_code == 403
    assert client.delete(f"/api/jobs/{w.job_a.pk}/").status_code == 403
    assert _ids(client, "/api/interactions/") == {w.inter_s.pk}
    # Recruiters' internal events about the seeker stay internal.
    internal = services.interaction_record(
        job=w.job_b_open, resume=w.resume_s, kind="reject", actor=w.b_admin
    )
    assert client.get(f"/api/interactions/{internal.pk}/").status_code == 404
    assert client.get(f"/api/organizations/{w.org_b.pk}/").status_code == 404


def test_selectors_are_empty_for_anonymous_users():
    from django.contrib.auth.models import AnonymousUser

    anon = AnonymousUser()
    for selector in (
        selectors.organizations_of,
        selectors.jobs_visible_to,
        selectors.candidates_visible_to,
        selectors.resumes_visible_to,
        selectors.interactions_visible_to,
        selectors.jobs_manageable_by,
        selectors.resumes_manageable_by,
        selectors.candidates_manageable_by,
    ):
        assert selector(anon).query.is_empty()


def test_selectors_match_the_rules(world):
    w = world
    assert set(selectors.resumes_visible_to(w.b_admin)) == {w.resume_b, w.resume_s}
    assert set(selectors.resumes_manageable_by(w.b_admin)) == {w.resume_b}
    assert set(selectors.jobs_visible_to(w.seeker)) == {w.job_a, w.job_b_open}
    assert set(selectors.jobs_manageable_by(w.seeker)) == set()
    assert selectors.user_is_org_admin(w.a_admin, w.org_a)
    assert not selectors.user_is_org_admin(w.a_recruiter, w.org_a)
    assert not selectors.user_is_org_admin(w.a_admin, w.org_b)
    assert list(selectors.organizations_of(w.a_recruiter)) == [w.org_a]


def test_unauthenticated_requests_are_refused(world, client):
    for url in ("/api/jobs/", f"/api/jobs/{world.job_a.pk}/", "/api/resumes/", "/api/organizations/"):
        assert client.get(url).status_code == 401


def test_every_detail_route_is_in_the_tenancy_list(world):
    """A new object route in recruiting/urls.py must be added to `_b_routes` above."""
    import re

    from django.urls import URLPattern

    from recruiting import urls

    urls_checked = [url for url, _ in _b_routes(world)]
    routes = [
        p.pattern._route
        for p in urls.urlpatterns
        if isinstance(p, URLPattern) and "<int:" in p.pattern._route
    ]
    assert len(routes) >= 6
    for route in routes:
        regex = re.compile("^/api/" + re.sub(r"<int:\w+>", r"\\d+", route) + "$")
        assert any(regex.match(url) for url in urls_checked), route


def test_options_describes_without_revealing(world, client_for):
    client = client_for(world.a_recruiter)
    for url, _ in _b_routes(world):
        response = client.options(url)
        assert response.status_code == 200, url
        assert "actions" not in response.data
