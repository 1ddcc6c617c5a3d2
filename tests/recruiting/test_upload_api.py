"""POST /api/resumes/upload/: parse, store with the original file, refuse cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from recruiting.models import Candidate, Membership, Resume
from tests.recruiting.test_parsing import SOFTWARE_TXT, make_docx_styled, make_pdf

pytestmark = pytest.mark.django_db

URL = "/api/resumes/upload/"
PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def upload(client, name: str, data: bytes, content_type: str = "text/plain", **fields):
    payload = {"file": SimpleUploadedFile(name, data, content_type=content_type), **fields}
    return client.post(URL, payload, format="multipart")


SAMPLE_PDF = make_pdf(
    [
        [
            "# Samuel Okafor",
            "Financial Analyst",
            "samuel.okafor@example.com",
            "# SKILLS",
            "Financial modelling, Forecasting, SQL",
            "# EXPERIENCE",
            "Financial Analyst | Contoso Ltd | Manchester",
            "Sep 2017 – Present",
            "• Built the budget model.",
            "# EDUCATION",
            "BA Economics, University of Manchester, 2017",
        ]
    ]
)


def test_recruiter_uploads_pdf_for_existing_candidate(make_org, make_recruiter, client_for, media):
    org = make_org()
    candidate = Candidate.objects.create(organization=org, full_name="Samuel Okafor")
    client = client_for(make_recruiter(org))
    response = upload(client, "okafor.pdf", SAMPLE_PDF, PDF_TYPE, candidate=candidate.pk)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["candidate"] == candidate.pk and body["candidate_created"] is False
    assert body["file_format"] == "pdf" and body["has_file"] is True
    assert body["headline"] == "Financial Analyst"
    assert body["skills"] == ["Financial modelling", "Forecasting", "SQL"]
    assert body["experience"][0]["company"] == "Contoso Ltd"
    assert body["education"][0]["institution"] == "University of Manchester"
    resume = Resume.objects.get(pk=body["id"])
    assert resume.source_file_name == "okafor.pdf"
    assert resume.source_file.read() == SAMPLE_PDF
    assert len(stored_files(media)) == 1


def test_recruiter_upload_creates_candidate_in_their_org(make_org, make_recruiter, client_for):
    org = make_org()
    client = client_for(make_recruiter(org))
    response = upload(client, "garcia.docx", make_docx_styled(), DOCX_TYPE, location="Austin")
    assert response.status_code == 201, response.content
    body = response.json()
    candidate = Candidate.objects.get(pk=body["candidate"])
    assert body["candidate_created"] is True
    assert (candidate.organization, candidate.full_name, candidate.email, candidate.location) == (
        org,
        "Maria Garcia",
        "maria.garcia@example.org",
        "Austin",
    )
    assert body["skills"] == ["Patient assessment", "Ventilator management", "ACLS", "Epic EHR"]


def test_recruiter_in_several_orgs_names_one(make_org, make_recruiter, client_for):
    org, second = make_org(), make_org()
    user = make_recruiter(org)
    Membership.objects.create(user=user, organization=second)
    client = client_for(user)
    response = upload(client, "cv.txt", SOFTWARE_TXT.encode())
    assert response.status_code == 400 and "organization" in response.json()
    response = upload(client, "cv.txt", SOFTWARE_TXT.encode(), organization=second.slug, full_name="J. Doe")
    assert response.status_code == 201
    assert Candidate.objects.get(pk=response.json()["candidate"]).organization == second
    # an organization one is not in is a 404, and so is a candidate one cannot see
    assert upload(client, "cv.txt", SOFTWARE_TXT.encode(), organization=make_org().slug).status_code == 404
    hidden = Candidate.objects.create(organization=make_org(), full_name="Hidden")
    assert upload(client, "cv.txt", SOFTWARE_TXT.encode(), candidate=hidden.pk).status_code == 404


def test_candidate_user_uploads_to_own_profile(make_user, client_for):
    user = make_user()
    client = client_for(user)
    first = upload(client, "jane.txt", SOFTWARE_TXT.encode())
    assert first.status_code == 201, first.content
    own = Candidate.objects.get(user=user)
    assert first.json()["candidate"] == own.pk and own.full_name == "Jane Doe" and own.organization is None
    second = upload(client, "jane-v2.txt", SOFTWARE_TXT.replace("Senior", "Staff").encode())
    assert second.status_code == 201 and second.json()["candidate"] == own.pk
    assert Candidate.objects.filter(user=user).count() == 1 and own.resumes.count() == 2
    # someone else's candidate is out of reach
    stranger = Candidate.objects.create(user=make_user(), full_name="Other")
    assert upload(client, "x.txt", SOFTWARE_TXT.encode(), candidate=stranger.pk).status_code == 404


@pytest.mark.parametrize(
    ("name", "data", "content_type", "status", "message"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "image/png", 415, "Unsupported"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "application/msword", 415, ".doc"),
        ("broken.pdf", b"%PDF-1.4\n garbage garbage", PDF_TYPE, 400, "PDF"),
        ("scan.pdf", make_pdf([[""]]), PDF_TYPE, 400, "No text"),
        ("empty.txt", b"  \n", "text/plain", 400, "no readable text"),
    ],
)
def test_refused_files_store_nothing(
    make_org, make_recruiter, client_for, media, name, data, content_type, status, message
):
    org = make_org()
    client = client_for(make_recruiter(org))
    response = upload(client, name, data, content_type, full_name="Nobody")
    assert response.status_code == status, response.content
    assert message in " ".join(response.json()["file"])
    assert not Resume.objects.exists() and not Candidate.objects.exists()
    assert stored_files(media) == []


def test_oversized_upload_is_413_before_parsing(
    make_org, make_recruiter, client_for, settings, media, monkeypatch
):
    import recruiting.ingest_services as ingest_services

    def must_not_parse(*args, **kwargs):
        raise AssertionError("parsed an oversized file")

    monkeypatch.setattr(ingest_services, "parse_resume", must_not_parse)
    settings.RESUME_UPLOAD_MAX_BYTES = 1000
    org = make_org()
    client = client_for(make_recruiter(org))
    # small enough for the Content-Length check (multipart slack), over the limit by file size
    response = upload(client, "big.txt", b"x" * 5000)
    assert response.status_code == 413
    assert "limit is" in response.json()["file"][0]
    # far over: refused on Content-Length alone
    response = upload(client, "huge.txt", b"x" * 200_000)
    assert response.status_code == 413
    assert not Resume.objects.exists() and stored_files(media) == []


def test_missing_file_and_anonymous(make_org, make_recruiter, client_for):
    from rest_framework.test import APIClient

    org = make_org()
    response = client_for(make_recruiter(org)).post(URL, {"full_name": "x"}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()
    assert APIClient().post(URL, {}, format="multipart").status_code in (401, 403)


def test_failure_after_file_write_removes_the_file(make_org, make_recruiter, client_for, media, monkeypatch):
    """A database failure after the file was written leaves neither a row nor a file."""
    from django.db import IntegrityError

    from recruiting import services

    def fail(*args, **kwargs):
        raise IntegrityError("simulated")

    monkeypatch.setattr(services, "_after_commit_saved", fail)
    org = make_org()
    client = client_for(make_recruiter(org))
    client.raise_request_exception = False
    response = upload(client, "jane.txt", SOFTWARE_TXT.encode(), full_name="Jane")
    assert response.status_code == 500
    assert not Resume.objects.exists() and not Candidate.objects.exists()
    assert stored_files(media) == []
