"""Bulk import of jobs, candidates with resumes, and interactions into one organization.

Formats
-------
JSON Lines (one object per line) or CSV with a header row. Column / key names:

* jobs: ``external_id, title (required), description, required_skills, nice_to_have_skills, location,
  remote, seniority, employment_type, salary_min, salary_max, salary_currency, status``
* resumes: candidate columns ``candidate_external_id, full_name, email, location``; resume columns
  ``external_id`` (alias ``resume_external_id``), ``headline, summary, skills, experience, education,
  full_text``
* interactions: ``external_id, job_external_id (required), resume_external_id and/or
  candidate_external_id (one required), kind (required), created_at`` (ISO 8601; a naive time is UTC)

In CSV, list fields (``required_skills``, ``nice_to_have_skills``, ``skills``) are split on ``|`` or
``;``. ``experience`` / ``education`` cells hold either a JSON array of objects or plain entries
separated by ``|`` ("Data Engineer, Acme, 2019-2021 | Analyst at Initech (2016-2019)"), parsed with
the resume parser. An empty cell means "not given". JSONL takes lists as lists (a string is split
like a CSV cell). Unknown keys reject the row (JSONL) or the file (CSV header).

Idempotency (re-importing a file creates nothing new)
-----------------------------------------------------
* jobs: by ``external_id`` within the organization (a changed row updates the job: ``updated``);
  without one, by ``Job.content_hash`` within the organization (same title, description, skills,
  location, seniority: ``unchanged``).
* resumes: the candidate by ``candidate_external_id``, else by ``email`` (case-insensitive), else by
  ``full_name`` together with an identical resume; a new candidate is created otherwise. The resume by
  ``external_id`` within that candidate (changed content: ``updated``), else by the candidate plus
  ``Resume.content_hash``.
* interactions: append-only, never updated. By ``external_id`` within the job, else by the natural
  key (job, resume, kind, created_at); so ``created_at`` is required when ``external_id`` is empty.
  Jobs and resumes are referenced by their external ids in the organization.

Batches
-------
Rows are processed in batches (default 500), each all-or-nothing: a batch commits only if every row
of it is valid. A row that fails validation is reported with its line number, field and reason, and
the batch's other rows are reported as rolled back with it; batches before and after it stand, so a
corrected file re-imported later fills in exactly what is missing. A database error inside a batch
rolls the batch back the same way. With ``partial_batches=True`` (``--partial-batches``, API field
``partial_batches``) only the failing rows are dropped and the valid rows of the batch commit
together; each row then runs in a savepoint, so a rejected row leaves nothing behind.
A file that cannot be read as the format at all (not text, no CSV header, unknown columns, first
record not JSON) raises ``ImportFileError`` before anything is written.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import IO, Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from recruiting import parsing, services
from recruiting.models import Candidate, Interaction, Job, Organization, Resume

logger = logging.getLogger(__name__)

KINDS = ("jobs", "resumes", "interactions")
FORMATS = ("jsonl", "csv")
DEFAULT_BATCH_SIZE = 500
# The report lists at most this many rejected rows (the count is always exact).
MAX_REPORTED_REJECTIONS = 1000

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

JOB_COLUMNS = frozenset(services.JOB_FIELDS)
CANDIDATE_COLUMNS = frozenset({"candidate_external_id", "full_name", "email", "location"})
RESUME_COLUMNS = frozenset(
    {
        "external_id",
        "resume_external_id",
        "headline",
        "summary",
        "skills",
        "experience",
        "education",
        "full_text",
    }
)
INTERACTION_COLUMNS = frozenset(
    {"external_id", "job_external_id", "resume_external_id", "candidate_external_id", "kind", "created_at"}
)
COLUMNS = {
    "jobs": JOB_COLUMNS,
    "resumes": CANDIDATE_COLUMNS | RESUME_COLUMNS,
    "interactions": INTERACTION_COLUMNS,
}
# CSV headers must contain these (JSONL rows are checked one by one).
REQUIRED_COLUMNS = {"jobs": {"title"}, "resumes": set(), "interactions": {"job_external_id", "kind"}}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (nothing was written)."""


