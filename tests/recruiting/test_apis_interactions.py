from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recruiting import services, signals
from recruiting.models import Candidate, Interaction, Job


@pytest.fixture
def org(make_org):
    return make_org("Acme")


@pytest.fixture
def recruiter(org, make_recruiter):
    return make_recruiter(org)


@pytest.fixture
def job(org, make_job):
    return make_job(org)


@pytest.fixture
def seeker(make_user):
    return make_user()


@pytest.fixture
def seeker_resume(seeker, make_resume):
    return make_resume(candidate=Candidate.objects.create(user=seeker, full_name="Seeker"))


def test_candidate_applies_to_open_job_and_recruiter_shortlists(
    job, seeker, seeker_resume, recruiter, client_for, django_capture_on_commit_callbacks
):
    recorded = []

    def on_recorded(sender, **kwargs):
        recorded.append(kwargs["kind"])

    signals.interaction_recorded.connect(on_recorded)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(seeker).post(
                "/api/interactions/",
                {"job": job.pk, "resume": seeker_resume.pk, "kind": "apply"},
                format="json",
            )
        assert response.status_code == 201, response.content
        assert response.data["actor"] == seeker.pk and response.data["strength"] == 3
        # The applicant is now visible to the job's organization, which records its decision.
        api = client_for(recruiter)
        assert api.get(f"/api/resumes/{seeker_resume.pk}/").status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                "/api/interactions/",
                {"job": job.pk, "resume": seeker_resume.pk, "kind": "shortlist", "external_id": "ats-9"},
                format="json",
            )
        assert response.status_code == 201, response.content
    finally:
        signals.interaction_recorded.disconnect(on_recorded)
    assert recorded == ["apply", "shortlist"]
    assert list(Interaction.objects.order_by("pk").values_list("kind", "actor_id")) == [
        ("apply", seeker.pk),
        ("shortlist", recruiter.pk),
    ]


@pytest.mark.parametrize(
    ("who", "payload", "field"),
    [
        ("seeker", {"kind": "promote"}, "kind"),
        ("seeker", {"kind": "hire"}, "kind"),  # a recruiter-side kind
        ("recruiter", {"kind": "apply"}, "kind"),  # a candidate-side kind
        ("seeker", {"job": "closed"}, "job"),  # not open: invisible to a job seeker
        ("seeker", {"job": "foreign_closed"}, "job"),
        ("seeker", {"resume": "pooled"}, "resume"),  # not theirs
        ("recruiter", {"job": "foreign_open"}, "job"),  # another organization's job
        ("recruiter", {"resume": "foreign"}, "resume"),  # a resume outside the organization's view
        ("recruiter", {"job": 10**9}, "job"),
        ("recruiter", {"job": None}, "job"),
        ("recruiter", {"resume": "abc"}, "resume"),
    ],
)
def test_bad_interactions_are_400_naming_the_field(
    who,
    payload,
    field,
    org,
    job,
    recruiter,
    seeker,
    seeker_resume,
    make_job,
    make_org,
    make_resume,
    client_for,
):
    foreign_org = make_org()
    objects = {
        "closed": make_job(org, status=Job.Status.CLOSED),
        "foreign_open": make_job(foreign_org),
        "foreign_closed": make_job(foreign_org, status=Job.Status.CLOSED),
        "pooled": make_resume(org=org),
        "foreign": make_resume(org=foreign_org),
    }
    resume = objects["pooled"] if who == "recruiter" else seeker_resume
    kind = "shortlist" if who == "recruiter" else "apply"
    body = {"job": job.pk, "resume": resume.pk, "kind": kind}
    body.update({k: objects[v].pk if isinstance(v, str) and v in objects else v for k, v in payload.items()})
    response = client_for(recruiter if who == "recruiter" else seeker).post(
        "/api/interactions/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.data, response.data
    assert not Interaction.objects.exists()


def test_seeker_cannot_apply_to_a_job_that_closed(job, seeker, seeker_resume, recruiter, client_for):
    """A closed job of an organization that the seeker once applied to stays invisible."""
    services.interaction_record(job=job, resume=seeker_resume, kind="apply", actor=seeker)
    services.job_update(job=job, data={"status": "closed"})
    response = client_for(seeker).post(
        "/api/interactions/", {"job": job.pk, "resume": seeker_resume.pk, "kind": "withdraw"}, format="json"
    )
    assert response.status_code == 400 and "job" in response.data


def test_recruiter_records_on_closed_job_of_own_org(org, recruiter, make_job, make_resume, client_for):
    closed = make_job(org, status=Job.Status.CLOSED)
    resume = make_resume(org=org)
    response = client_for(recruiter).post(
        "/api/interactions/", {"job": closed.pk, "resume": resume.pk, "kind": "hire"}, format="json"
    )
    assert response.status_code == 201, response.content


def test_retrieve_and_no_update_or_delete(job, recruiter, make_resume, org, client_for):
    interaction = services.interaction_record(job=job, resume=make_resume(org=org), kind="interview")
    api = client_for(recruiter)
    url = f"/api/interactions/{interaction.pk}/"
    response = api.get(url)
    assert response.status_code == 200 and response.data["kind"] == "interview"
    assert api.put(url, {"kind": "hire"}, format="json").status_code == 405
    assert api.patch(url, {"kind": "hire"}, format="json").status_code == 405
    assert api.delete(url).status_code == 405
    assert Interaction.objects.get(pk=interaction.pk).kind == "interview"


def test_interaction_filters(job, org, recruiter, make_job, make_resume, client_for):
    other_job = make_job(org, title="Other")
    r1, r2 = make_resume(org=org), make_resume(org=org)
    now = timezone.now()
    old = services.interaction_record(
        job=job, resume=r1, kind="impression", created_at=now - timedelta(days=9)
    )
    mid = services.interaction_record(
        job=job, resume=r2, kind="shortlist", created_at=now - timedelta(days=4)
    )
    new = services.interaction_record(
        job=other_job, resume=r1, kind="reject", created_at=now - timedelta(hours=1)
    )
    api = client_for(recruiter)

    def ids(query):
        response = api.get(f"/api/interactions/?{query}")
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.data["results"]]

    def iso(delta):
        return (now - delta).isoformat().replace("+00:00", "Z")

    assert ids("") == [new.pk, mid.pk, old.pk]  # newest first
    assert ids("ordering=created_at") == [old.pk, mid.pk, new.pk]
    assert ids(f"job={job.pk}") == [mid.pk, old.pk]
    assert ids(f"resume={r1.pk}") == [new.pk, old.pk]
    assert ids("kind=shortlist") == [mid.pk]
    assert ids("kind=shortlist&kind=reject") == [new.pk, mid.pk]
    assert ids(f"created_after={iso(timedelta(days=5))}") == [new.pk, mid.pk]
    assert ids(f"created_after={iso(timedelta(days=5))}&created_before={iso(timedelta(days=1))}") == [mid.pk]
    response = api.get("/api/interactions/?kind=promote")
    assert response.status_code == 400 and "kind" in response.data
