"""The text layer of a PDF (pypdf)."""

from __future__ import annotations

import io

from recruiting.parsing.formats import ParseError
from recruiting.parsing.limits import DEFAULT_LIMITS, LimitExceeded, ParseLimits, check_pdf_pages


def pdf_text(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> str:
    """The text of every page; ParseError for an encrypted or damaged PDF, LimitExceeded over the page or
    text limit (extraction stops at the text limit)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError("The PDF is password-protected.")
        check_pdf_pages(len(reader.pages), limits)
        pages, size = [], 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            size += len(pages[-1])
            if size > limits.max_text_chars:
                raise LimitExceeded(f"The PDF holds over {limits.max_text_chars:,} characters of text.")
    except ParseError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        raise ParseError("The PDF is damaged and cannot be read.") from exc
    except Exception as exc:  # pypdf raises a wide range of errors on hostile input
        raise ParseError("The PDF cannot be read.") from exc
    return "\n".join(pages)
