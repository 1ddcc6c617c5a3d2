"""Documents as the ml library sees them: rows -> plain records (JobDoc, ResumeDoc, InteractionEvent).

Two entry points per kind: one for a model instance (a single document, e.g. when embedding it after a
save) and one for `.values()` dicts (snapshots of the whole platform, where building model instances for
100k rows would cost more than the training itself). Both go through the same function, so a document
looks the same to the model at training and at serving time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ml.robust.detector import sanitize
from ml.types import InteractionEvent, JobDoc, ResumeDoc
from recruiting.models import Interaction, Job, Resume

# What the model reads of each document (`.values()` names; the recruiting app owns which fields exist).
JOB_VALUES = (
    "id",
    "title",
    "description",
    "required_skills",
    "nice_to_have_skills",
    "location",
    "remote",
    "employer",
    "organization__name",
)
RESUME_VALUES = ("id", "headline", "summary", "skills", "experience", "education", "candidate__location")


def _strings(items: Any) -> tuple[str, ...]:
    return tuple(str(s).strip() for s in (items or []) if str(s).strip())


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for s in items:
        seen.setdefault(s, None)
    return tuple(seen)


def experience_text(entry: Mapping[str, Any]) -> str:
    """'Developer — Acme — Berlin (2019 – 2023): built APIs' from one experience entry."""
    head = " — ".join(str(entry.get(k)).strip() for k in ("title", "company", "location") if entry.get(k))
    span = " – ".join(str(entry.get(k)) for k in ("start", "end") if entry.get(k))
    if span:
        head = f"{head} ({span})" if head else span
    desc = str(entry.get("description") or "").strip()
    return f"{head}: {desc}" if head and desc else head or desc


def education_text(entry: Mapping[str, Any]) -> str:
    return " — ".join(str(entry.get(k)).strip() for k in ("degree", "institution", "year") if entry.get(k))


def job_doc_from_values(row: Mapping[str, Any]) -> JobDoc:
    location = row.get("location") or ""
    if row.get("remote"):
        location = f"{location} (remote)" if location else "remote"
    return JobDoc(
        id=str(row["id"]),
        title=row.get("title") or "",
        description=row.get("description") or "",
        skills=_dedupe(_strings(row.get("required_skills")) + _strings(row.get("nice_to_have_skills"))),
        # The employer the job is for; the owning organization's name when none is given.
        company=row.get("employer") or row.get("organization__name") or "",
        location=location,
    )


def resume_doc_from_values(row: Mapping[str, Any]) -> ResumeDoc:
    experience = tuple(
        t for t in (experience_text(e) for e in row.get("experience") or [] if isinstance(e, dict)) if t
    )
    education = tuple(
        t for t in (education_text(e) for e in row.get("education") or [] if isinstance(e, dict)) if t
    )
    doc = ResumeDoc(
        id=str(row["id"]),
        headline=row.get("headline") or "",
        summary=row.get("summary") or "",
        skills=_dedupe(_strings(row.get("skills"))),
        experience=experience,
        education=education,
        location=row.get("candidate__location") or "",
    )
    # What the model reads is the resume without what the gamed-resume detector flags (hidden characters,
    # instructions, repeated text, job-ad sentences): a flagged part never reaches a vector or a score.
    return sanitize(doc)


def _values_of(obj: Job | Resume, names: Iterable[str]) -> dict[str, Any]:
    """`.values(*names)` for one instance: "candidate__location" follows the relation, as the ORM does."""
    out = {}
    for name in names:
        value: Any = obj
        for part in name.split("__"):
            value = getattr(value, "pk" if part == "id" else part)
        out[name] = value
    return out


def job_doc(job: Job) -> JobDoc:
    return job_doc_from_values(_values_of(job, JOB_VALUES))


def resume_doc(resume: Resume) -> ResumeDoc:
    return resume_doc_from_values(_values_of(resume, RESUME_VALUES))


def interaction_event(interaction: Interaction) -> InteractionEvent:
    return InteractionEvent(
        job_id=str(interaction.job_id),
        resume_id=str(interaction.resume_id),
        kind=interaction.kind,
        timestamp=interaction.created_at.timestamp(),
    )


def iter_job_docs(queryset=None, *, chunk_size: int = 5000) -> Iterator[JobDoc]:
    qs = Job.objects.all() if queryset is None else queryset
    for row in qs.order_by("id").values(*JOB_VALUES).iterator(chunk_size=chunk_size):
        yield job_doc_from_values(row)


def iter_resume_docs(queryset=None, *, chunk_size: int = 5000) -> Iterator[ResumeDoc]:
    qs = Resume.objects.all() if queryset is None else queryset
    for row in qs.order_by("id").values(*RESUME_VALUES).iterator(chunk_size=chunk_size):
        yield resume_doc_from_values(row)


def docs_with_hashes(kind: str, ids: Iterable[int]) -> dict[int, tuple[str, JobDoc | ResumeDoc]]:
    """id -> (content_hash, ml doc) for the jobs or resumes among `ids` that exist."""
    if kind == "job":
        rows = Job.objects.filter(pk__any=list(ids)).values(*JOB_VALUES, "content_hash")
        return {r["id"]: (r["content_hash"], job_doc_from_values(r)) for r in rows}
    rows = Resume.objects.filter(pk__any=list(ids)).values(*RESUME_VALUES, "content_hash")
    return {r["id"]: (r["content_hash"], resume_doc_from_values(r)) for r in rows}


def jobs_by_id(ids: Iterable[int]) -> dict[int, JobDoc]:
    return {int(d.id): d for d in iter_job_docs(Job.objects.filter(pk__any=list(ids)))}


def resumes_by_id(ids: Iterable[int]) -> dict[int, ResumeDoc]:
    """The resumes a ranking reranks. A resume's ml doc is built once per content (and candidate location)
    per process: the sanitiser the model reads through costs ~1 ms a resume, half the rerank of 200."""
    ids = list(ids)
    out: dict[int, ResumeDoc] = {}
    lacking = []
    for pk, content_hash, location in Resume.objects.filter(pk__any=ids).values_list(
        "id", "content_hash", "candidate__location"
    ):  # the keys alone first: decoding the JSON fields of 200 resumes costs more than the rerank
        doc = _resume_docs.peek(pk, content_hash, location)
        if doc is None:
            lacking.append(pk)
        else:
            out[pk] = doc
    if lacking:
        for row in Resume.objects.filter(pk__any=lacking).values(*RESUME_VALUES, "content_hash"):
            out[int(row["id"])] = _resume_docs.get(row)
    return out


class _ResumeDocCache:
    """Bounded LRU of ``resume_doc_from_values`` keyed by (id, content hash, candidate location): any edit
    changes the content hash (``Resume.save``), so a stale doc is never served."""

    def __init__(self, max_entries: int = 50_000):
        self.max_entries = max_entries
        self._docs: OrderedDict[tuple, ResumeDoc] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, pk: int, content_hash: str, location: str | None) -> ResumeDoc | None:
        key = (pk, content_hash, location or "")
        with self._lock:
            doc = self._docs.get(key)
            if doc is not None:
                self._docs.move_to_end(key)
            return doc

    def get(self, row: Mapping[str, Any]) -> ResumeDoc:
        if not row.get("content_hash"):
            return resume_doc_from_values(row)
        key = (row["id"], row["content_hash"], row.get("candidate__location") or "")
        doc = self.peek(*key)
        if doc is not None:
            return doc
        doc = resume_doc_from_values(row)
        with self._lock:
            self._docs[key] = doc
            while len(self._docs) > self.max_entries:
                self._docs.popitem(last=False)
        return doc

    def clear(self) -> None:
        with self._lock:
            self._docs.clear()


_resume_docs = _ResumeDocCache()


def document_kind(model) -> str | None:
    """ "job" or "resume" for the Job and Resume models (signal senders), None for anything else."""
    if model is Job:
        return "job"
    if model is Resume:
        return "resume"
    return None
