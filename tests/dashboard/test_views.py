"""The dashboard's pages on the server: sign-in, tenancy (404 exactly as the API), forms, decisions."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from dashboard import urls as dashboard_urls
from recruiting.models import Candidate, ImportJob, Interaction, Job, Resume
from tests.dashboard.conftest import PASSWORD
from tests.dashboard.urlmap import ORG_OBJECTS, OTHER_ARGUMENTS, PLATFORM_OBJECTS, org_urls, route_arguments

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_every_page_needs_sign_in(client, world):
    for name, url in org_urls(world) + [("jobs", "/jobs/"), ("models", "/models/"), ("upload", "/upload/")]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), name


def test_sign_in_with_a_password_lands_a_recruiter_on_their_jobs(client, world):
    response = client.post("/login/", {"username": "rita", "password": "wrong"})
    assert response.status_code == 200 and b"Please enter a correct username and password" in response.content
    response = client.post("/login/", {"username": "rita", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/jobs/"
    assert world["job"].title.encode() in response.content
    assert world["other_job"].title.encode() not in response.content


def test_sign_in_page_shares_the_api_lockout_on_repeated_wrong_passwords(client, world, settings):
    from config import throttling

    settings.SIGNIN_LOCKOUT_FAILURES = 3
    username = f"locked-{world['org_a'].pk}"
    world["recruiter"].username = username
    world["recruiter"].save()
    throttling.clear_failures(username)
    try:
        for _ in range(3):
            assert client.post("/login/", {"username": username, "password": "guess"}).status_code == 200
        locked = client.post("/login/", {"username": username, "password": PASSWORD})
        assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
        assert "Too many failed sign-ins" in locked.content.decode() and "_auth_user_id" not in client.session
        api = client.post("/api/auth/token/", {"username": username, "password": PASSWORD})
        assert api.status_code == 429  # the same count locks the API's door
    finally:
        throttling.clear_failures(username)
    assert client.post("/login/", {"username": username, "password": PASSWORD}).status_code == 302


def test_jobs_list_searches_filters_and_counts_stages(signed_in, world, make_job):
    job, pool = world["job"], world["pool"]
    make_job(world["org_a"], title="Closed Nurse job", status="closed", location="Hamburg")
    Interaction.objects.create(job=job, resume=pool[0], kind="apply")
    Interaction.objects.create(job=job, resume=pool[1], kind="apply")
    Interaction.objects.create(job=job, resume=pool[1], kind="shortlist")
    client = signed_in(world["recruiter"])
    page = client.get("/jobs/").content.decode()
    assert "Backend Engineer (Python)" in page and "Closed Nurse job" in page and "Globex" not in page
    row = page.split(f'data-job="{job.pk}"')[1].split("</tr>")[0]
    assert 'data-stage="applied">2<' in row and 'data-stage="shortlisted">1<' in row
    assert 'data-stage="hired">0<' in row
    assert "Closed Nurse job" not in client.get("/jobs/", {"status": "open"}).content.decode()
    found = client.get("/jobs/", {"q": "nurse"}).content.decode()
    assert "Closed Nurse job" in found and "Backend Engineer" not in found
    assert "Backend Engineer" in client.get("/jobs/", {"seniority": ["senior"]}).content.decode()
    bad = client.get("/jobs/", {"seniority": ["wizard"]})
    assert bad.status_code == 200 and "seniority: Select a valid choice" in bad.content.decode()


def test_job_form_creates_and_edits_through_the_service_and_names_bad_fields(signed_in, world):
    client = signed_in(world["recruiter"])
    form = {
        "organization": world["org_a"].pk,
        "title": "Data Engineer",
        "required_skills": "python, sql , airflow",
        "seniority": "mid",
        "employment_type": "full_time",
        "status": "open",
        "salary_min": "90000",
        "salary_max": "80000",
    }
    response = client.post("/jobs/new/", form)
    assert (
        response.status_code == 400
        and "salary_max: Must be greater than or equal" in response.content.decode()
    )
    assert not Job.objects.filter(title="Data Engineer").exists()
    foreign = client.post("/jobs/new/", {**form, "organization": world["org_b"].pk, "salary_max": ""})
    assert foreign.status_code == 400 and "organization: Select a valid choice" in foreign.content.decode()
    response = client.post("/jobs/new/", {**form, "salary_max": "120000"})
    job = Job.objects.get(title="Data Engineer")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.organization == world["org_a"] and job.required_skills == ["python", "sql", "airflow"]
    assert job.content_hash  # saved through the service (content hash, signals)
    edit = client.get(f"/jobs/{job.pk}/edit/").content.decode()
    assert 'value="python, sql, airflow"' in edit
    response = client.post(
        f"/jobs/{job.pk}/edit/", {**form, "title": "Senior Data Engineer", "salary_max": ""}
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.title == "Senior Data Engineer" and job.salary_max is None


def test_shortlist_shows_ranked_candidates_with_scores_and_reasons(signed_in, world):
    client = signed_in(world["recruiter"])
    page = client.get(f"/jobs/{world['job'].pk}/").content.decode()
    assert 'id="model-tag">zero-shot<' in page
    for name, *_ in [("Ada Backend",), ("Ben Flask",)]:
        assert name in page
    assert "Gus Globex" not in page and "Sam Seeker" not in page  # other org's pool, a job seeker
    ada = page.split(f'id="row-{world["pool"][0].pk}"')[1].split("</tr>")[0]
    assert "Matched" in ada and "postgresql" in ada and 'class="num score">' in ada
    assert "Best sections" in ada


def test_a_decision_is_an_interaction_and_a_rejected_row_leaves(signed_in, world):
    job, ada, ben = world["job"], world["pool"][0], world["pool"][1]
    client = signed_in(world["recruiter"])
    url = reverse("dashboard:decide", kwargs={"job_pk": job.pk, "resume_pk": ada.pk})
    response = client.post(url, {"kind": "reject", "exclude": ["rejected", "hired"]}, **HTMX)
    assert response.status_code == 200 and "HX-Reswap" not in response  # the row is replaced by nothing
    body = response.content.decode()
    assert 'id="stage-counts" hx-swap-oob="true"' in body and 'data-stage="rejected">1<' in body
    stored = Interaction.objects.get(job=job, resume=ada)
    assert stored.kind == "reject" and stored.actor == world["recruiter"]
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'id="row-{ada.pk}"' not in page and f'id="row-{ben.pk}"' in page
    shown_again = client.get(f"/jobs/{job.pk}/", {"filtered": "1", "exclude": ["hired"]}).content.decode()
    assert f'id="row-{ada.pk}"' in shown_again
    response = client.post(
        reverse("dashboard:decide", kwargs={"job_pk": job.pk, "resume_pk": ben.pk}),
        {"kind": "shortlist", "exclude": ["rejected", "hired"]},
        **HTMX,
    )
    assert response["HX-Reswap"] == "none"  # the row stays; its stage and the counts change
    assert (
        f'<span id="stage-{ben.pk}" class="stage" hx-swap-oob="true">shortlisted</span>'
        in response.content.decode()
    )
    assert 'data-stage="shortlisted">1<' in response.content.decode()
    plain = client.post(
        reverse("dashboard:decide", kwargs={"job_pk": job.pk, "resume_pk": ben.pk}), {"kind": "interview"}
    )
    assert plain.status_code == 302 and plain["Location"].startswith(f"/jobs/{job.pk}/?")


def test_a_decision_the_api_refuses_is_refused_and_stores_nothing(signed_in, world):
    job, ada = world["job"], world["pool"][0]
    client = signed_in(world["recruiter"])
    url = reverse("dashboard:decide", kwargs={"job_pk": job.pk, "resume_pk": ada.pk})
    for kind in ("apply", "offer", "", "drop table"):
        response = client.post(url, {"kind": kind}, **HTMX)
        assert response.status_code == 400 and "kind" in response.content.decode()
        assert response["HX-Retarget"] == "#announce"
    assert client.get(url).status_code == 405
    assert not Interaction.objects.exists()


def test_route_arguments_are_all_classified():
    assert route_arguments() <= ORG_OBJECTS | PLATFORM_OBJECTS | set(OTHER_ARGUMENTS)
    assert all(p.name for p in dashboard_urls.urlpatterns)


def test_another_organizations_recruiter_gets_404_on_every_page_and_changes_nothing(signed_in, world):
    client = signed_in(world["other"])
    before = (Interaction.objects.count(), Candidate.objects.count(), Resume.objects.count())
    job_before = Job.objects.values().get(pk=world["job"].pk)
    urls = org_urls(world)
    assert len(urls) >= 10
    for name, url in urls:
        assert client.get(url).status_code == 404, name
        assert (
            client.post(url, {"kind": "reject", "title": "hijacked", "seniority": "mid"}).status_code == 404
        ), name
    assert (Interaction.objects.count(), Candidate.objects.count(), Resume.objects.count()) == before
    assert Job.objects.values().get(pk=world["job"].pk) == job_before
    # the same objects through the API: 404 too
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(world["other"])
    assert api.get(f"/api/jobs/{world['job'].pk}/").status_code == 404
    assert api.get(f"/api/jobs/{world['job'].pk}/candidates/").status_code == 404
    assert api.get(f"/api/candidates/{world['pool'][0].candidate_id}/").status_code == 404


def test_job_seekers_get_their_recommendations_not_the_recruiter_pages(signed_in, world):
    client = signed_in(world["seeker"])
    assert client.get("/").url == "/me/jobs/"
    assert client.get("/jobs/").status_code == 403
    assert client.get(f"/jobs/{world['job'].pk}/").status_code == 403
    page = client.get("/me/jobs/").content.decode()
    assert (
        "Django developer" in page
        and "Backend Engineer (Python)" in page
        and "Globex Python engineer" in page
    )
    assert "You have" in page and "django" in page  # the reasons: skills the job asks for that the resume has


def test_candidate_page_shows_sections_file_best_jobs_history_and_erases_after_confirmation(signed_in, world):
    job, ada = world["job"], world["pool"][0]
    Interaction.objects.create(job=job, resume=ada, kind="shortlist", actor=world["recruiter"])
    Interaction.objects.create(job=world["other_job"], resume=ada, kind="impression")
    client = signed_in(world["recruiter"])
    url = f"/candidates/{ada.candidate_id}/"
    page = client.get(url).content.decode()
    assert "Ada Backend" in page and "Senior Python backend engineer" in page and "postgresql" in page
    assert "Jobs it fits best" in page and "Backend Engineer (Python)" in page
    history = page.split('id="history"')[1]
    assert (
        "shortlist" in history and "rita" in history and "Globex" not in history
    )  # other org's events hidden
    confirm = client.get(f"{url}erase/")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.content.decode()
    assert Candidate.objects.filter(pk=ada.candidate_id).exists()  # asking is not erasing
    done = client.post(f"{url}erase/")
    assert done.status_code == 200 and "were erased" in done.content.decode()
    assert (
        not Candidate.objects.filter(pk=ada.candidate_id).exists()
        and not Resume.objects.filter(pk=ada.pk).exists()
    )
    assert client.get(url).status_code == 404


def test_upload_stores_a_parsed_resume_with_its_file_and_names_a_bad_file(signed_in, world, settings):
    client = signed_in(world["recruiter"])
    text = b"Zoe Upload\nzoe@example.com\n\nSummary\nData engineer with Python and Spark.\n\nSkills\nPython, Spark, SQL\n"
    upload = io.BytesIO(text)
    upload.name = "zoe.txt"
    response = client.post("/upload/", {"file": upload, "organization": world["org_a"].pk})
    resume = Resume.objects.get(candidate__full_name="Zoe Upload")
    assert response.status_code == 302 and response["Location"] == f"/candidates/{resume.candidate_id}/"
    assert resume.candidate.organization == world["org_a"] and "Spark" in " ".join(resume.skills)
    file_response = client.get(f"/resumes/{resume.pk}/file/")
    assert file_response.status_code == 200 and b"".join(file_response.streaming_content) == text
    assert "Zoe Upload" in client.get("/candidates/", {"q": "zoe"}).content.decode()
    bad = io.BytesIO(b"\x00\x01binary")
    bad.name = "photo.png"
    response = client.post("/upload/", {"file": bad, "organization": world["org_a"].pk}, **HTMX)
    assert response.status_code == 400 and "file:" in response.content.decode()
    settings.RESUME_UPLOAD_MAX_BYTES = 10
    upload.seek(0)
    response = client.post("/upload/", {"file": upload, "organization": world["org_a"].pk})
    assert response.status_code == 400 and "the limit is" in response.content.decode()
    assert Resume.objects.filter(candidate__full_name="Zoe Upload").count() == 1


def test_import_is_queued_and_the_page_follows_its_stage_counts_and_report(signed_in, world):
    from workers.tasks.imports import run_import

    client = signed_in(world["recruiter"])
    csv_file = io.BytesIO(
        b"external_id,title,location,seniority\n"
        b"imp-1,Imported Analyst,Berlin,mid\n"
        b"imp-2,,Berlin,mid\n"
        b"imp-3,Imported Lead,Paris,wizard\n"
    )
    csv_file.name = "jobs.csv"
    form = {"organization": world["org_a"].pk, "kind": "jobs", "file": csv_file, "partial_batches": "on"}
    response = client.post("/import/", form, **HTMX)
    body = response.content.decode()
    assert response.status_code == 202 and 'id="import-stage">queued<' in body
    job = ImportJob.objects.exclude(pk=world["import_job"].pk).get()
    assert f'hx-get="/import/{job.pk}/"' in body  # the block polls itself until the job ends
    assert not Job.objects.filter(external_id="imp-1").exists()  # nothing imported inside the request

    run_import.apply(args=[job.pk]).get()  # the worker
    body = client.get(f"/import/{job.pk}/", **HTMX).content.decode()
    assert 'id="import-stage">finished<' in body and "hx-get" not in body
    assert 'id="accepted">1<' in body and 'id="rejected">2<' in body and 'id="import-processed">3<' in body
    assert "title" in body and "seniority" in body  # each rejected row's field is named
    assert Job.objects.filter(organization=world["org_a"], external_id="imp-1").exists()
    assert client.get(f"/import/{job.pk}/").status_code == 200  # the whole page too
    assert signed_in(world["other"]).get(f"/import/{job.pk}/").status_code == 404
    client = signed_in(world["recruiter"])
    foreign = io.BytesIO(b"title\nX\n")
    foreign.name = "jobs.csv"
    response = client.post("/import/", {"organization": world["org_b"].pk, "kind": "jobs", "file": foreign})
    assert response.status_code == 400 and not Job.objects.filter(title="X").exists()
    unreadable = io.BytesIO(b"title,colour\nX,red\n")
    unreadable.name = "jobs.csv"
    response = client.post(
        "/import/", {"organization": world["org_a"].pk, "kind": "jobs", "file": unreadable}, **HTMX
    )
    assert response.status_code == 400 and "Unknown CSV columns" in response.content.decode()
    assert ImportJob.objects.count() == 2


def test_analytics_funnel_and_time_in_stage(signed_in, world):
    from datetime import timedelta

    from django.utils import timezone

    job, pool = world["job"], world["pool"]
    t0 = timezone.now() - timedelta(days=30)
    for resume, kinds in (
        (pool[0], ["impression", "apply", "shortlist", "interview", "hire"]),
        (pool[1], ["impression", "apply", "reject"]),
        (pool[2], ["impression"]),
    ):
        for day, kind in enumerate(kinds):
            Interaction.objects.create(
                job=job, resume=resume, kind=kind, created_at=t0 + timedelta(days=2 * day)
            )
    client = signed_in(world["recruiter"])
    for url in (f"/jobs/{job.pk}/analytics/", f"/analytics/{world['org_a'].pk}/"):
        page = client.get(url).content.decode()
        funnel = page.split('id="funnel"')[1]
        for stage, n in (
            ("viewed", 3),
            ("applied", 2),
            ("shortlisted", 1),
            ("interviewed", 1),
            ("offered", 1),
            ("hired", 1),
        ):
            assert f'data-stage="{stage}">{n}<' in funnel, (url, stage)
        assert "1 rejected" in page
    chart = client.get(f"/jobs/{job.pk}/analytics/funnel.svg")
    assert chart["Content-Type"] == "image/svg+xml" and b"<svg" in chart.content
    assert client.get(f"/analytics/{world['org_a'].pk}/durations.svg").status_code == 200
    assert client.get(f"/analytics/{world['org_a'].pk}/pie.svg").status_code == 404


def _api_status(user, method: str, url: str) -> int:
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user)
    return getattr(api, method)(url).status_code


def test_models_page_and_its_actions_follow_the_registry_api_for_every_role(
    signed_in, world, make_user, monkeypatch
):
    """Whoever the API lets read the registry sees the page, whoever it lets start training gets the button
    and may start one, whoever it lets roll back may roll back: the rules are the API's, whatever they are.
    (Starting is replaced by a row insert on both sides: the decision is real, no task is queued.)"""
    from dashboard.views import registry
    from matching.apis import training as registry_api
    from matching.models import TrainingRun

    def start(*, requested_by=None, trigger="api", **kwargs):
        return TrainingRun.objects.create(requested_by=requested_by, trigger=trigger), True

    monkeypatch.setattr(registry_api, "start_training_run", start)
    monkeypatch.setattr(registry, "start_training_run", start)
    staff = make_user(is_staff=True)
    for user in (world["recruiter"], world["admin"], world["seeker"], staff):
        client = signed_in(user)
        may_read = _api_status(user, "get", "/api/model-versions/") == 200
        page = client.get("/models/")
        assert page.status_code == (200 if may_read else 403), user
        may_train = _api_status(user, "post", "/api/training-runs/") == 201
        if may_read:
            assert ('id="start-training"' in page.content.decode()) == may_train, user
        started = client.post("/models/train/")
        assert started.status_code == (302 if may_train else 403), user
        may_roll_back = _api_status(user, "post", "/api/model-versions/rollback/") != 403
        assert client.post("/models/rollback/").status_code == (302 if may_roll_back else 403), user
    assert _api_status(staff, "post", "/api/training-runs/") == 201  # staff may, under any rules
    assert TrainingRun.objects.filter(trigger="dashboard").count() >= 1


def test_a_flagged_row_shows_the_detectors_reasons(signed_in, world, monkeypatch):
    """A ranked row that carries the gamed-resume detector's findings (`flagged`, `integrity_flags`) shows them."""
    from dashboard.views import shortlist

    real = shortlist.ranking.ranked_candidates
    ada = world["pool"][0].pk

    def with_flags(**kwargs):
        body = real(**kwargs)
        for row in body["results"]:
            flagged = row["resume"] == ada
            row["flagged"] = flagged
            row["integrity_flags"] = (
                [{"kind": "stuffing", "reason": "skill repeated 40 times"}] if flagged else []
            )
        return body

    monkeypatch.setattr(shortlist.ranking, "ranked_candidates", with_flags)
    page = signed_in(world["recruiter"]).get(f"/jobs/{world['job'].pk}/").content.decode()
    rows = {rid: page.split(f'id="row-{rid}"')[1].split("</tr>")[0] for rid in (ada, world["pool"][1].pk)}
    assert "Possible manipulation: skill repeated 40 times" in rows[ada]
    assert "Possible manipulation" not in rows[world["pool"][1].pk]
