"""Resume parsing: PDF, DOCX and text files built here, in several layouts, down to sections."""

from __future__ import annotations

import io

import docx
import pytest

from recruiting.parsing import (
    ParseError,
    UnsupportedFileType,
    find_date_range,
    parse_resume,
    parse_skills,
    parse_text,
)

# ---------------------------------------------------------------------------------------------
# Document builders (also used by the upload API tests)


def _pdf_escape(text: str) -> bytes:
    raw = text.encode("cp1252")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def make_pdf(pages: list[list[str]], *, font_size: int = 11) -> bytes:
    """A small but valid PDF: one Helvetica text block per page; lines starting with '# ' in bold."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_obj = add(b"")
    regular = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    bold = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    page_ids = []
    for lines in pages:
        ops = [b"BT", f"{font_size + 3} TL 56 790 Td".encode()]
        for line in lines:
            font = b"/F2" if line.startswith("# ") else b"/F1"
            text = line[2:] if line.startswith("# ") else line
            ops.append(font + f" {font_size} Tf".encode())
            ops.append(b"(" + _pdf_escape(text) + b") Tj T*")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        page_ids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                b"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> >>" % (pages_obj, content, regular, bold)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    kids = b" ".join(b"%d 0 R" % i for i in page_ids)
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))

    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    )
    return out.getvalue()


def make_docx_styled() -> bytes:
    """Word's own structure: Title, Heading 1 sections, List Bullet items."""
    document = docx.Document()
    document.add_paragraph("Maria Garcia", style="Title")
    document.add_paragraph("Registered Nurse — ICU")
    document.add_paragraph("maria.garcia@example.org · (555) 201-3344 · Austin, TX")
    document.add_heading("Profile", level=1)
    document.add_paragraph("Critical care nurse with 6 years in high-acuity ICU settings.")
    document.add_heading("Core Competencies", level=1)
    for skill in ("Patient assessment", "Ventilator management", "ACLS", "Epic EHR"):
        document.add_paragraph(skill, style="List Bullet")
    document.add_heading("Work History", level=1)
    document.add_paragraph("ICU Staff Nurse, St. David's Medical Center, Austin, TX")
    document.add_paragraph("June 2018 – Present")
    document.add_paragraph("Care for 2–3 critically ill patients per shift.", style="List Bullet")
    document.add_paragraph("Precept new graduate nurses.", style="List Bullet")
    document.add_paragraph("Medical-Surgical Nurse | Seton Hospital | Austin, TX | 2015 - 2018")
    document.add_paragraph("Managed post-operative care for 5 patients.", style="List Bullet")
    document.add_heading("Education", level=1)
    document.add_paragraph("BSN, University of Texas at Austin, 2015")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_docx_table_layout() -> bytes:
    """A template built from tables: contact block in a table, one row per section (label | content)."""
    document = docx.Document()
    top = document.add_table(rows=1, cols=2)
    top.cell(0, 0).text = "Tom Becker"
    top.cell(0, 0).add_paragraph("Warehouse Operations Supervisor")
    top.cell(0, 1).text = "tom.becker@example.net\n+1 312 555 0199\nChicago, IL"
    body = document.add_table(rows=4, cols=2)
    body.cell(0, 0).text = "Summary"
    body.cell(0, 1).text = "Operations lead for high-volume distribution centers."
    body.cell(1, 0).text = "Skills"
    body.cell(1, 1).text = "Forklift certified; WMS (Manhattan); Inventory control; Team leadership"
    body.cell(2, 0).text = "Employment"
    cell = body.cell(2, 1)
    cell.text = "Shift Supervisor — Midwest Logistics Inc — Chicago"
    cell.add_paragraph("Feb 2020 - Present")
    cell.add_paragraph("Lead a team of 25 associates on the night shift.")
    cell.add_paragraph("")
    cell.add_paragraph("Warehouse Associate at FastFreight LLC (2016 – 2020)")
    cell.add_paragraph("Picked and packed 300 orders a shift.")
    body.cell(3, 0).text = "Education"
    body.cell(3, 1).text = "High School Diploma — Lincoln High School — 2015"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


