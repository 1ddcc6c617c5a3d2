"""Structure limits checked while a file is read, before a reader builds it in memory.

A DOCX is a zip: its declared sizes are checked (Python's zipfile never inflates an entry past its declared
size, so the check holds against a lying header), then `word/document.xml` is streamed once to count its
paragraphs, before python-docx parses it. A PDF's page count is checked before any page is extracted, and
the extracted text stops growing at the text limit. What still gets past these (a compressed-stream bomb
inside one page) is stopped by the sandbox's CPU and memory limits (`recruiting.parsing.sandbox`).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from recruiting.parsing.formats import ParseError


class LimitExceeded(ParseError):
    """The file is over a size or structure limit; the message names the limit (a 413 to the uploader)."""


@dataclass(frozen=True)
class ParseLimits:
    max_uncompressed_bytes: int = 20 * 1024 * 1024  # a DOCX's entries, all inflated
    max_zip_entries: int = 2000
    max_paragraphs: int = 20_000
    max_pages: int = 50
    max_text_chars: int = 400_000


DEFAULT_LIMITS = ParseLimits()


def check_docx(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > limits.max_zip_entries:
                raise LimitExceeded(f"The Word document has over {limits.max_zip_entries} parts.")
            inflated = sum(entry.file_size for entry in entries)
            if inflated > limits.max_uncompressed_bytes:
                mb = limits.max_uncompressed_bytes // (1024 * 1024)
                raise LimitExceeded(f"The Word document inflates to over {mb} MB.")
            with archive.open("word/document.xml") as xml:
                paragraphs = _count_paragraphs(xml, limits.max_paragraphs)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise ParseError("The Word document is damaged and cannot be read.") from exc
    if paragraphs > limits.max_paragraphs:
        raise LimitExceeded(f"The Word document has over {limits.max_paragraphs} paragraphs.")


def _count_paragraphs(stream, limit: int) -> int:
    """`<w:p>`, `<w:p ...>` and `<w:p/>` in the XML, read in chunks (a tag cut between chunks is still counted)."""
    count, tail = 0, b""
    while chunk := stream.read(1 << 20):
        window = tail + chunk
        count += window.count(b"<w:p>") + window.count(b"<w:p ") + window.count(b"<w:p/>")
        tail = window[-5:]  # shorter than a tag: never counted twice, and a tag cut in two is seen whole
        if count > limit:
            break
    return count


def check_pdf_pages(page_count: int, limits: ParseLimits = DEFAULT_LIMITS) -> None:
    if page_count > limits.max_pages:
        raise LimitExceeded(f"The PDF has {page_count} pages; the limit is {limits.max_pages}.")
