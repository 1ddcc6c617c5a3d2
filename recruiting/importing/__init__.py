"""Bulk import of jobs, candidates with resumes, and interactions into one organization.

Formats
-------
JSON Lines (one object per line) or CSV with a header row. Column / key names:

* jobs: ``external_id, title (required), employer, description, required_skills, nice_to_have_skills,
  location, remote, seniority, employment_type, salary_min, salary_max, salary_currency, status``
* resumes: candidate columns ``candidate_external_id, full_name, email, location``; resume columns
  ``external_id`` (alias ``resume_external_id``), ``headline, summary, skills, experience, education,
  full_text``. Every resume column may be empty (a candidate known only by their interactions has a
  resume without text); a row with no value at all is rejected.
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
  without one, by ``Job.content_hash`` within the organization (same ``JOB_CONTENT_FIELDS``: title,
  employer, description, skills, location, remote, seniority: ``unchanged``).
* resumes: the candidate by ``candidate_external_id``, else by ``email`` (case-insensitive), else, for a
  row with a resume ``external_id``, the candidate holding a resume with that id in the organization
  (a new one when none does), else by ``full_name`` together with an identical resume; a new candidate
  is created otherwise. The resume by ``external_id`` within that candidate (changed content:
  ``updated``), else by the candidate plus ``Resume.content_hash``.
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

Signals
-------
Rows are written without the per-object ``document_saved`` / ``interaction_recorded``: each committed
batch sends one ``recruiting.signals.documents_imported`` (jobs, resumes) or ``interactions_imported``
once it commits, naming what the batch wrote; a rolled-back batch sends nothing. Existing jobs are
looked up once per batch (by ``external_id``), not once per row.

Modules
-------
``columns`` (kinds, formats, columns), ``readers`` (file to records), ``values`` and ``rows`` (row
validation), ``appliers`` (the idempotent writes), ``notices`` (the batch's signal), ``batches`` (the
run), ``report`` and ``errors``.
"""

from recruiting.importing.batches import check_file, import_file
from recruiting.importing.columns import DEFAULT_BATCH_SIZE, FORMATS, KINDS
from recruiting.importing.errors import ImportFileError, RowError
from recruiting.importing.readers import guess_format
from recruiting.importing.report import ImportReport

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "FORMATS",
    "KINDS",
    "ImportFileError",
    "ImportReport",
    "RowError",
    "check_file",
    "guess_format",
    "import_file",
]