SOFTWARE_TXT = """\
Jane Doe
Senior Data Engineer
jane.doe@example.com | +49 170 1234567 | Berlin, Germany

SUMMARY
Data engineer with 8 years of experience building batch and streaming pipelines.

TECHNICAL SKILLS
Languages: Python, SQL, Scala
Tools: Airflow | Spark | Kafka • dbt; Docker, CI/CD

EXPERIENCE
Senior Data Engineer | Acme Corp | Berlin
Jan 2019 – Present
• Built a streaming platform on Kafka and Flink.
• Cut warehouse costs by 30%.

Data Engineer, Initech, Munich    2016-2018
- Maintained Airflow DAGs for 200 pipelines.

Globex GmbH
Junior Developer
March 2014 to December 2015
Wrote ETL jobs in Python.

EDUCATION
MSc Computer Science, TU Berlin, 2014
BSc Mathematics
University of Hamburg
2009 – 2012

Certifications
AWS Certified Data Engineer
"""


# ---------------------------------------------------------------------------------------------
# Plain text


def test_plain_text_resume_sections():
    parsed = parse_resume(SOFTWARE_TXT.encode(), filename="jane.txt", content_type="text/plain")
    assert parsed.file_format == "text"
    assert parsed.name == "Jane Doe"
    assert parsed.email == "jane.doe@example.com"
    assert parsed.headline == "Senior Data Engineer"
    assert parsed.summary.startswith("Data engineer with 8 years")
    assert parsed.skills == ["Python", "SQL", "Scala", "Airflow", "Spark", "Kafka", "dbt", "Docker", "CI/CD"]
    assert [(e["title"], e["company"], e["start"], e["end"]) for e in parsed.experience] == [
        ("Senior Data Engineer", "Acme Corp", "Jan 2019", "Present"),
        ("Data Engineer", "Initech", "2016", "2018"),
        ("Junior Developer", "Globex GmbH", "March 2014", "December 2015"),
    ]
    assert parsed.experience[0]["location"] == "Berlin"
    assert parsed.experience[0]["description"].splitlines() == [
        "Built a streaming platform on Kafka and Flink.",
        "Cut warehouse costs by 30%.",
    ]
    assert parsed.education == [
        {"degree": "MSc Computer Science", "institution": "TU Berlin", "year": 2014},
        {"degree": "BSc Mathematics", "institution": "University of Hamburg", "year": 2012},
    ]
    # other sections are kept apart, not run into education
    assert parsed.sections["certifications"] == "AWS Certified Data Engineer"
    assert "AWS" not in str(parsed.education)


def test_markdown_style_headings_and_inline_sections():
    text = """\
# Priya Sharma — Marketing Manager

## About Me
B2B marketer focused on demand generation.

Skills: SEO, Google Analytics, HubSpot, Content strategy

## Employment History
Marketing Manager at Brightwave Media (2020 – present)
Own the demand-generation budget.
Marketing Specialist @ Nova Retail, 06/2017 – 12/2019
Ran paid social campaigns.

## Education
MBA — London Business School — 2017
"""
    parsed = parse_text(text)
    assert parsed.name == "Priya Sharma"
    assert parsed.headline == "Marketing Manager"
    assert parsed.summary == "B2B marketer focused on demand generation."
    assert parsed.skills == ["SEO", "Google Analytics", "HubSpot", "Content strategy"]
    assert [(e["title"], e["company"], e["start"], e["end"]) for e in parsed.experience] == [
        ("Marketing Manager", "Brightwave Media", "2020", "Present"),
        ("Marketing Specialist", "Nova Retail", "06/2017", "12/2019"),
    ]
    assert parsed.experience[1]["description"] == "Ran paid social campaigns."
    assert parsed.education == [{"degree": "MBA", "institution": "London Business School", "year": 2017}]


def test_latin1_text_is_decoded():
    text = "José Müller\nAccountant\n\nSkills\nIFRS, Excel, SAP\n\nExperience\nAccountant, Bäckerei Groß, 2018-2021\n"
    parsed = parse_resume(text.encode("latin-1"), filename="cv.txt")
    assert parsed.name == "José Müller"
    assert parsed.experience[0]["company"] == "Bäckerei Groß"
    assert parsed.skills == ["IFRS", "Excel", "SAP"]


def test_resume_without_headings_keeps_text_and_header():
    parsed = parse_text(
        "Alex Kim\nCashier\nFriendly cashier with five years in grocery retail and customer service."
    )
    assert parsed.name == "Alex Kim"
    assert parsed.headline == "Cashier"
    assert parsed.skills == [] and parsed.experience == []
    assert "grocery retail" in parsed.full_text


