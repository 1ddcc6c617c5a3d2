"""Resume files to structured sections.

`parse_resume(data, filename=..., content_type=...)` reads a PDF (pypdf), a DOCX (python-docx,
paragraphs and tables in document order) or plain text (UTF-8, UTF-16 with a BOM, else latin-1),
then splits the text into sections by its headings ("Summary", "Skills", "Experience",
"Education", and their usual synonyms) and parses each section:

* the block above the first heading gives the name, contact details and the headline;
* skills are split on commas, bullets, pipes, semicolons and line breaks;
* experience is split into entries around date ranges ("Jan 2019 – Present", "2016-2018",
  "03/2017 to 06/2019"): {title, company, location, start, end, description};
* education is split into {degree, institution, year} entries.

Anything that cannot be read raises `ParseError` (`UnsupportedFileType` for formats not handled),
with a message that can be shown to the person who uploaded the file.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from recruiting.validators import MAX_ITEM_CHARS, MAX_LIST_ITEMS


class ParseError(ValueError):
    """The file could not be turned into a resume. The message is meant for the uploader."""


class UnsupportedFileType(ParseError):
    """The file is of a type the parser does not read (e.g. .doc, images)."""


PDF, DOCX, TEXT = "pdf", "docx", "text"
SUPPORTED_EXTENSIONS = {".pdf": PDF, ".docx": DOCX, ".txt": TEXT, ".text": TEXT, ".md": TEXT}
SUPPORTED_CONTENT_TYPES = {
    "application/pdf": PDF,
    "application/x-pdf": PDF,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": DOCX,
    "text/plain": TEXT,
    "text/markdown": TEXT,
}
SUPPORTED_DESCRIPTION = "PDF, DOCX or plain text (.txt)"
# Below this many letters, a file is taken as empty (e.g. a scanned PDF without a text layer).
MIN_LETTERS = 20


@dataclass
class ParsedResume:
    """What a resume file says, in the shape `services.resume_create` takes (see `resume_data`)."""

    full_text: str
    name: str = ""
    email: str = ""
    phone: str = ""
    headline: str = ""
    summary: str = ""
    skills: list[str] = field(default_factory=list)
    experience: list[dict[str, Any]] = field(default_factory=list)
    education: list[dict[str, Any]] = field(default_factory=list)
    # every section found, by canonical name ("summary", "skills", "certifications", ...), as raw text
    sections: dict[str, str] = field(default_factory=dict)
    file_format: str = ""

    def resume_data(self) -> dict[str, Any]:
        return {
            "headline": self.headline[:300],
            "summary": self.summary,
            "skills": list(self.skills),
            "experience": [dict(e) for e in self.experience],
            "education": [dict(e) for e in self.education],
            "full_text": self.full_text,
        }

    def candidate_data(self) -> dict[str, str]:
        return {"full_name": self.name[:200], "email": self.email}


# ---------------------------------------------------------------------------------------------
# Reading files


def detect_format(data: bytes, filename: str = "", content_type: str = "") -> str:
    """PDF, DOCX or TEXT, from the file's magic bytes first, then its name, then its content type."""
    ext = PurePath(filename or "").suffix.lower()
    ctype = (content_type or "").split(";")[0].strip().lower()
    if data[:1024].lstrip().startswith(b"%PDF"):
        return PDF
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return DOCX
        except zipfile.BadZipFile:
            pass
        if ext == ".docx":
            raise ParseError("The .docx file is damaged and cannot be opened.")
        raise UnsupportedFileType(f"Unsupported file type; upload {SUPPORTED_DESCRIPTION}.")
    guessed = SUPPORTED_EXTENSIONS.get(ext) or SUPPORTED_CONTENT_TYPES.get(ctype)
    if guessed == PDF:
        raise ParseError("The file is named as a PDF but is not a readable PDF.")
    if guessed == DOCX:
        raise ParseError("The file is named as a .docx but is not a readable Word document.")
    if guessed == TEXT or (not ext or ext not in _KNOWN_BINARY) and _looks_textual(data):
        return TEXT
    if ext == ".doc":
        raise UnsupportedFileType(
            f"Legacy Word .doc files are not supported; upload {SUPPORTED_DESCRIPTION}."
        )
    raise UnsupportedFileType(f"Unsupported file type; upload {SUPPORTED_DESCRIPTION}.")