class RowError(Exception):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


@dataclass
class ImportReport:
    kind: str
    format: str
    total: int = 0  # records read (blank lines are not records)
    accepted: int = 0  # created + updated + unchanged
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # already there: duplicates of earlier imports or of earlier rows
    rejected_count: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # [{line, field, reason}], capped
    batches: int = 0
    batches_rolled_back: int = 0

    def reject(self, line: int, field_name: str, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED_REJECTIONS:
            self.rejected.append({"line": line, "field": field_name, "reason": reason})

    @property
    def rejected_truncated(self) -> bool:
        return self.rejected_count > len(self.rejected)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "format": self.format,
            "total": self.total,
            "accepted": self.accepted,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected_count": self.rejected_count,
            "rejected": list(self.rejected),
            "rejected_truncated": self.rejected_truncated,
            "batches": self.batches,
            "batches_rolled_back": self.batches_rolled_back,
        }

    def summary(self) -> str:
        return (
            f"{self.kind}: {self.total} rows, {self.accepted} accepted "
            f"({self.created} created, {self.updated} updated, {self.unchanged} unchanged), "
            f"{self.rejected_count} rejected"
            + (f", {self.batches_rolled_back} batch(es) rolled back" if self.batches_rolled_back else "")
        )


# ---------------------------------------------------------------------------------------------
# Reading records


def guess_format(filename: str, head: bytes) -> str:
    ext = PurePath(filename or "").suffix.lower()
    if ext in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if ext in (".csv", ".tsv"):
        return "csv"
    return "jsonl" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


def _check_text(head: bytes) -> None:
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


def _jsonl_records(binary: IO[bytes]) -> Iterator[tuple[int, dict | RowError]]:
    seen_record = False
    for line_no, line in enumerate(_decoded_lines(binary), start=1):
        if not line.strip():
            continue
        if "\ufffd" in line:
            yield line_no, RowError("", "The line is not valid UTF-8.")
            continue
        try:
            value = json.loads(line)
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


def _csv_records(binary: IO[bytes], kind: str, delimiter: str = ",") -> Iterator[tuple[int, dict | RowError]]:
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


# ---------------------------------------------------------------------------------------------
# Coercion of one record


def _split_list(value: Any, field_name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise RowError(field_name, "Expected a list of strings.")
        items = value
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list):
                return _split_list(parsed, field_name)
        items = text.replace(";", "|").split("|")
    else:
        raise RowError(field_name, "Expected a list of strings or a '|'-separated string.")
    out, seen = [], set()
    for item in items:
        item = item.strip()
        if item and item.lower() not in seen:
            seen.add(item.lower())
            out.append(item)
    return out


def _entries(value: Any, field_name: str) -> list[dict]:
    if value is None:
        return []
    if isinstance(value, list):
        return value  # shape checked by the model validators
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise RowError(field_name, f"Invalid JSON: {exc.msg}.") from exc
            if not isinstance(parsed, list):
                raise RowError(field_name, "Expected a JSON array of objects.")
            return parsed
        parts = [p.strip() for p in text.split("|") if p.strip()]
        entries: list[dict] = []
        for part in parts:
            if field_name == "experience":
                entries.extend(parsing.parse_experience([part]))
            else:
                entries.extend(parsing.parse_education([part]))
        return entries
    raise RowError(field_name, "Expected a list of objects or a '|'-separated string.")


def _bool(value: Any, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "y", "t"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "n", "f", ""}:
        return False
    raise RowError(field_name, f"Expected true or false, got {value!r}.")