def test_experience_without_dates_is_split_by_blocks():
    parsed = parse_text(
        "Experience\nStore Manager, FreshMart\nRan a store of 40 staff.\n\nAssistant Manager, FreshMart\nScheduling.\n"
    )
    assert [(e["title"], e["company"]) for e in parsed.experience] == [
        ("Store Manager", "FreshMart"),
        ("Assistant Manager", "FreshMart"),
    ]
    assert parsed.experience[0]["description"] == "Ran a store of 40 staff."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Jan 2019 – Present", ("Jan 2019", "Present")),
        ("2016-2018", ("2016", "2018")),
        ("Engineer (Sept. 2015 to Aug 2017)", ("Sept. 2015", "Aug 2017")),
        ("03/2017 - 06/2019", ("03/2017", "06/2019")),
        ("2019-01 – 2020-03", ("2019-01", "2020-03")),
        ("since 2021", ("2021", "Present")),
        ("Summer 2019 - current", ("Summer 2019", "Present")),
    ],
)
def test_date_ranges(line, expected):
    found = find_date_range(line)
    assert found is not None and found[:2] == expected


def test_prose_with_years_is_not_an_entry():
    parsed = parse_text(
        "Experience\nBarista, Bean There, 2019 - 2021\n• Grew sales from 2019 to 2021 by training new staff.\n"
    )
    assert len(parsed.experience) == 1
    assert parsed.experience[0]["title"] == "Barista"


def test_skills_split_on_commas_bullets_pipes():
    assert parse_skills(
        ["• Python", "• SQL, Excel", "Tableau | Power BI · Looker", "A/B testing; and R"]
    ) == [
        "Python",
        "SQL",
        "Excel",
        "Tableau",
        "Power BI",
        "Looker",
        "A/B testing",
        "R",
    ]


# ---------------------------------------------------------------------------------------------
# PDF


def test_pdf_resume_sections():
    pdf = make_pdf(
        [
            [
                "# Samuel Okafor",
                "Financial Analyst",
                "samuel.okafor@example.com | 020 7946 0958",
                "",
                "# PROFESSIONAL SUMMARY",
                "Analyst with five years in FP&A for retail and logistics groups.",
                "# SKILLS",
                "Financial modelling, Forecasting, Excel (advanced), SQL, Power BI",
                "# EXPERIENCE",
                "Senior Financial Analyst | Northwind Traders | London",
                "Apr 2021 – Present",
                "• Own the monthly forecast for a £200m revenue business.",
            ],
            [
                "Financial Analyst | Contoso Ltd | Manchester",
                "Sep 2017 – Mar 2021",
                "• Built the budget model used by 12 cost centres.",
                "# EDUCATION",
                "BA Economics, University of Manchester, 2017",
            ],
        ]
    )
    parsed = parse_resume(pdf, filename="okafor.pdf", content_type="application/pdf")
    assert parsed.file_format == "pdf"
    assert parsed.name == "Samuel Okafor"
    assert parsed.headline == "Financial Analyst"
    assert parsed.summary.startswith("Analyst with five years")
    assert parsed.skills == ["Financial modelling", "Forecasting", "Excel (advanced)", "SQL", "Power BI"]
    assert [(e["title"], e["company"], e["location"], e["start"], e["end"]) for e in parsed.experience] == [
        ("Senior Financial Analyst", "Northwind Traders", "London", "Apr 2021", "Present"),
        ("Financial Analyst", "Contoso Ltd", "Manchester", "Sep 2017", "Mar 2021"),
    ]
    assert "£200m" in parsed.experience[0]["description"]
    assert parsed.education == [
        {"degree": "BA Economics", "institution": "University of Manchester", "year": 2017}
    ]


def test_pdf_named_by_content_not_extension():
    pdf = make_pdf(
        [["Lee Chan", "Delivery Driver", "Skills", "Route planning, Customer service, Class B license"]]
    )
    parsed = parse_resume(pdf, filename="upload.bin", content_type="application/octet-stream")
    assert parsed.file_format == "pdf"
    assert "Route planning" in parsed.skills


def test_pdf_without_text_is_refused():
    with pytest.raises(ParseError, match="No text found"):
        parse_resume(make_pdf([[""]]), filename="scan.pdf")


