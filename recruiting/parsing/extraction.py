"""A resume file's text, read by the reader for its format."""

from __future__ import annotations

from recruiting.parsing.formats import DOCX, PDF, ParseError, detect_format
from recruiting.parsing.limits import DEFAULT_LIMITS, LimitExceeded, ParseLimits, check_docx
from recruiting.parsing.pdf import pdf_text
from recruiting.parsing.plain_text import clean_text, plain_text
from recruiting.parsing.word import docx_text

# Below this many letters, a file is taken as empty (e.g. a scanned PDF without a text layer).
MIN_LETTERS = 20


def extract_text(
    data: bytes, filename: str = "", content_type: str = "", *, limits: ParseLimits = DEFAULT_LIMITS
) -> tuple[str, str]:
    """(text, format) of a resume file. Raises ParseError (LimitExceeded over a structure limit)."""
    if not data:
        raise ParseError("The file is empty.")
    fmt = detect_format(data, filename, content_type)
    if fmt == PDF:
        text = pdf_text(data, limits)
    elif fmt == DOCX:
        check_docx(data, limits)
        text = docx_text(data)
    else:
        text = plain_text(data)
    if len(text) > limits.max_text_chars:
        raise LimitExceeded(f"The file holds over {limits.max_text_chars:,} characters of text.")
    text = clean_text(text)
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        if fmt == PDF:
            raise ParseError(
                "No text found in the PDF (a scanned image?); upload a PDF with selectable text."
            )
        raise ParseError("The file contains no readable text.")
    return text, fmt
