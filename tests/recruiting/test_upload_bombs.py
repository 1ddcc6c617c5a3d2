"""Hostile uploads (generated here, small enough to be fast): refused with the limit named, nothing stored,
the web process never reading more than the file. The readers run in a limited child process."""

from __future__ import annotations

import io
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from recruiting.models import Membership, Resume
from recruiting.parsing.limits import LimitExceeded, ParseLimits, check_docx
from tests.recruiting.test_parsing import make_docx_styled, make_pdf

pytestmark = pytest.mark.django_db
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def recruiter(make_org, make_recruiter, client_for):
    return client_for(make_recruiter(make_org(), Membership.Role.ADMIN))


def _docx_with_body(body: bytes) -> bytes:
    """A real .docx whose word/document.xml is replaced by `body` (deflated)."""
    source = zipfile.ZipFile(io.BytesIO(make_docx_styled()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = body if item.filename == "word/document.xml" else source.read(item.filename)
            target.writestr(item.filename, data)
    return out.getvalue()


def _document(paragraphs: bytes) -> bytes:
    ns = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    return b"<?xml version='1.0'?><w:document " + ns + b"><w:body>" + paragraphs + b"</w:body></w:document>"


def _flate_pdf(inflated_bytes: int) -> bytes:
    """One page whose content stream inflates to `inflated_bytes` of text-showing operators."""
    compressor, chunk = zlib.compressobj(9), b"(A) Tj " * 8192
    parts = [compressor.compress(b"BT /F1 11 Tf 56 790 Td ")]
    parts += [compressor.compress(chunk) for _ in range(inflated_bytes // len(chunk))]
    stream = b"".join([*parts, compressor.compress(b" ET"), compressor.flush()])
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _upload(client, name, data, content_type):
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post("/api/resumes/upload/", {"file": file, "full_name": "Bomb"}, format="multipart")


def test_docx_inflating_past_the_limit(recruiter, settings):
    settings.UPLOAD_MAX_UNCOMPRESSED_BYTES = 2 * 1024 * 1024
    bomb = _docx_with_body(_document(b"<w:p><w:r><w:t>x</w:t></w:r></w:p>" + b" " * (3 * 1024 * 1024)))
    assert len(bomb) < 64 * 1024
    response = _upload(recruiter, "cv.docx", bomb, DOCX_TYPE)
    assert response.status_code == 413 and "inflates" in response.json()["file"][0]
    assert not Resume.objects.exists()


def test_docx_of_too_many_paragraphs(recruiter, settings):
    settings.UPLOAD_MAX_PARAGRAPHS = 1000
    bomb = _docx_with_body(_document(b"<w:p/>" * 5000))
    response = _upload(recruiter, "cv.docx", bomb, DOCX_TYPE)
    assert response.status_code == 413 and "paragraphs" in response.json()["file"][0]
    assert not Resume.objects.exists()


def test_paragraph_count_sees_tags_cut_between_chunks():
    bomb = _docx_with_body(_document(b"<w:p>" * 300_000))  # 1.5 MB of XML: read in several chunks
    with pytest.raises(LimitExceeded):
        check_docx(bomb, ParseLimits(max_paragraphs=299_999))
    check_docx(bomb, ParseLimits(max_paragraphs=300_000))


def test_pdf_over_the_page_limit(recruiter, settings):
    settings.UPLOAD_MAX_PAGES = 3
    pdf = make_pdf([["# Jane Doe", "Python developer with Django experience"]] * 5)
    response = _upload(recruiter, "cv.pdf", pdf, "application/pdf")
    assert response.status_code == 413 and "pages" in response.json()["file"][0]
    assert not Resume.objects.exists()


@pytest.mark.timeout(120)
def test_pdf_of_compressed_streams_is_stopped_by_the_child_limits(recruiter, settings):
    """8 MB of text operators behind 13 KB: the reader runs out of its CPU second in the child, not here."""
    settings.UPLOAD_PARSE_CPU_SECONDS = 1
    settings.UPLOAD_PARSE_WALL_SECONDS = 60
    bomb = _flate_pdf(8 * 1024 * 1024)
    assert len(bomb) < 32 * 1024
    response = _upload(recruiter, "cv.pdf", bomb, "application/pdf")
    assert response.status_code in (400, 413), response.content
    assert "file" in response.json()
    assert not Resume.objects.exists()


def test_an_ordinary_upload_still_parses_in_the_child(recruiter):
    pdf = make_pdf([["# Jane Doe", "jane@example.com", "# Skills", "Python, Django, PostgreSQL"]])
    response = _upload(recruiter, "cv.pdf", pdf, "application/pdf")
    assert response.status_code == 201, response.content
    assert response.json()["parsed_contact"]["email"] == "jane@example.com"
