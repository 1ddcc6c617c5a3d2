"""The text layer of a PDF (pypdf)."""

from __future__ import annotations

import io

from recruiting.parsing.formats import ParseError


def pdf_text(data: bytes) -> str:
    """The text of every page; ParseError for an encrypted or damaged PDF."""
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
