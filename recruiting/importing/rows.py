"""A job or resume row validated into the data the recruiting services take."""

from __future__ import annotations

from typing import Any

from recruiting.importing.columns import CANDIDATE_PROFILE_FIELDS
from recruiting.importing.errors import RowError
from recruiting.importing.values import as_bool, as_int, as_str, check_keys, entry_list, split_list


def job_data(record: dict) -> dict[str, Any]:
    """The job fields of a row, coerced; choice fields lower-cased, the currency upper-cased."""
    check_keys(record, "jobs")
    data: dict[str, Any] = {}
    for name, value in record.items():
        if value is None:
            continue
        if name in ("required_skills", "nice_to_have_skills"):
            data[name] = split_list(value, name)
        elif name == "remote":
            data[name] = as_bool(value, name)
        elif name in ("salary_min", "salary_max"):
            data[name] = as_int(value, name)
        else:
            data[name] = as_str(value, name)
            if name in ("seniority", "employment_type", "status", "salary_currency"):
                data[name] = data[name].lower() if name != "salary_currency" else data[name].upper()
    if not data.get("title"):
        raise RowError("title", "This field is required.")
    return data


def resume_row(record: dict) -> tuple[dict[str, str], dict[str, Any]]:
    """(candidate fields, resume fields) of a row; empty values dropped, the email lower-cased."""
    check_keys(record, "resumes")
    candidate: dict[str, str] = {}
    resume: dict[str, Any] = {}
    for name, value in record.items():
        if value is None:
            continue
        if name == "candidate_external_id":
            candidate["external_id"] = as_str(value, name)
        elif name in CANDIDATE_PROFILE_FIELDS:
            candidate[name] = as_str(value, name)
        elif name == "resume_external_id":
            if record.get("external_id") not in (None, "", value):
                raise RowError(name, "Conflicts with external_id.")
            resume["external_id"] = as_str(value, name)
        elif name == "skills":
            resume[name] = split_list(value, name)
        elif name in ("experience", "education"):
            resume[name] = entry_list(value, name)
        else:
            resume[name] = as_str(value, name)
    candidate = {k: v for k, v in candidate.items() if v}
    resume = {k: v for k, v in resume.items() if v not in ("", None)}
    # A resume without any text is valid (a candidate known only by their interactions); a row that
    # names neither a candidate nor a resume nor any content is not.
    if not candidate and not resume:
        raise RowError("", "The row is empty: give a candidate, a resume external_id or resume content.")
    if "email" in candidate:
        candidate["email"] = candidate["email"].lower()
    return candidate, resume
