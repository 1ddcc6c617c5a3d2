"""Plain text files decoded, and any extracted text normalised (line ends, control characters, blank runs)."""

from __future__ import annotations

import re

from recruiting.parsing.formats import SUPPORTED_DESCRIPTION, ParseError, UnsupportedFileType


def plain_text(data: bytes) -> str:
    """UTF-16 with a BOM, else UTF-8, else latin-1; UnsupportedFileType for binary data."""
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


def clean_text(text: str) -> str:
    """Unix line ends, no control characters or trailing blanks, at most one empty line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = _CONTROL_RE.sub("", text)
    lines = [re.sub(r"[ \t]+$", "", line) for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
