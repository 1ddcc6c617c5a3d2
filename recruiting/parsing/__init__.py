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

Modules: `formats` (which reader; the errors), `pdf`, `word`, `plain_text` and `extraction` (file to
text), `sections` (headings), `header`, `skills`, `dates`, `experience`, `education` (one section
each), `resume` (the whole pipeline) and `parsed` (its result).
"""

from recruiting.parsing.dates import find_date_range
from recruiting.parsing.education import parse_education
from recruiting.parsing.experience import parse_experience
from recruiting.parsing.extraction import extract_text
from recruiting.parsing.formats import SUPPORTED_DESCRIPTION, ParseError, UnsupportedFileType, detect_format
from recruiting.parsing.parsed import ParsedResume
from recruiting.parsing.resume import parse_resume, parse_text
from recruiting.parsing.sections import HEADINGS, split_sections
from recruiting.parsing.skills import parse_skills

__all__ = [
    "HEADINGS",
    "SUPPORTED_DESCRIPTION",
    "ParseError",
    "ParsedResume",
    "UnsupportedFileType",
    "detect_format",
    "extract_text",
    "find_date_range",
    "parse_education",
    "parse_experience",
    "parse_resume",
    "parse_skills",
    "parse_text",
    "split_sections",
]
