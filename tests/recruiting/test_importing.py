"""Bulk import: idempotency, row rejection, batch rollback, append-only interactions, CLI and API."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError

from recruiting.importing import ImportFileError, import_file
from recruiting.importing import report as import_report
from recruiting.models import Candidate, Interaction, Job, Membership, Resume

pytestmark = pytest.mark.django_db

JOBS_CSV = """\
external_id,title,description,required_skills,nice_to_have_skills,location,remote,seniority,salary_min,salary_max
J1,Backend Engineer,"Build APIs.
Own services.",Python|Django;PostgreSQL,Docker,Berlin,true,senior,60000,90000
J2,Registered Nurse,ICU ward,Patient assessment|ACLS,,Austin,no,mid,,
,Cashier,Serve customers,Cash handling|POS systems,,Madrid,,junior,,
"""


def _import(org, kind, text, **kwargs):
    """Row-level tests drop only the failing rows (partial batches); the all-or-nothing default has its own."""
    name = kwargs.pop("filename", f"data.{kwargs.get('format') or 'csv'}")
    kwargs.setdefault("partial_batches", True)
    return import_file(organization=org, kind=kind, file=io.BytesIO(text.encode()), filename=name, **kwargs)


def _jsonl(rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


# --- jobs -----------------------------------------------------------------------------------------


def test_jobs_csv_import_is_idempotent(make_org):
    org = make_org()
    first = _import(org, "jobs", JOBS_CSV)
    assert (first.total, first.created, first.unchanged, first.rejected_count) == (3, 3, 0, 0)
    job = Job.objects.get(organization=org, external_id="J1")
    assert job.required_skills == ["Python", "Django", "PostgreSQL"]
    assert job.description == "Build APIs.\nOwn services."
    assert (job.remote, job.seniority, job.salary_min, job.salary_max) == (True, "senior", 60000, 90000)
    assert job.content_hash == job.compute_content_hash()

    second = _import(org, "jobs", JOBS_CSV)
    assert (second.total, second.accepted, second.created, second.unchanged) == (3, 3, 0, 3)
    assert Job.objects.filter(organization=org).count() == 3

    # a changed row with an external id updates in place; content-keyed rows are never touched
    changed = JOBS_CSV.replace("Berlin,true,senior", "Hamburg,true,senior")
    third = _import(org, "jobs", changed)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 2)
    assert Job.objects.get(organization=org, external_id="J1").location == "Hamburg"
    assert Job.objects.filter(organization=org).count() == 3


def test_same_file_into_another_org_creates_its_own_rows(make_org):
    a, b = make_org(), make_org()
    _import(a, "jobs", JOBS_CSV)
    report = _import(b, "jobs", JOBS_CSV)
    assert report.created == 3
    assert Job.objects.filter(organization=b).count() == 3


def test_bad_rows_are_reported_and_valid_rows_stored(make_org):
    org = make_org()
    text = _jsonl(
        [
            {"external_id": "A", "title": "Data Analyst", "required_skills": ["SQL", "Excel"]},
            {"external_id": "B", "description": "no title"},
            {"external_id": "C", "title": "Nurse", "seniority": "wizard"},
            "{not json",
            {"external_id": "D", "title": "Driver", "salary_min": 50000, "salary_max": 40000},
            {"external_id": "E", "title": "Chef", "colour": "blue"},
            {"external_id": "F", "title": "Barista", "required_skills": "Coffee preparation; Latte art"},
            {"external_id": "G", "title": "Clerk", "remote": "sometimes"},
        ]
    )
    report = _import(org, "jobs", text, filename="jobs.jsonl")
    assert report.format == "jsonl"
    assert (report.total, report.accepted, report.created, report.rejected_count) == (8, 2, 2, 6)
    by_line = {r["line"]: r for r in report.rejected}
    assert by_line[2]["field"] == "title"
    assert by_line[3]["field"] == "seniority" and "wizard" in by_line[3]["reason"]
    assert by_line[4]["field"] == "" and "Invalid JSON" in by_line[4]["reason"]
    assert by_line[5]["field"] == "salary_max"
    assert by_line[6]["field"] == "colour"
    assert by_line[8]["field"] == "remote"
    assert set(Job.objects.filter(organization=org).values_list("external_id", flat=True)) == {"A", "F"}
    assert Job.objects.get(organization=org, external_id="F").required_skills == [
        "Coffee preparation",
        "Latte art",
    ]


def test_batches_are_all_or_nothing_by_default(make_org):
    org = make_org()
    rows = [
        {"external_id": "A", "title": "Data Analyst"},
        {"external_id": "B", "title": "Nurse", "seniority": "wizard"},  # batch 1 fails here
        {"external_id": "C", "title": "Driver"},
        {"external_id": "D", "title": "Chef"},
    ]
    report = _import(org, "jobs", _jsonl(rows), format="jsonl", batch_size=2, partial_batches=False)
    assert (report.batches, report.batches_rolled_back) == (2, 1)
    assert (report.accepted, report.created, report.rejected_count) == (2, 2, 2)
    by_line = {r["line"]: r for r in report.rejected}
    assert by_line[2]["field"] == "seniority" and "wizard" in by_line[2]["reason"]
    assert by_line[1]["field"] == "" and "rolled back" in by_line[1]["reason"]
    assert set(Job.objects.filter(organization=org).values_list("external_id", flat=True)) == {"C", "D"}

    # the corrected file fills in exactly what is missing
    rows[1]["seniority"] = "senior"
    again = _import(org, "jobs", _jsonl(rows), format="jsonl", batch_size=2, partial_batches=False)
    assert (again.created, again.unchanged, again.rejected_count) == (2, 2, 0)
    assert Job.objects.filter(organization=org).count() == 4


def test_database_error_rolls_back_its_batch_only(make_org, monkeypatch):
    org = make_org()
    original = Job.save

    def failing_save(self, *args, **kwargs):
        if self.title == "BOOM":
            raise IntegrityError("simulated constraint failure")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Job, "save", failing_save)
    rows = [{"external_id": f"X{i}", "title": t} for i, t in enumerate(["A", "B", "C", "BOOM", "E"], start=1)]
    report = _import(org, "jobs", _jsonl(rows), format="jsonl", batch_size=2)
    assert (report.batches, report.batches_rolled_back) == (3, 1)
    assert (report.accepted, report.created, report.rejected_count) == (3, 3, 2)
    assert sorted(r["line"] for r in report.rejected) == [3, 4]
    assert all("rolled back" in r["reason"] for r in report.rejected)
    # C was valid but shared the batch with BOOM: rolled back with it
    assert set(Job.objects.filter(organization=org).values_list("title", flat=True)) == {"A", "B", "E"}


def test_malformed_files_are_refused_before_writing(make_org):
    org = make_org()
    with pytest.raises(ImportFileError, match="empty"):
        _import(org, "jobs", "")
    with pytest.raises(ImportFileError, match="Unknown CSV columns"):
        _import(org, "jobs", "title,colour\nA,blue\n")
    with pytest.raises(ImportFileError, match="Missing CSV columns"):
        _import(org, "jobs", "description\nhello\n")
    with pytest.raises(ImportFileError, match="not JSON"):
        _import(org, "jobs", "this is prose\n{}", format="jsonl")
    with pytest.raises(ImportFileError, match="binary"):
        import_file(organization=org, kind="jobs", file=io.BytesIO(b"%PDF\x00\x01\x02"), filename="x.csv")
    assert not Job.objects.filter(organization=org).exists()


def test_csv_row_with_wrong_width_is_rejected(make_org):
    org = make_org()
    report = _import(org, "jobs", "title,location\nA,Berlin\nB,Paris,extra\nC,Rome\n")
    assert report.created == 2
    assert report.rejected == [
        {"line": 3, "field": "", "reason": "The row has 3 values; the header has 2 columns."}
    ]


# --- resumes --------------------------------------------------------------------------------------

RESUMES_CSV = """\
candidate_external_id,full_name,email,external_id,headline,skills,experience,education
C1,Ana Silva,ana@example.com,R1,Data Analyst,SQL|Python|Tableau,"Data Analyst at Metricon (2020 - Present) | Intern, Globex, 2019-2020",BSc Mathematics - University of Porto - 2019
,Ben Okafor,BEN@example.com,,Line Cook,Food safety;Menu planning,,
,Chloe Martin,,,Barista,Coffee preparation,,
"""


def test_resumes_import_is_idempotent(make_org):
    org = make_org()
    first = _import(org, "resumes", RESUMES_CSV)
    assert (first.created, first.rejected_count) == (3, 0), first.rejected
    resume = Resume.objects.get(candidate__organization=org, external_id="R1")
    assert resume.candidate.external_id == "C1" and resume.candidate.full_name == "Ana Silva"
    assert resume.skills == ["SQL", "Python", "Tableau"]
    assert [(e["title"], e["company"], e["start"], e["end"]) for e in resume.experience] == [
        ("Data Analyst", "Metricon", "2020", "Present"),
        ("Intern", "Globex", "2019", "2020"),
    ]
    assert resume.education == [
        {"degree": "BSc Mathematics", "institution": "University of Porto", "year": 2019}
    ]
    assert resume.content_hash == resume.compute_content_hash()
    assert Candidate.objects.get(organization=org, full_name="Ben Okafor").email == "ben@example.com"

    second = _import(org, "resumes", RESUMES_CSV)
    assert (second.accepted, second.created, second.unchanged) == (3, 0, 3)
    assert Candidate.objects.filter(organization=org).count() == 3
    assert Resume.objects.filter(candidate__organization=org).count() == 3

    # a new resume for a known candidate (matched by email) adds a resume, not a candidate
    more = _import(org, "resumes", "email,headline\nben@example.com,Sous Chef\n")
    assert more.created == 1
    assert Candidate.objects.filter(organization=org).count() == 3
    assert Resume.objects.filter(candidate__email="ben@example.com").count() == 2


def test_rejected_resume_row_leaves_no_candidate(make_org):
    org = make_org()
    report = _import(
        org,
        "resumes",
        _jsonl(
            [
                {"candidate_external_id": "C9", "full_name": "Dana", "skills": ["x" * 250]},
                {"candidate_external_id": "C8", "full_name": "Eli"},  # no text: a valid, empty resume
                {"candidate_external_id": "C7", "email": "not-an-email", "headline": "Cook"},
                {},
            ]
        ),
        format="jsonl",
    )
    assert report.created == 1
    assert [(r["line"], r["field"]) for r in report.rejected] == [(1, "skills"), (3, "email"), (4, "")]
    assert list(Candidate.objects.filter(organization=org).values_list("external_id", flat=True)) == ["C8"]


# --- interactions ---------------------------------------------------------------------------------


@pytest.fixture
def org_with_docs(make_org, make_job, make_resume):
    org = make_org()
    make_job(org, external_id="J1")
    make_job(org, external_id="J2", title="Data Engineer")
    candidate = Candidate.objects.create(organization=org, external_id="C1", full_name="Ana")
    make_resume(candidate=candidate, external_id="R1")
    make_resume(org=org, external_id="R2", headline="Nurse")
    return org


INTERACTIONS = [
    {
        "job_external_id": "J1",
        "resume_external_id": "R1",
        "kind": "impression",
        "created_at": "2024-05-01T09:00:00Z",
    },
    {
        "job_external_id": "J1",
        "resume_external_id": "R1",
        "kind": "click",
        "created_at": "2024-05-01T09:05:00",
    },
    {"external_id": "ev-3", "job_external_id": "J2", "candidate_external_id": "C1", "kind": "apply"},
    {"job_external_id": "J2", "resume_external_id": "R2", "kind": "SHORTLIST", "created_at": "2024-05-02"},
]


def test_interactions_import_is_idempotent_and_append_only(org_with_docs):
    org = org_with_docs
    text = _jsonl(INTERACTIONS)
    first = _import(org, "interactions", text, format="jsonl")
    assert (first.created, first.rejected_count) == (4, 0), first.rejected
    assert Interaction.objects.filter(job__organization=org).count() == 4
    click = Interaction.objects.get(kind="click")
    assert click.created_at.isoformat() == "2024-05-01T09:05:00+00:00"

    again = _import(org, "interactions", text, format="jsonl")
    assert (again.created, again.unchanged) == (0, 4)
    assert Interaction.objects.filter(job__organization=org).count() == 4

    # later events for the same pairs are appended; nothing earlier changes
    before = list(Interaction.objects.order_by("pk").values_list("pk", "kind", "created_at"))
    later = _jsonl(
        [
            {
                "job_external_id": "J1",
                "resume_external_id": "R1",
                "kind": "apply",
                "created_at": "2024-05-03T10:00:00Z",
            },
            {
                "job_external_id": "J1",
                "resume_external_id": "R1",
                "kind": "impression",
                "created_at": "2024-05-04T10:00:00Z",
            },
        ]
    )
    appended = _import(org, "interactions", later, format="jsonl")
    assert appended.created == 2
    after = list(Interaction.objects.order_by("pk").values_list("pk", "kind", "created_at"))
    assert after[: len(before)] == before and len(after) == len(before) + 2


def test_interaction_rows_with_bad_references_are_rejected(org_with_docs):
    org = org_with_docs
    rows = [
        {"job_external_id": "NOPE", "resume_external_id": "R1", "kind": "click", "created_at": "2024-05-01"},
        {"job_external_id": "J1", "resume_external_id": "NOPE", "kind": "click", "created_at": "2024-05-01"},
        {"job_external_id": "J1", "resume_external_id": "R1", "kind": "like", "created_at": "2024-05-01"},
        {"job_external_id": "J1", "resume_external_id": "R1", "kind": "click"},
        {"job_external_id": "J1", "resume_external_id": "R1", "kind": "click", "created_at": "yesterday"},
        {"external_id": "e1", "job_external_id": "J1", "resume_external_id": "R1", "kind": "click"},
        {"external_id": "e1", "job_external_id": "J1", "resume_external_id": "R2", "kind": "click"},
    ]
    report = _import(org, "interactions", _jsonl(rows), format="jsonl")
    assert report.created == 1
    assert [(r["line"], r["field"]) for r in report.rejected] == [
        (1, "job_external_id"),
        (2, "resume_external_id"),
        (3, "kind"),
        (4, "created_at"),
        (5, "created_at"),
        (7, "external_id"),
    ]


def test_interactions_csv(org_with_docs):
    text = "job_external_id,resume_external_id,kind,created_at\nJ1,R2,hire,2024-06-01T12:00:00+02:00\n"
    report = _import(org_with_docs, "interactions", text)
    assert report.created == 1
    assert Interaction.objects.get(kind="hire").created_at.isoformat() == "2024-06-01T10:00:00+00:00"


# --- command --------------------------------------------------------------------------------------


def test_import_data_command(make_org, tmp_path):
    org = make_org()
    path = tmp_path / "jobs.csv"
    path.write_text(JOBS_CSV + "x,,no title,,,,,,,\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_data", str(path), org=org.slug, kind="jobs", stdout=out, stderr=io.StringIO())
    text = out.getvalue()  # all-or-nothing: the one batch holds the bad row, so nothing is stored
    assert (
        "4 rows, 0 accepted (0 created, 0 updated, 0 unchanged), 4 rejected, 1 batch(es) rolled back" in text
    )
    assert "line 6 [title]" in text
    assert not Job.objects.filter(organization=org).exists()
    out = io.StringIO()
    call_command(
        "import_data",
        str(path),
        org=org.slug,
        kind="jobs",
        partial_batches=True,
        stdout=out,
        stderr=io.StringIO(),
    )
    text = out.getvalue()
    assert "4 rows, 3 accepted (3 created, 0 updated, 0 unchanged), 1 rejected" in text
    out = io.StringIO()
    call_command(
        "import_data",
        str(path),
        org=org.slug,
        kind="jobs",
        json=True,
        partial_batches=True,
        stdout=out,
        stderr=io.StringIO(),
    )
    assert json.loads(out.getvalue())["unchanged"] == 3
    assert Job.objects.filter(organization=org).count() == 3


# --- API ------------------------------------------------------------------------------------------


def _post_import(client, org, kind, text, name="data.csv"):
    upload = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post(
        "/api/imports/", {"organization": org.slug, "kind": kind, "file": upload}, format="multipart"
    )


def _imported(client, response) -> dict:
    """The report of an accepted import once the worker ran it (the task, eagerly)."""
    from workers.tasks.imports import run_import

    assert response.status_code == 202, response.content
    run_import.apply(args=[response.json()["id"]]).get()
    status = client.get(response.json()["status_url"]).json()
    assert status["stage"] == "finished", status
    return status["report"]


def test_import_api(make_org, make_recruiter, client_for):
    org = make_org()
    client = client_for(make_recruiter(org))
    assert _imported(client, _post_import(client, org, "jobs", JOBS_CSV))["created"] == 3
    with_bad_row = JOBS_CSV + ",,,,,,,,,\nK,,x,,,,,,,\n"
    body = _imported(client, _post_import(client, org, "jobs", with_bad_row))
    assert (body["accepted"], body["rejected_count"], body["batches_rolled_back"]) == (0, 4, 1)
    assert [r["field"] for r in body["rejected"] if r["field"]] == ["title"]
    upload = SimpleUploadedFile("data.csv", with_bad_row.encode(), content_type="text/csv")
    response = client.post(
        "/api/imports/",
        {"organization": org.slug, "kind": "jobs", "file": upload, "partial_batches": "true"},
        format="multipart",
    )
    body = _imported(client, response)
    assert (body["unchanged"], body["rejected_count"]) == (3, 1)
    assert body["rejected"][0]["field"] == "title"


def test_import_api_refusals(make_org, make_recruiter, make_user, client_for, settings):
    org, other = make_org(), make_org()
    client = client_for(make_recruiter(org, role=Membership.Role.ADMIN))
    assert _post_import(client, other, "jobs", JOBS_CSV).status_code == 404
    # a job seeker (no membership) gets a 404 too
    assert _post_import(client_for(make_user()), org, "jobs", JOBS_CSV).status_code == 404
    response = _post_import(client, org, "jobs", "title,colour\nA,b\n")
    assert response.status_code == 400 and "file" in response.json()
    response = _post_import(client, org, "widgets", JOBS_CSV)
    assert response.status_code == 400 and "kind" in response.json()
    settings.IMPORT_UPLOAD_MAX_BYTES = 100
    response = _post_import(client, org, "jobs", JOBS_CSV)
    assert response.status_code == 413 and "file" in response.json()
    assert not Job.objects.filter(organization__in=[org, other]).exists()


def test_import_report_caps_listed_rejections(make_org, monkeypatch):
    monkeypatch.setattr(import_report, "MAX_REPORTED_REJECTIONS", 3)
    report = _import(make_org(), "jobs", "title,location\n" + ",x\n" * 5)
    assert report.rejected_count == 5 and len(report.rejected) == 3 and report.rejected_truncated