def _int(value: Any, field_name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RowError(field_name, "Expected a whole number.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = None
            if number is not None and number.is_integer():
                return int(number)
    raise RowError(field_name, f"Expected a whole number, got {value!r}.")


def _str(value: Any, field_name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise RowError(field_name, "Expected a string.")


def _check_keys(record: dict, kind: str) -> None:
    unknown = sorted(set(record) - COLUMNS[kind])
    if unknown:
        raise RowError(unknown[0], f"Unknown field for {kind}. Known: {', '.join(sorted(COLUMNS[kind]))}.")


def _job_data(record: dict) -> dict[str, Any]:
    _check_keys(record, "jobs")
    data: dict[str, Any] = {}
    for name, value in record.items():
        if value is None:
            continue
        if name in ("required_skills", "nice_to_have_skills"):
            data[name] = _split_list(value, name)
        elif name == "remote":
            data[name] = _bool(value, name)
        elif name in ("salary_min", "salary_max"):
            data[name] = _int(value, name)
        else:
            data[name] = _str(value, name)
            if name in ("seniority", "employment_type", "status", "salary_currency"):
                data[name] = data[name].lower() if name != "salary_currency" else data[name].upper()
    if not data.get("title"):
        raise RowError("title", "This field is required.")
    return data


def _resume_record(record: dict) -> tuple[dict[str, str], dict[str, Any]]:
    _check_keys(record, "resumes")
    candidate: dict[str, str] = {}
    resume: dict[str, Any] = {}
    for name, value in record.items():
        if value is None:
            continue
        if name == "candidate_external_id":
            candidate["external_id"] = _str(value, name)
        elif name in ("full_name", "email", "location"):
            candidate[name] = _str(value, name)
        elif name == "resume_external_id":
            if record.get("external_id") not in (None, "", value):
                raise RowError(name, "Conflicts with external_id.")
            resume["external_id"] = _str(value, name)
        elif name == "skills":
            resume[name] = _split_list(value, name)
        elif name in ("experience", "education"):
            resume[name] = _entries(value, name)
        else:
            resume[name] = _str(value, name)
    candidate = {k: v for k, v in candidate.items() if v}
    resume = {k: v for k, v in resume.items() if v not in ("", None)}
    if not any(
        resume.get(k) for k in ("headline", "summary", "skills", "experience", "education", "full_text")
    ):
        raise RowError(
            "",
            "The resume is empty: give at least one of headline, summary, skills, experience, "
            "education, full_text.",
        )
    if "email" in candidate:
        candidate["email"] = candidate["email"].lower()
    return candidate, resume


def _parse_time(value: Any, field_name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str):
        raise RowError(field_name, "Expected an ISO 8601 date-time.")
    text = value.strip()
    try:
        moment = parse_datetime(text.replace(" ", "T", 1) if len(text) > 10 else text)
        if moment is None:
            day = parse_date(text)
            moment = datetime(day.year, day.month, day.day) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise RowError(
            field_name, f"Expected an ISO 8601 date-time (e.g. 2024-05-01T09:30:00Z), got {value!r}."
        )
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment


# ---------------------------------------------------------------------------------------------
# Applying one record


def _changed(instance, data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if getattr(instance, k) != v}


class _Importer:
    def __init__(self, organization: Organization, kind: str, actor: AbstractBaseUser | None):
        self.org = organization
        self.kind = kind
        self.actor = actor
        self._jobs: dict[str, Job] = {}
        self._resumes: dict[tuple[str, str], Resume] = {}

    def apply(self, record: dict) -> str:
        return getattr(self, f"_apply_{self.kind}")(record)

    # jobs
    def _apply_jobs(self, record: dict) -> str:
        data = _job_data(record)
        external_id = data.get("external_id", "")
        if external_id:
            job = Job.objects.filter(organization=self.org, external_id=external_id).first()
            if job is not None:
                changes = _changed(job, data)
                if not changes:
                    return UNCHANGED
                services.job_update(job=job, data=changes)
                return UPDATED
        else:
            probe = Job(organization=self.org, **data)
            if Job.objects.filter(organization=self.org, content_hash=probe.compute_content_hash()).exists():
                return UNCHANGED
        services.job_create(organization=self.org, data=data)
        return CREATED

    # candidates + resumes
    def _apply_resumes(self, record: dict) -> str:
        candidate_data, resume_data = _resume_record(record)
        probe = Resume(**resume_data)
        if not probe.full_text:
            probe.full_text = services.resume_compose_text(probe)
        digest = probe.compute_content_hash()

        candidate = self._find_candidate(candidate_data, digest)
        candidate_changed = False
        if candidate is None:
            candidate = services.candidate_create(organization=self.org, data=candidate_data)
            outcome_if_same = CREATED
        else:
            changes = _changed(candidate, candidate_data)
            if changes:
                services.candidate_update(candidate=candidate, data=changes)
                candidate_changed = True
            outcome_if_same = UPDATED if candidate_changed else UNCHANGED

        external_id = resume_data.get("external_id", "")
        if external_id:
            resume = Resume.objects.filter(candidate=candidate, external_id=external_id).first()
            if resume is not None:
                changes = _changed(resume, resume_data)
                if not changes:
                    return outcome_if_same
                services.resume_update(resume=resume, data=changes)
                return UPDATED
        elif Resume.objects.filter(candidate=candidate, content_hash=digest).exists():
            return outcome_if_same
        services.resume_create(candidate=candidate, data=resume_data)
        return CREATED

    def _find_candidate(self, data: dict[str, str], digest: str) -> Candidate | None:
        pool = Candidate.objects.filter(organization=self.org)
        if data.get("external_id"):
            return pool.filter(external_id=data["external_id"]).first()
        if data.get("email"):
            return pool.filter(email__iexact=data["email"]).order_by("pk").first()
        same = Resume.objects.filter(
            candidate__organization=self.org,
            candidate__full_name=data.get("full_name", ""),
            candidate__external_id="",
            content_hash=digest,
        ).select_related("candidate")
        match = same.order_by("pk").first()
        return match.candidate if match else None

    # interactions
    def _apply_interactions(self, record: dict) -> str:
        _check_keys(record, "interactions")
        kind = _str(record.get("kind"), "kind").lower()
        if not kind:
            raise RowError("kind", "This field is required.")
        if kind not in Interaction.Kind.values:
            raise RowError("kind", f"Unknown kind {kind!r}. Known: {', '.join(Interaction.Kind.values)}.")
        external_id = _str(record.get("external_id"), "external_id")
        created_at = _parse_time(record.get("created_at"), "created_at")
        if created_at is None and not external_id:
            raise RowError(
                "created_at", "Required when external_id is empty (it identifies the event on re-import)."
            )
        job = self._job(_str(record.get("job_external_id"), "job_external_id"))
        resume = self._resume(
            _str(record.get("resume_external_id"), "resume_external_id"),
            _str(record.get("candidate_external_id"), "candidate_external_id"),
        )
        if external_id:
            existing = Interaction.objects.filter(job=job, external_id=external_id).first()
            if existing is not None:
                if existing.resume_id != resume.pk or existing.kind != kind:
                    raise RowError("external_id", "Already used for a different event on this job.")
                return UNCHANGED
        elif Interaction.objects.filter(job=job, resume=resume, kind=kind, created_at=created_at).exists():
            return UNCHANGED
        services.interaction_record(
            job=job,
            resume=resume,
            kind=kind,
            actor=self.actor,
            created_at=created_at,
            external_id=external_id,
        )
        return CREATED

    def _job(self, external_id: str) -> Job:
        if not external_id:
            raise RowError("job_external_id", "This field is required.")
        job = self._jobs.get(external_id)
        if job is None:
            job = Job.objects.filter(organization=self.org, external_id=external_id).first()
            if job is None:
                raise RowError(
                    "job_external_id", f"No job with external_id {external_id!r} in this organization."
                )
            self._jobs[external_id] = job
        return job

    def _resume(self, external_id: str, candidate_external_id: str) -> Resume:
        key = (external_id, candidate_external_id)
        if key in self._resumes:
            return self._resumes[key]
        pool = Resume.objects.filter(candidate__organization=self.org)
        if candidate_external_id:
            pool = pool.filter(candidate__external_id=candidate_external_id)
        if external_id:
            matches = list(pool.filter(external_id=external_id)[:2])
            if not matches:
                raise RowError(
                    "resume_external_id", f"No resume with external_id {external_id!r} in this organization."
                )
            if len(matches) > 1:
                raise RowError(
                    "resume_external_id",
                    f"Several candidates have a resume {external_id!r}; add candidate_external_id.",
                )
            resume = matches[0]
        elif candidate_external_id:
            resume = pool.order_by("-created_at", "-pk").first()
            if resume is None:
                raise RowError(
                    "candidate_external_id",
                    f"No candidate {candidate_external_id!r} with a resume in this organization.",
                )
        else:
            raise RowError("resume_external_id", "Give resume_external_id or candidate_external_id.")
        self._resumes[key] = resume
        return resume


# ---------------------------------------------------------------------------------------------
# Driver


def _batches(records: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
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
) -> ImportReport:
    """Import one binary file object (seekable) into `organization`. See the module docstring.

    `progress(n)` is called after each batch with the number of rows it held (a tqdm's `update`).
    Raises ImportFileError for a file that cannot be read at all, ValueError for a bad kind/format.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}; expected one of {', '.join(KINDS)}.")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1.")
    head = file.read(65536)
    file.seek(0)
    _check_text(head)
    fmt = (format or guess_format(filename, head)).lower()
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    binary = file if isinstance(file, io.BufferedIOBase | io.RawIOBase) else _LineReader(file)
    if fmt == "csv":
        delimiter = "\t" if PurePath(filename or "").suffix.lower() == ".tsv" else ","
        records = _csv_records(binary, kind, delimiter)
    else:
        records = _jsonl_records(binary)

    report = ImportReport(kind=kind, format=fmt)
    importer = _Importer(organization, kind, actor)
    for batch in _batches(records, batch_size):
        report.batches += 1
        report.total += len(batch)
        _run_batch(importer, batch, report, partial=partial_batches)
        if progress is not None:
            progress(len(batch))
    return report


class _BatchRejected(Exception):
    """Raised inside a batch's transaction to roll it back when a row failed (all-or-nothing mode)."""


def _run_batch(
    importer: _Importer, batch: list[tuple[int, Any]], report: ImportReport, *, partial: bool = False
) -> None:
    outcomes: list[str] = []
    rejected: list[tuple[int, str, str]] = []
    try:
        with transaction.atomic():
            for line, record in batch:
                if isinstance(record, RowError):
                    rejected.append((line, record.field, record.reason))
                    continue
                try:
                    with transaction.atomic():  # a rejected row leaves nothing behind
                        outcomes.append(importer.apply(record))
                except RowError as exc:
                    rejected.append((line, exc.field, exc.reason))
                except ValidationError as exc:
                    rejected.extend((line, name, reason) for name, reason in _error_reason(exc))
            if rejected and not partial:
                raise _BatchRejected
    except _BatchRejected:
        report.batches_rolled_back += 1
        importer._jobs.clear()
        importer._resumes.clear()
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
        return
    except DatabaseError as exc:
        logger.warning("import batch rolled back (%s rows): %s", len(batch), exc)
        report.batches_rolled_back += 1
        importer._jobs.clear()
        importer._resumes.clear()
        first, last = batch[0][0], batch[-1][0]
        reason = (
            f"Database error; the batch of lines {first}-{last} was rolled back: {str(exc).strip()[:300]}"
        )
        for line, _record in batch:
            report.reject(line, "", reason)
        return
    for outcome in outcomes:
        setattr(report, outcome, getattr(report, outcome) + 1)
    report.accepted += len(outcomes)
    for line, field_name, reason in rejected:
        report.reject(line, field_name, reason)


class _LineReader:
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
