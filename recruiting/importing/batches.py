"""An import run: records read, applied in batches (all-or-nothing unless partial), and reported."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import IO, Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from recruiting.importing.appliers import RowApplier
from recruiting.importing.columns import DEFAULT_BATCH_SIZE, FORMATS, KINDS
from recruiting.importing.errors import RowError
from recruiting.importing.readers import check_text, guess_format, open_records
from recruiting.importing.report import ImportReport
from recruiting.models import Organization

logger = logging.getLogger(__name__)


def in_batches(records: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    """Consecutive lists of at most `size` records."""
    batch: list[tuple[int, Any]] = []
    for item in records:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _error_reason(exc: ValidationError) -> list[tuple[str, str]]:
    if hasattr(exc, "error_dict"):
        return [
            (name if name != "__all__" else "", " ".join(str(m) for m in messages))
            for name, messages in exc.message_dict.items()
        ]
    return [("", " ".join(exc.messages))]


def check_file(file: IO[bytes], *, kind: str, format: str | None = None, filename: str = "") -> str:
    """The file's format after a cheap look at its start: UTF-8 text, a CSV header naming known and required
    columns, or a first JSON Lines record that is an object. ImportFileError (nothing read past the first
    record), ValueError for a bad kind/format. The file is left at its start."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}; expected one of {', '.join(KINDS)}.")
    head = file.read(65536)
    file.seek(0)
    check_text(head)
    fmt = (format or guess_format(filename, head)).lower()
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    try:
        next(iter(open_records(file, fmt=fmt, filename=filename, kind=kind)), None)
    finally:
        file.seek(0)
    return fmt


Checkpoint = Callable[[ImportReport, int], Any]


def import_file(
    *,
    organization: Organization,
    kind: str,
    file: IO[bytes],
    format: str | None = None,
    filename: str = "",
    batch_size: int = DEFAULT_BATCH_SIZE,
    actor: AbstractBaseUser | None = None,
    progress: Callable[[int], Any] | None = None,
    partial_batches: bool = False,
    report: ImportReport | None = None,
    start_after_line: int = 0,
    checkpoint: Checkpoint | None = None,
) -> ImportReport:
    """Import one binary file object (seekable) into `organization`. See `recruiting.importing`.

    `progress(n)` is called after each batch with the number of rows it held (a tqdm's `update`).
    Resuming: `report` holds the counts so far and records up to `start_after_line` are skipped.
    `checkpoint(report, last line)` runs inside a committed batch's transaction (after a rolled-back one, on
    its own), so what it records commits exactly with the batch's rows.
    Raises ImportFileError for a file that cannot be read at all, ValueError for a bad kind/format.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1.")
    fmt = check_file(file, kind=kind, format=format, filename=filename)
    records = open_records(file, fmt=fmt, filename=filename, kind=kind)
    if start_after_line:
        records = ((line, record) for line, record in records if line > start_after_line)

    report = report or ImportReport(kind=kind, format=fmt)
    applier = RowApplier(organization, kind, actor)
    for batch in in_batches(records, batch_size):
        run_batch(applier, batch, report, partial=partial_batches, checkpoint=checkpoint)
        if progress is not None:
            progress(len(batch))
    return report


Rejection = tuple[int, str, str]  # (line, field, reason)


class _BatchRejected(Exception):
    """Raised inside a batch's transaction to roll it back when a row failed (all-or-nothing mode)."""

    def __init__(self, rejected: list[Rejection]):
        super().__init__(f"{len(rejected)} row(s) rejected")
        self.rejected = rejected


def run_batch(
    applier: RowApplier,
    batch: list[tuple[int, Any]],
    report: ImportReport,
    *,
    partial: bool = False,
    checkpoint: Checkpoint | None = None,
) -> None:
    """Apply one batch in one transaction and count it in `report`; a failed batch leaves nothing."""
    before = replace(report, rejected=list(report.rejected))
    last_line = batch[-1][0]
    try:
        with transaction.atomic():
            notices = applier.start_batch(batch)
            outcomes, rejected = _apply_rows(applier, batch)
            if rejected and not partial:
                raise _BatchRejected(rejected)
            _count_committed(report, batch, outcomes, rejected)
            if checkpoint is not None:
                checkpoint(report, last_line)
            notices.send_on_commit()  # one bulk signal for the batch, once it commits
    except _BatchRejected as exc:
        applier.forget_lookups()
        _count_read(report, batch)
        _report_rolled_back(report, batch, exc.rejected)
    except DatabaseError as exc:
        logger.warning("import batch rolled back (%s rows): %s", len(batch), exc)
        applier.forget_lookups()
        _restore(report, before)
        _count_read(report, batch)
        _report_database_error(report, batch, exc)
    else:
        return
    if checkpoint is not None:
        checkpoint(report, last_line)


def _count_read(report: ImportReport, batch: list[tuple[int, Any]]) -> None:
    report.batches += 1
    report.total += len(batch)


def _count_committed(
    report: ImportReport, batch: list[tuple[int, Any]], outcomes: list[str], rejected: list[Rejection]
) -> None:
    _count_read(report, batch)
    for outcome in outcomes:
        setattr(report, outcome, getattr(report, outcome) + 1)
    report.accepted += len(outcomes)
    for line, field_name, reason in rejected:
        report.reject(line, field_name, reason)


def _restore(report: ImportReport, before: ImportReport) -> None:
    """Undo the counts of a batch whose transaction did not commit."""
    for name in before.__dataclass_fields__:
        setattr(report, name, getattr(before, name))


def _apply_rows(applier: RowApplier, batch: list[tuple[int, Any]]) -> tuple[list[str], list[Rejection]]:
    """(outcome of each applied row, the rejected rows); each row in a savepoint, so a rejected one leaves nothing."""
    outcomes: list[str] = []
    rejected: list[Rejection] = []
    for line, record in batch:
        if isinstance(record, RowError):
            rejected.append((line, record.field, record.reason))
            continue
        try:
            with transaction.atomic():
                outcomes.append(applier.apply(record))
        except RowError as exc:
            rejected.append((line, exc.field, exc.reason))
        except ValidationError as exc:
            rejected.extend((line, name, reason) for name, reason in _error_reason(exc))
    return outcomes, rejected


def _report_rolled_back(
    report: ImportReport, batch: list[tuple[int, Any]], rejected: list[Rejection]
) -> None:
    """The failed rows with their reasons, and the batch's valid rows as rolled back with them."""
    report.batches_rolled_back += 1
    failed = {line for line, _field, _reason in rejected}
    first, last = batch[0][0], batch[-1][0]
    for line, field_name, reason in rejected:
        report.reject(line, field_name, reason)
    for line, _record in batch:
        if line not in failed:
            report.reject(
                line,
                "",
                f"Valid, but the batch of lines {first}-{last} was rolled back: "
                f"{len(failed)} row(s) in it failed (see their lines).",
            )


def _report_database_error(report: ImportReport, batch: list[tuple[int, Any]], exc: DatabaseError) -> None:
    report.batches_rolled_back += 1
    first, last = batch[0][0], batch[-1][0]
    reason = f"Database error; the batch of lines {first}-{last} was rolled back: {str(exc).strip()[:300]}"
    for line, _record in batch:
        report.reject(line, "", reason)
