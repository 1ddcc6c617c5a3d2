"""Records from a JSON Lines or CSV file: (line number, dict) pairs, or a RowError for an unreadable row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import PurePath
from typing import IO

from recruiting.importing.columns import COLUMNS, REQUIRED_COLUMNS
from recruiting.importing.errors import ImportFileError, RowError


def open_records(
    file: IO[bytes], *, fmt: str, filename: str, kind: str
) -> Iterator[tuple[int, dict | RowError]]:
    """The records of `file` read as `fmt` (a .tsv file is tab-separated)."""
    binary = file if isinstance(file, io.BufferedIOBase | io.RawIOBase) else LineReader(file)
    if fmt == "csv":
        delimiter = "\t" if PurePath(filename or "").suffix.lower() == ".tsv" else ","
        return csv_records(binary, kind, delimiter)
    return jsonl_records(binary)


def guess_format(filename: str, head: bytes) -> str:
    """jsonl or csv, from the file name's extension, else from whether the content starts with '{'."""
    ext = PurePath(filename or "").suffix.lower()
    if ext in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if ext in (".csv", ".tsv"):
        return "csv"
    return "jsonl" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


def check_text(head: bytes) -> None:
    """ImportFileError unless the file's first bytes are UTF-8 text."""
    if not head.strip():
        raise ImportFileError("The file is empty.")
    if b"\x00" in head:
        raise ImportFileError("The file is binary, not UTF-8 text (JSON Lines or CSV).")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut off at the sample's end
            raise ImportFileError(f"The file is not UTF-8 text (bad byte at offset {exc.start}).") from exc


def _decoded_lines(binary: IO[bytes]) -> Iterator[str]:
    first = True
    for raw in binary:
        line = raw.decode("utf-8", errors="replace")
        if first:
            line = line.lstrip("\ufeff")
            first = False
        yield line


def jsonl_records(binary: IO[bytes]) -> Iterator[tuple[int, dict | RowError]]:
    """One record per non-blank line; ImportFileError when the first record is not a JSON object."""
    seen_record = False
    for line_no, line in enumerate(_decoded_lines(binary), start=1):
        if not line.strip():
            continue
        if "\ufffd" in line:
            yield line_no, RowError("", "The line is not valid UTF-8.")
            continue
        try:
            value = json.loads(line)
        except RecursionError:  # nesting deeper than the parser's stack: a bad row, never a crashed run
            if not seen_record:
                raise ImportFileError(f"Line {line_no} is nested too deeply; expected JSON Lines.") from None
            yield line_no, RowError("", "The JSON is nested too deeply.")
            continue
        except json.JSONDecodeError as exc:
            if not seen_record:
                raise ImportFileError(
                    f"Line {line_no} is not JSON ({exc.msg}); expected JSON Lines."
                ) from exc
            yield line_no, RowError("", f"Invalid JSON: {exc.msg} at column {exc.colno}.")
            continue
        if not isinstance(value, dict):
            if not seen_record:
                raise ImportFileError(f"Line {line_no} is not a JSON object; expected one object per line.")
            yield line_no, RowError("", "Expected a JSON object.")
            continue
        seen_record = True
        yield line_no, value


def _normalise_column(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().lower().replace(" ", "_").replace("-", "_")


def csv_records(binary: IO[bytes], kind: str, delimiter: str = ",") -> Iterator[tuple[int, dict | RowError]]:
    """One record per row keyed by the normalised header; ImportFileError for a bad header."""
    reader = csv.reader(_decoded_lines(binary), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("The CSV file is empty.") from None
    except csv.Error as exc:
        raise ImportFileError(f"The CSV header cannot be read: {exc}.") from exc
    columns = [_normalise_column(c) for c in header]
    if not any(columns):
        raise ImportFileError("The CSV file has no header row.")
    unknown = sorted({c for c in columns if c} - COLUMNS[kind])
    if unknown:
        raise ImportFileError(
            f"Unknown CSV columns for {kind}: {', '.join(unknown)}. Known: {', '.join(sorted(COLUMNS[kind]))}."
        )
    missing = sorted(REQUIRED_COLUMNS[kind] - set(columns))
    if missing:
        raise ImportFileError(f"Missing CSV columns for {kind}: {', '.join(missing)}.")
    if len(set(columns)) != len(columns):
        raise ImportFileError("The CSV header names a column twice.")
    previous_end = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line_no = previous_end + 1
            previous_end = reader.line_num
            yield line_no, RowError("", f"Malformed CSV row: {exc}.")
            continue
        line_no, previous_end = previous_end + 1, reader.line_num
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            yield (
                line_no,
                RowError("", f"The row has {len(row)} values; the header has {len(columns)} columns."),
            )
            continue
        if any("\ufffd" in cell for cell in row):
            yield line_no, RowError("", "The row is not valid UTF-8.")
            continue
        # empty cells mean "not given"
        yield line_no, {c: v.strip() for c, v in zip(columns, row, strict=True) if c and v.strip() != ""}


class LineReader:
    """Iterates the lines of a binary file object that has `read` but is not an io.BufferedIOBase
    (Django's UploadedFile, for instance)."""

    def __init__(self, file: IO[bytes]):
        self.file = file

    def __iter__(self) -> Iterator[bytes]:
        buffer = b""
        while True:
            chunk = self.file.read(1 << 16)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                yield line + b"\n"
        if buffer:
            yield buffer
