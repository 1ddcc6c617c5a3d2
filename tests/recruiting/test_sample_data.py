"""Sample data generator and the demo command."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from recruiting import sample_data
from recruiting.models import Candidate, Interaction, Job, Membership, Organization, Resume
from recruiting.parsing import parse_text

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_generation_is_deterministic_for_a_seed():
    a = sample_data.generate(jobs=30, resumes=60, interactions=300, seed=3, now=NOW)
    b = sample_data.generate(jobs=30, resumes=60, interactions=300, seed=3, now=NOW)
    c = sample_data.generate(jobs=30, resumes=60, interactions=300, seed=4, now=NOW)
    assert a == b
    assert a.jobs != c.jobs


def test_generated_data_has_structure_and_noise():
    data = sample_data.generate(jobs=200, resumes=600, interactions=3000, seed=7, now=NOW)
    assert (len(data.jobs), len(data.resumes), len(data.interactions)) == (200, 600, 3000)
    assert len({j["family"] for j in data.jobs}) == len(sample_data.FAMILIES) >= 7
    assert {j["seniority"] for j in data.jobs} >= {"junior", "mid", "senior"}
    for job in data.jobs[:20]:
        assert job["required_skills"] and "Requirements:" in job["description"] and job["location"]
        assert job["employer"] in sample_data.FAMILIES[job["family"]].companies
        assert job["description"].startswith(f"{job['employer']} is hiring")
    assert len({j["employer"] for j in data.jobs}) > 10  # one organization recruits for many employers
    for resume in data.resumes[:20]:
        assert resume["headline"] and resume["summary"] and resume["skills"] and resume["education"]
        assert all({"title", "company", "start", "end"} <= set(e) for e in resume["experience"])

    kinds = Counter(e["kind"] for e in data.interactions)
    assert kinds["impression"] > kinds["click"] > kinds["apply"] > kinds["hire"] > 0
    assert kinds["shortlist"] and kinds["interview"] and kinds["reject"]
    cross = sum(
        data.jobs[e["job"]]["family"] != data.resumes[e["resume"]]["family"] for e in data.interactions
    )
    assert 0.10 <= cross / len(data.interactions) <= 0.35  # moves into related families, accidental clicks
    # structure text alone cannot see: most pairs are in the candidate's home city
    pairs = {(e["job"], e["resume"]) for e in data.interactions}
    home = sum(data.jobs[j]["location"] == data.candidates[r]["location"] for j, r in pairs)
    assert home / len(pairs) > 0.4
    times = [e["created_at"] for e in data.interactions]
    assert NOW - timedelta(days=91) <= min(times) and max(times) <= NOW
    assert max(times) - min(times) > timedelta(days=60)
    # sparse: few pairs per resume
    assert len({(e["job"], e["resume"]) for e in data.interactions}) < 0.05 * 200 * 600


def test_sample_resume_text_parses_back():
    text = sample_data.sample_resume_text(seed=5, family="nursing", now=NOW)
    parsed = parse_text(text)
    assert parsed.headline and parsed.skills and parsed.experience and parsed.education
    assert all(e.get("company") and e.get("start") for e in parsed.experience)


@pytest.mark.django_db
def test_load_sample_data(make_org):
    org = make_org()
    counts = sample_data.load_sample_data(org, jobs=20, resumes=40, interactions=150, seed=1)
    assert counts == {"jobs": 20, "candidates": 40, "resumes": 40, "interactions": 150}
    job = Job.objects.filter(organization=org).first()
    resume = Resume.objects.filter(candidate__organization=org).first()
    assert job.content_hash == job.compute_content_hash() and job.employer
    assert resume.full_text and resume.content_hash == resume.compute_content_hash()
    assert Interaction.objects.filter(job__organization=org).count() == 150
    # loading again is a no-op
    assert sample_data.load_sample_data(org, jobs=20, resumes=40, interactions=150, seed=1)["jobs"] == 0
    assert Job.objects.filter(organization=org).count() == 20


@pytest.mark.django_db
def test_demo_command_is_idempotent(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    sizes = {"jobs": 20, "resumes": 40, "interactions": 150}
    first = io.StringIO()
    call_command("demo", stdout=first, **sizes)
    out = first.getvalue()
    org = Organization.objects.get(slug="demo-recruiting")
    admin = get_user_model().objects.get(username="demo")
    token = Token.objects.get(user=admin).key
    assert token in out and "/api/docs/" in out and "/api/resumes/upload/" in out and "/api/imports/" in out
    assert Membership.objects.get(user=admin, organization=org).role == Membership.Role.ADMIN
    candidate = Candidate.objects.get(user__username="candidate")
    assert candidate.resumes.count() == 1 and candidate.resumes.get().skills
    assert (tmp_path / "demo" / "resume.txt").exists() and (tmp_path / "demo" / "jobs.csv").exists()
    counts = (
        Organization.objects.count(),
        get_user_model().objects.count(),
        Job.objects.count(),
        Resume.objects.count(),
        Interaction.objects.count(),
        Token.objects.count(),
    )
    assert counts[2:5] == (20, 41, 150)

    second = io.StringIO()
    call_command("demo", stdout=second, **sizes)
    assert token in second.getvalue()
    assert (
        Organization.objects.count(),
        get_user_model().objects.count(),
        Job.objects.count(),
        Resume.objects.count(),
        Interaction.objects.count(),
        Token.objects.count(),
    ) == counts


@pytest.mark.django_db
def test_demo_example_files_import_cleanly(settings, tmp_path, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("demo", stdout=io.StringIO(), jobs=5, resumes=5, interactions=10)
    client = client_for(get_user_model().objects.get(username="demo"))
    data = (tmp_path / "demo" / "jobs.csv").read_bytes()
    response = client.post(
        "/api/imports/",
        {"organization": "demo-recruiting", "kind": "jobs", "file": SimpleUploadedFile("jobs.csv", data)},
        format="multipart",
    )
    from workers.tasks.imports import run_import

    assert response.status_code == 202, response.content
    run_import.apply(args=[response.json()["id"]]).get()
    assert client.get(response.json()["status_url"]).json()["created"] == 5
    imported = Job.objects.filter(
        organization__slug="demo-recruiting", external_id__startswith="demo-import-"
    )
    assert imported.count() == 5 and all(job.employer for job in imported)
    resume = (tmp_path / "demo" / "resume.txt").read_bytes()
    response = client.post(
        "/api/resumes/upload/",
        {"organization": "demo-recruiting", "file": SimpleUploadedFile("resume.txt", resume)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