def test_damaged_pdf_is_refused():
    with pytest.raises(ParseError):
        parse_resume(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", filename="broken.pdf")
    with pytest.raises(ParseError, match="not a readable PDF"):
        parse_resume(b"hello, this is not a pdf at all but a plain sentence", filename="fake.pdf")


# ---------------------------------------------------------------------------------------------
# DOCX


def test_docx_styled_resume_sections():
    parsed = parse_resume(make_docx_styled(), filename="garcia.docx")
    assert parsed.file_format == "docx"
    assert parsed.name == "Maria Garcia"
    assert parsed.headline == "Registered Nurse — ICU"
    assert parsed.email == "maria.garcia@example.org"
    assert parsed.summary == "Critical care nurse with 6 years in high-acuity ICU settings."
    assert parsed.skills == ["Patient assessment", "Ventilator management", "ACLS", "Epic EHR"]
    assert [
        (e["title"], e["company"], e.get("location"), e["start"], e["end"]) for e in parsed.experience
    ] == [
        ("ICU Staff Nurse", "St. David's Medical Center", "Austin, TX", "June 2018", "Present"),
        ("Medical-Surgical Nurse", "Seton Hospital", "Austin, TX", "2015", "2018"),
    ]
    assert parsed.experience[0]["description"].splitlines() == [
        "Care for 2–3 critically ill patients per shift.",
        "Precept new graduate nurses.",
    ]
    assert parsed.education == [
        {"degree": "BSN", "institution": "University of Texas at Austin", "year": 2015}
    ]


def test_docx_table_layout_sections():
    parsed = parse_resume(make_docx_table_layout(), filename="becker.docx")
    assert parsed.name == "Tom Becker"
    assert parsed.headline == "Warehouse Operations Supervisor"
    assert parsed.email == "tom.becker@example.net"
    assert parsed.summary == "Operations lead for high-volume distribution centers."
    assert parsed.skills == ["Forklift certified", "WMS (Manhattan)", "Inventory control", "Team leadership"]
    assert [(e["title"], e["company"], e["start"], e["end"]) for e in parsed.experience] == [
        ("Shift Supervisor", "Midwest Logistics Inc", "Feb 2020", "Present"),
        ("Warehouse Associate", "FastFreight LLC", "2016", "2020"),
    ]
    assert parsed.experience[0]["location"] == "Chicago"
    assert parsed.education == [
        {"degree": "High School Diploma", "institution": "Lincoln High School", "year": 2015}
    ]


def test_damaged_docx_is_refused():
    data = make_docx_styled()
    with pytest.raises(ParseError, match="damaged"):
        parse_resume(data[: len(data) // 2], filename="cut.docx")


# ---------------------------------------------------------------------------------------------
# Refusals


def test_empty_file_is_refused():
    with pytest.raises(ParseError, match="empty"):
        parse_resume(b"", filename="cv.txt")
    with pytest.raises(ParseError, match="no readable text"):
        parse_resume(b"   \n\n  ", filename="cv.txt")


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "photo.png"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "old.doc"),
        (b"PK\x03\x04" + bytes(64), "archive.zip"),
    ],
)
def test_unsupported_types_are_refused(data, filename):
    with pytest.raises(UnsupportedFileType):
        parse_resume(data, filename=filename)


def test_parsed_resume_fits_the_resume_validators():
    from recruiting.models import Resume

    parsed = parse_resume(make_docx_table_layout(), filename="becker.docx")
    resume = Resume(**parsed.resume_data())
    resume.clean_fields(exclude=["candidate"])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "Software Engineer at Google, Mountain View, CA   Jan 2019 - Present",
            ("Software Engineer", "Google", "Mountain View, CA", "Jan 2019", "Present"),
        ),
        ("Developer | Acme, Inc. | 2015 - 2017", ("Developer", "Acme, Inc.", None, "2015", "2017")),
        ("Nurse @ Mercy Health, Dublin (2012 – 2014)", ("Nurse", "Mercy Health", "Dublin", "2012", "2014")),
        (
            "Acme Corp — Senior Developer — 2019-01 – 2020-03",
            ("Senior Developer", "Acme Corp", None, "2019-01", "2020-03"),
        ),
    ],
)
def test_experience_header_variants(header, expected):
    [entry] = parse_text(f"Experience\n{header}\n- Did things.\n").experience
    assert (entry["title"], entry["company"], entry.get("location"), entry["start"], entry["end"]) == expected
    assert entry["description"] == "Did things."