_KNOWN_BINARY = {".doc", ".rtf", ".odt", ".pages", ".png", ".jpg", ".jpeg", ".gif", ".zip", ".xls", ".xlsx"}


def _looks_textual(data: bytes) -> bool:
    sample = data[:4096]
    if not sample or b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a character cut at the sample's end
            return False
    return True


def extract_text(data: bytes, filename: str = "", content_type: str = "") -> tuple[str, str]:
    """(text, format) of a resume file. Raises ParseError."""
    if not data:
        raise ParseError("The file is empty.")
    fmt = detect_format(data, filename, content_type)
    if fmt == PDF:
        text = _pdf_text(data)
    elif fmt == DOCX:
        text = _docx_text(data)
    else:
        text = _plain_text(data)
    text = _clean_text(text)
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        if fmt == PDF:
            raise ParseError(
                "No text found in the PDF (a scanned image?); upload a PDF with selectable text."
            )
        raise ParseError("The file contains no readable text.")
    return text, fmt


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError("The PDF is password-protected.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ParseError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        raise ParseError("The PDF is damaged and cannot be read.") from exc
    except Exception as exc:  # pypdf raises a wide range of errors on hostile input
        raise ParseError("The PDF cannot be read.") from exc
    return "\n".join(pages)


def _docx_text(data: bytes) -> str:
    import docx
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # zip, XML and package errors
        raise ParseError("The Word document is damaged and cannot be read.") from exc

    lines: list[str] = []

    def paragraph(p: Paragraph) -> None:
        text = p.text.strip()
        style = (p.style.name if p.style is not None else "") or ""
        is_list = style.lower().startswith("list") or p._p.pPr is not None and p._p.pPr.numPr is not None
        if text and is_list and not _BULLET_RE.match(text):
            text = "• " + text
        lines.append(text)

    def table(t: Table) -> None:
        # The XML cells, not `row.cells`: a merged cell is one <w:tc> but shows up once per grid column.
        for tr in t._tbl.tr_lst:
            for tc in tr.tc_lst:
                cell = _Cell(tc, t)
                for item in cell.iter_inner_content():
                    paragraph(item) if isinstance(item, Paragraph) else table(item)
                lines.append("")

    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            paragraph(item)
        else:
            table(item)
            lines.append("")
    return "\n".join(lines)


def _plain_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ParseError("The text file is not valid UTF-16.") from exc
    if b"\x00" in data[:4096]:
        raise UnsupportedFileType(f"The file is binary, not text; upload {SUPPORTED_DESCRIPTION}.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = _CONTROL_RE.sub("", text)
    lines = [re.sub(r"[ \t]+$", "", line) for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def parse_resume(data: bytes, *, filename: str = "", content_type: str = "") -> ParsedResume:
    """Read and parse one resume file. Raises ParseError / UnsupportedFileType."""
    text, fmt = extract_text(data, filename, content_type)
    parsed = parse_text(text)
    parsed.file_format = fmt
    return parsed


# ---------------------------------------------------------------------------------------------
# Sections

HEADINGS: dict[str, tuple[str, ...]] = {
    "summary": (
        "summary",
        "professional summary",
        "career summary",
        "executive summary",
        "profile",
        "professional profile",
        "personal profile",
        "career profile",
        "about",
        "about me",
        "objective",
        "career objective",
        "overview",
        "introduction",
    ),
    "skills": (
        "skills",
        "technical skills",
        "key skills",
        "core skills",
        "core competencies",
        "competencies",
        "areas of expertise",
        "expertise",
        "skills and abilities",
        "skills & abilities",
        "skills & expertise",
        "skills and expertise",
        "technologies",
        "tech stack",
        "tools",
        "tools and technologies",
        "tools & technologies",
        "qualifications",
        "key qualifications",
        "strengths",
    ),
    "experience": (
        "experience",
        "work experience",
        "professional experience",
        "relevant experience",
        "employment",
        "employment history",
        "work history",
        "career history",
        "professional history",
        "career",
        "positions held",
    ),
    "education": (
        "education",
        "education and training",
        "education & training",
        "academic background",
        "academic history",
        "qualifications and education",
        "academic qualifications",
        "studies",
    ),
    # recognised so that their text does not run into the sections above
    "certifications": (
        "certifications",
        "certificates",
        "licenses",
        "licenses and certifications",
        "licenses & certifications",
        "certifications and licenses",
    ),
    "projects": ("projects", "personal projects", "selected projects", "key projects"),
    "languages": ("languages", "language skills"),
    "awards": ("awards", "honors", "honours", "achievements", "awards and honors"),
    "publications": ("publications",),
    "volunteering": ("volunteering", "volunteer experience", "volunteer work"),
    "interests": ("interests", "hobbies", "hobbies and interests"),
    "references": ("references",),
    "contact": (
        "contact",
        "contact information",
        "contact details",
        "personal details",
        "personal information",
    ),
    "headline": ("headline", "title", "current title", "desired position", "position"),
}
_HEADING_LOOKUP = {alias: name for name, aliases in HEADINGS.items() for alias in aliases}
_BULLET_CHARS = "•·▪◦●○■□►▸‣⁃*–—-"
_BULLET_RE = re.compile(rf"^\s*[{re.escape(_BULLET_CHARS)}]\s+|^\s*[•·▪◦●○■□►▸‣⁃]\s*")


def _heading_key(text: str) -> str:
    key = text.strip().strip("#=*_~:|-–— \t").strip()
    key = re.sub(r"\s+", " ", key).lower()
    return key


def _match_heading(line: str) -> tuple[str, str] | None:
    """(section, rest of the line) when the line is a heading, e.g. 'SKILLS', '## Experience', 'Skills: a, b'."""
    stripped = line.strip()
    if not stripped or len(stripped) > 80:
        return None
    name = _HEADING_LOOKUP.get(_heading_key(stripped))
    if name:
        return name, ""
    # "Skills: Python, SQL" — a heading with its content on the same line
    m = re.match(r"^([A-Za-z &/]{3,40}?)\s*[:|]\s*(.+)$", stripped)
    if m:
        name = _HEADING_LOOKUP.get(_heading_key(m.group(1)))
        if name and name != "headline" or name == "headline" and m.group(1).strip().lower() == "headline":
            return name, m.group(2).strip()
    return None


_MAIN_SECTIONS = {"summary", "experience", "education"}


def split_sections(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """(lines above the first heading, {section: lines}). Repeated headings append to one section."""
    header: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] = header
    current_name = ""
    for line in text.split("\n"):
        match = _match_heading(line)
        if match and match[1] and current_name == "skills" and match[0] not in _MAIN_SECTIONS:
            match = None  # "Languages: Python, Go" inside a skills section is a skill group, not a heading
        if match:
            name, rest = match
            current_name = name
            current = sections.setdefault(name, [])
            if current and current[-1] != "":
                current.append("")
            if rest:
                current.append(rest)
            continue
        current.append(line.strip())
    return header, sections


def parse_text(text: str) -> ParsedResume:
    text = _clean_text(text)
    header, sections = split_sections(text)
    parsed = ParsedResume(full_text=text)
    parsed.sections = {name: "\n".join(lines).strip() for name, lines in sections.items()}

    _parse_header(header + sections.get("contact", []), parsed)
    if sections.get("headline"):
        first = next((line for line in sections["headline"] if line), "")
        if first:
            parsed.headline = _strip_bullet(first)
    parsed.summary = _paragraph(sections.get("summary", []))
    parsed.skills = parse_skills(sections.get("skills", []))
    parsed.experience = parse_experience(sections.get("experience", []))
    parsed.education = parse_education(sections.get("education", []))
    if not parsed.headline and parsed.experience:
        parsed.headline = str(parsed.experience[0].get("title") or "")
    parsed.headline = parsed.headline[:300]
    return parsed


# ---------------------------------------------------------------------------------------------
# Header: name, contact, headline

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(r"(?:\+?\d[\d ()./-]{7,}\d)")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b(?:linkedin|github)\.com/\S*", re.I)


def _is_contact(line: str) -> bool:
    if _EMAIL_RE.search(line) or _URL_RE.search(line):
        return True
    digits = sum(ch.isdigit() for ch in line)
    return bool(_PHONE_RE.search(line)) and digits >= 7 and digits >= len(line.replace(" ", "")) * 0.4


def _looks_like_name(text: str) -> bool:
    words = text.replace(",", " ").split()
    if not 2 <= len(words) <= 5 or any(ch.isdigit() for ch in text):
        return False
    if any(w.lower().strip(".") in _TITLE_WORDS for w in words):
        return False
    return all(
        w[0].isupper() or w.lower() in {"de", "van", "von", "der", "da", "di", "la", "le"} for w in words
    )


_SEP_RE = re.compile(r"\s+[|•·–—-]\s+|\s*\|\s*|\t+|\s{3,}")


def _parse_header(lines: list[str], parsed: ParsedResume) -> None:
    rest: list[str] = []
    for raw in lines:
        line = raw.strip().lstrip("#").strip().strip("*_").strip()
        if not line:
            continue
        email = _EMAIL_RE.search(line)
        if email and not parsed.email:
            parsed.email = email.group(0)
        if not parsed.phone:
            phone = _PHONE_RE.search(_EMAIL_RE.sub(" ", line))
            if phone and sum(ch.isdigit() for ch in phone.group(0)) >= 7:
                parsed.phone = phone.group(0).strip()
        if _is_contact(line):
            continue
        label = re.match(r"^(name|headline|title)\s*:\s*(.+)$", line, re.I)
        if label:
            if label.group(1).lower() == "name":
                parsed.name = label.group(2).strip()
            else:
                parsed.headline = label.group(2).strip()
            continue
        rest.append(line)
    if not rest:
        return
    parts = [p.strip() for p in _SEP_RE.split(rest[0]) if p.strip()]
    if not parsed.name and parts and _looks_like_name(parts[0]):
        parsed.name = parts[0]
        if len(parts) > 1 and not parsed.headline:
            parsed.headline = parts[1]
        rest = rest[1:]
    elif not parsed.name and len(rest) > 1 and not any(w in _TITLE_WORDS for w in rest[0].lower().split()):
        parsed.name = rest[0]
        rest = rest[1:]
    if not parsed.headline:
        for line in rest:
            if _looks_like_location(line):
                continue
            parsed.headline = _SEP_RE.split(line)[0].strip() if len(line) > 120 else line
            break


def _looks_like_location(line: str) -> bool:
    # "Berlin, Germany", "Austin, TX 78701" — short comma-separated place names without title words
    words = line.lower().replace(",", " ").split()
    return (
        "," in line
        and len(line) < 50
        and not any(w in _TITLE_WORDS for w in words)
        and all(w[:1].isupper() or w[:1].isdigit() for w in line.replace(",", " ").split())
    )


# ---------------------------------------------------------------------------------------------
# Skills and summary


def _strip_bullet(line: str) -> str:
    return _BULLET_RE.sub("", line, count=1).strip()


def _paragraph(lines: list[str]) -> str:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if not line.strip():
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(_strip_bullet(line))
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


_SKILL_SPLIT_RE = re.compile(r"\s*(?:[,;|•·▪◦●■►/]\s+|[,;|•·▪◦●■►]|\s+[-–—]\s+|\s{3,}|\t)\s*")


def parse_skills(lines: list[str]) -> list[str]:
    """Split a skills section into items: 'Python, SQL | Docker • AWS', one per line, 'Languages: Go, Rust'."""
    skills: list[str] = []
    seen: set[str] = set()
    for raw in lines:
        line = _strip_bullet(raw)
        if not line:
            continue
        # "Programming languages: Python, Go" — the category label is not a skill
        label = re.match(r"^([A-Za-z][A-Za-z &/-]{1,40}):\s*(.+)$", line)
        if label:
            line = label.group(2)
        for item in _SKILL_SPLIT_RE.split(line):
            item = _strip_brackets(item.strip(" .\t-–—*"))
            if item.lower().startswith("and "):
                item = item[4:].strip()
            if not item or len(item) > 80 or len(item.split()) > 6:
                continue
            key = item.lower()
            if key not in seen:
                seen.add(key)
                skills.append(item)
    return skills[:MAX_LIST_ITEMS]


def _strip_brackets(item: str) -> str:
    """Drop brackets left unbalanced by a split: '(Python' -> 'Python', 'Excel (advanced)' stays."""
    for _ in range(2):
        if item.startswith(("(", "[")) and not item.endswith((")", "]")):
            item = item[1:].strip()
        if item.endswith((")", "]")) and item.count("(") + item.count("[") < item.count(")") + item.count(
            "]"
        ):
            item = item[:-1].strip()
    return item


# ---------------------------------------------------------------------------------------------
# Dates

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?:19[5-9]\d|20\d\d)"
_DATE = (
    rf"(?:{_MONTH},?\s+{_YEAR}|(?:0?[1-9]|1[0-2])[/.]{_YEAR}|{_YEAR}[-/.](?:0?[1-9]|1[0-2])(?!\d)|"
    rf"(?:spring|summer|fall|autumn|winter)\s+{_YEAR}|{_YEAR})"
)
_OPEN_END = r"(?:present|current|currently|now|today|ongoing|date)"
_RANGE_RE = re.compile(
    rf"(?<![\w/.])(?P<start>{_DATE})\s*(?:-|–|—|to|until|till|through|thru|~)\s*(?P<end>{_DATE}|{_OPEN_END})(?![\w/])",
    re.I,
)
_SINCE_RE = re.compile(rf"\b(?:since|from)\s+(?P<start>{_DATE})\b", re.I)
_YEAR_RE = re.compile(rf"(?<!\d){_YEAR}(?!\d)")


def find_date_range(line: str) -> tuple[str, str, tuple[int, int]] | None:
    """(start, end, span) of the first date range in a line; end is '' when open ('Present')."""
    m = _RANGE_RE.search(line)
    if m:
        end = m.group("end")
        if re.fullmatch(_OPEN_END, end, re.I):
            end = "Present"
        return _tidy_date(m.group("start")), _tidy_date(end), m.span()
    m = _SINCE_RE.search(line)
    if m:
        return _tidy_date(m.group("start")), "Present", m.span()
    return None


def _tidy_date(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip().rstrip(",."))
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# Experience

_TITLE_WORDS = frozenset(
    """
    engineer developer manager analyst scientist nurse designer consultant director lead head
    architect administrator specialist coordinator assistant associate intern officer accountant
    technician supervisor representative cashier clerk driver operator programmer researcher teacher
    advisor adviser executive president vp cto ceo cfo founder co-founder owner senior junior
    principal staff controller auditor planner buyer merchandiser worker handler dispatcher
    therapist practitioner pharmacist physician marketer strategist writer editor recruiter sales
    support agent instructor tutor trainee apprentice rn lpn
    """.split()
)
_COMPANY_HINTS = re.compile(
    r"\b(?:inc|llc|ltd|gmbh|ag|corp|corporation|company|co|group|plc|sa|bv|labs?|technologies|"
    r"systems|solutions|hospital|clinic|bank|university|consulting|partners|holdings|foods|stores?|"
    r"logistics|health|healthcare|medical|center|centre)\b\.?",
    re.I,
)
_LEGAL_SUFFIX_RE = re.compile(r"^(?:inc|llc|ltd|gmbh|ag|corp|plc|s\.?a|b\.?v|co)\b\.?", re.I)
_HEADER_SPLIT_RE = re.compile(r"\s*(?:\||•|·|\t|\s[–—-]\s|—|–|\s{3,}|\bat\b|@)\s*", re.I)


def _is_bullet(line: str) -> bool:
    return bool(_BULLET_RE.match(line))


def _could_be_header(line: str) -> bool:
    return bool(line) and not _is_bullet(line) and len(line) <= 120 and not line.rstrip().endswith((".", ";"))


def _title_score(text: str) -> int:
    return sum(w.strip(".,()") in _TITLE_WORDS for w in text.lower().split())


def _header_fields(lines: list[str]) -> dict[str, str]:
    """title / company / location from an entry's header lines (dates already removed)."""
    parts: list[str] = []
    for line in lines:
        pieces = [p.strip(" ,;:()[]") for p in _HEADER_SPLIT_RE.split(line)]
        pieces = [p for p in pieces if p]
        if len(pieces) == 1 and "," in pieces[0]:
            # "Senior Engineer, Acme Corp, Berlin" — commas separate fields only without stronger separators
            comma = [p.strip() for p in pieces[0].split(",") if p.strip()]
            if len(lines) == 1 or len(parts) >= 1:
                pieces = comma
        parts.extend(pieces)
    fields: dict[str, str] = {}
    if not parts:
        return fields
    # the part with the most title words is the title; put it first
    if (
        len(parts) >= 2
        and _title_score(parts[1]) > _title_score(parts[0])
        and not _COMPANY_HINTS.search(parts[1])
    ):
        parts[0], parts[1] = parts[1], parts[0]
    elif (
        len(parts) >= 2
        and _COMPANY_HINTS.search(parts[0])
        and not _COMPANY_HINTS.search(parts[1])
        and _title_score(parts[0]) == 0
    ):
        parts[0], parts[1] = parts[1], parts[0]
    if len(parts) == 2 and "," in parts[1]:
        # "Engineer at Google, Mountain View, CA": the company, then its place
        company, _, place = parts[1].partition(",")
        if place.strip() and not _LEGAL_SUFFIX_RE.match(place.strip()):
            parts = [parts[0], company.strip(), place.strip()]
    fields["title"] = parts[0]
    if len(parts) >= 2:
        fields["company"] = parts[1]
    if len(parts) >= 3:
        fields["location"] = ", ".join(parts[2:])
    return fields


def parse_experience(lines: list[str]) -> list[dict[str, Any]]:
    """Entries around date ranges; without any date range, one entry per blank-line block."""
    lines = [line.strip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    anchors = [i for i, line in enumerate(lines) if _is_entry_anchor(line)]
    if not anchors:
        return _blocks_as_entries(lines)

    # Where each entry's header starts: the date line plus up to two header-looking lines right above it.
    starts: list[int] = []
    previous_anchor = -1
    for a in anchors:
        start = a
        while start - 1 > previous_anchor and a - (start - 1) <= 2 and _could_be_header(lines[start - 1]):
            if find_date_range(lines[start - 1]):
                break
            start -= 1
        starts.append(start)
        previous_anchor = a

    entries: list[dict[str, Any]] = []
    for n, (start, anchor) in enumerate(zip(starts, anchors, strict=True)):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        date_start, date_end, span = find_date_range(lines[anchor])  # type: ignore[misc]
        anchor_rest = (lines[anchor][: span[0]] + " " + lines[anchor][span[1] :]).strip(" ,|–—-()[]\t")
        anchor_rest = re.sub(r"\(\s*\)|\[\s*\]", "", anchor_rest).strip(" ,|–—-\t")
        header_lines = [line for line in lines[start:anchor] if line]
        if anchor_rest:
            header_lines.append(_strip_bullet(anchor_rest))
        body_start = anchor + 1
        # "Jan 2019 – Present" alone, title and company on the lines below it
        if not header_lines:
            while body_start < end and len(header_lines) < 2 and _could_be_header(lines[body_start]):
                header_lines.append(lines[body_start])
                body_start += 1
        entry: dict[str, Any] = _header_fields(header_lines)
        entry["start"] = date_start
        entry["end"] = date_end
        description = _description(lines[body_start:end])
        if description:
            entry["description"] = description
        entries.append(_clip(entry))
    # text before the first dated entry that is not a header (rare): keep it as an undated entry
    lead = [line for line in lines[: starts[0]] if line]
    if lead:
        entries = _blocks_as_entries(lines[: starts[0]]) + entries
    return entries[:MAX_LIST_ITEMS]


def _is_entry_anchor(line: str) -> bool:
    """A header line with a date range at its start or end ('Engineer, Acme (2016-2018)'), not prose."""
    if not line or _is_bullet(line) or line.endswith(".") or len(line) > 160:
        return False
    found = find_date_range(line)
    if not found:
        return False
    _, _, (a, b) = found
    before, after = line[:a].strip(" ([|,–—-\t"), line[b:].strip(" )]|,–—-\t")
    return not before or not after or (len(before) <= 100 and len(after) <= 60 and not after[:1].islower())


def _description(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        out.append(_strip_bullet(line))
    return "\n".join(out)


def _blocks_as_entries(lines: list[str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if line:
            block.append(line)
            continue
        if block:
            head = block[0]
            if _is_bullet(head):
                entry: dict[str, Any] = {"description": _description(block)}
            else:
                entry = _header_fields([head])
                rest = _description(block[1:])
                if rest:
                    entry["description"] = rest
            entries.append(_clip(entry))
            block = []
    return entries


def _clip(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v[:MAX_ITEM_CHARS] if isinstance(v, str) else v for k, v in entry.items() if v not in ("", None)
    }


# ---------------------------------------------------------------------------------------------
# Education

_DEGREE_RE = re.compile(
    r"\b(?:b\.?\s?sc?|b\.?\s?a|b\.?\s?eng|beng|bsn|b\.?\s?s|m\.?\s?sc?|m\.?\s?a|m\.?\s?eng|meng|m\.?\s?s|msn|mba|"
    r"ph\.?\s?d|dphil|md|jd|llb|llm|bachelor'?s?|master'?s?|doctor(?:ate)?|associate(?:'s)?\s+degree|"
    r"associate of|diploma|certificate|certification|a-levels?|abitur|high school|ged|degree|"
    r"licen[cs]e|rn|lpn|cpa|acca|cfa)\b\.?",
    re.I,
)
_INSTITUTION_RE = re.compile(
    r"\b(?:university|universität|universidad|université|college|institute|institut|school|academy|"
    r"polytechnic|hochschule|conservatory|seminary|tu|eth|epfl|mit|ucla|nyu)\b",
    re.I,
)


_EDUCATION_SPLIT_RE = re.compile(r"\s*(?:\||•|·|\t|\s[–—-]\s|—|–|\s{3,})\s*")


def parse_education(lines: list[str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    current: dict[str, Any] = {}

    def flush() -> None:
        nonlocal current
        if current:
            entries.append(_clip(current))
        current = {}

    for raw in lines:
        line = _strip_bullet(raw.strip())
        if not line:
            flush()
            continue
        years = _YEAR_RE.findall(line)
        text = _RANGE_RE.sub(" ", line)
        text = _YEAR_RE.sub(" ", text)
        pieces = [p.strip(" ,;:()[]–—-") for p in _EDUCATION_SPLIT_RE.split(text)]
        pieces = [p for p in pieces if p]
        if (
            len(pieces) == 1
            and "," in pieces[0]
            and (_DEGREE_RE.search(pieces[0]) and _INSTITUTION_RE.search(pieces[0]))
        ):
            pieces = [p.strip() for p in pieces[0].split(",") if p.strip()]
        has_degree = any(_DEGREE_RE.search(p) for p in pieces)
        has_institution = any(_INSTITUTION_RE.search(p) for p in pieces)
        # a second degree or institution line starts a new entry
        if current and (
            (has_degree and "degree" in current)
            or (has_institution and "institution" in current and "degree" in current and not has_degree)
        ):
            flush()
        for piece in pieces:
            if "degree" not in current and _DEGREE_RE.search(piece):
                current["degree"] = piece
            elif "institution" not in current and _INSTITUTION_RE.search(piece):
                current["institution"] = piece
            elif "degree" not in current and "institution" in current:
                current["degree"] = piece
            elif "institution" not in current and "degree" in current:
                current["institution"] = piece
            elif "degree" not in current:
                current["degree"] = piece
            else:
                current["description"] = (current.get("description", "") + " " + piece).strip()
        if years:
            current["year"] = int(years[-1])
    flush()
    return entries[:MAX_LIST_ITEMS]
