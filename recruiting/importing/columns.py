"""What may be imported: kinds, formats and the columns (keys) of each kind, derived from the models."""

from __future__ import annotations

from recruiting.models import CANDIDATE_FIELDS, JOB_FIELDS, RESUME_FIELDS

KINDS = ("jobs", "resumes", "interactions")
FORMATS = ("jsonl", "csv")
DEFAULT_BATCH_SIZE = 500

# A resume row carries its candidate: the candidate's own fields, and its external id under another name.
CANDIDATE_PROFILE_FIELDS = tuple(name for name in CANDIDATE_FIELDS if name != "external_id")
# The resume's own file name is set by uploads only; `resume_external_id` is an alias of `external_id`.
RESUME_IMPORT_FIELDS = tuple(name for name in RESUME_FIELDS if name != "source_file_name")

JOB_COLUMNS = frozenset(JOB_FIELDS)
CANDIDATE_COLUMNS = frozenset({"candidate_external_id", *CANDIDATE_PROFILE_FIELDS})
RESUME_COLUMNS = frozenset({*RESUME_IMPORT_FIELDS, "resume_external_id"})
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
