"""Which kind of file a resume is (PDF, DOCX or plain text), and the errors an unreadable one raises."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath


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
