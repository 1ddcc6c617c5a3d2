"""Reads for the matching endpoints: who may ask for what, the candidate pools, filters, the active
model, and the query document's vector (embedded on the fly when the worker has not stored it yet).

Tenancy comes from `recruiting.selectors`; nothing here widens it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from matching.models import DocumentVector, ModelVersion
from recruiting import selectors as rsel
from recruiting.models import Interaction, Job, Resume

log = logging.getLogger(__name__)

# `exclude=` words -> interaction kinds. A candidate (or job) with such an event for the pair is left out.
EXCLUDE_KINDS: dict[str, str] = {
    "rejected": Interaction.Kind.REJECT,
    "hired": Interaction.Kind.HIRE,
    "shortlisted": Interaction.Kind.SHORTLIST,
    "interviewed": Interaction.Kind.INTERVIEW,
    "offered": Interaction.Kind.OFFER,
    "withdrawn": Interaction.Kind.WITHDRAW,
    "not_interested": Interaction.Kind.NOT_INTERESTED,
    "applied": Interaction.Kind.APPLY,
}
SENIORITIES = tuple(Job.Seniority.values)


# --------------------------------------------------------------------------------------- access
def job_for_candidates(user, job_id: int) -> Job | None:
    """The job whose candidates `user` may rank: only recruiters of the job's organization."""
    return rsel.jobs_manageable_by(user).select_related("organization").filter(pk=job_id).first()


def resume_for_jobs(user, resume_id: int) -> Resume | None:
    """The resume whose jobs `user` may rank: its candidate, or a recruiter who sees the resume."""
    return rsel.resumes_visible_to(user).select_related("candidate").filter(pk=resume_id).first()


def candidate_pool(user) -> QuerySet[Resume]:
    return rsel.resumes_visible_to(user)


def job_pool(user) -> QuerySet[Job]:
    """Open jobs the user sees: every open job for a job seeker, the organization's for a recruiter."""
    return rsel.jobs_visible_to(user).filter(status=Job.Status.OPEN)


def cache_scope(user) -> str:
    """Part of the cache key that captures what `user` may see (pools differ per user)."""
    return f"u{user.pk}"


# --------------------------------------------------------------------------------------- filters
@dataclass(frozen=True)
class Filters:
    location: str = ""
    remote: bool | None = None
    seniority: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # interaction kinds

    def as_key(self) -> dict:
        return {
            "location": self.location.lower(),
            "remote": self.remote,
            "seniority": sorted(self.seniority),
            "exclude": sorted(self.exclude),
        }


def filter_candidates(qs: QuerySet[Resume], job: Job, f: Filters) -> QuerySet[Resume]:
    """Database-side filters for ranked candidates of `job`.

    location: the candidate's location contains the text. remote=false: the job is treated as on-site,
    so the candidate's location must contain the job's city (first comma-separated part of
    `job.location`); remote=true: anywhere (no location condition from the job). exclude: no interaction
    of those kinds between the resume and this job.
    """
    if f.location:
        qs = qs.filter(candidate__location__icontains=f.location)
    if f.remote is False and job.location.strip():
        city = job.location.split(",")[0].strip()
        qs = qs.filter(candidate__location__icontains=city)
    if f.exclude:
        qs = qs.filter(
            ~Exists(Interaction.objects.filter(job_id=job.pk, resume_id=OuterRef("pk"), kind__in=f.exclude))
        )
    return qs


def filter_jobs(qs: QuerySet[Job], resume: Resume, f: Filters) -> QuerySet[Job]:
    """location: the job's location contains the text (remote jobs always pass when remote is not false);
    remote=true: remote jobs only; remote=false: on-site jobs only; seniority: the job's level;
    exclude: no interaction of those kinds between this resume and the job."""
    if f.remote is True:
        qs = qs.filter(remote=True)
    elif f.remote is False:
        qs = qs.filter(remote=False)
    if f.location:
        cond = Q(location__icontains=f.location)
        if f.remote is not False:
            cond |= Q(remote=True)
        qs = qs.filter(cond)
    if f.seniority:
        qs = qs.filter(seniority__in=f.seniority)
    if f.exclude:
        qs = qs.filter(
            ~Exists(
                Interaction.objects.filter(resume_id=resume.pk, job_id=OuterRef("pk"), kind__in=f.exclude)
            )
        )
    return qs


# --------------------------------------------------------------------------------------- seniority
_LEVEL_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "executive",
        ("cto", "ceo", "cfo", "coo", "cio", "vp", "vice president", "director", "head of", "chief"),
    ),
    ("lead", ("lead", "principal", "staff", "architect", "manager")),
    ("senior", ("senior", "sr")),
    ("intern", ("intern", "internship", "trainee", "apprentice")),
    ("junior", ("junior", "jr", "graduate", "entry level", "entry-level")),
)
_YEAR = re.compile(r"(19|20)\d{2}")


def _years(entry: dict) -> float:
    start = _YEAR.search(str(entry.get("start") or ""))
    if not start:
        return 0.0
    end_raw = str(entry.get("end") or "")
    end = _YEAR.search(end_raw)
    end_year = int(end.group(0)) if end else date.today().year
    return max(0.0, end_year - int(start.group(0)))


def infer_seniority(headline: str, experience: list | None) -> str:
    """A resume's level from its headline / latest title words, else from its years of experience."""
    titles = [headline or ""] + [
        str(e.get("title") or "") for e in (experience or [])[:1] if isinstance(e, dict)
    ]
    text = " " + re.sub(r"[^a-z ]+", " ", " ".join(titles).lower()) + " "
    for level, words in _LEVEL_WORDS:
        if any(f" {w} " in text for w in words):
            return level
    years = sum(_years(e) for e in experience or [] if isinstance(e, dict))
    if years >= 10:
        return "lead"
    if years >= 5:
        return "senior"
    if 0 < years < 2:
        return "junior"
    return "mid"


# --------------------------------------------------------------------------------------- model
@dataclass
class ActiveModel:
    """The active model version and its loaded model, or neither (zero-shot)."""

    version: ModelVersion | None = None
    model: object | None = None  # ml.network.MatchingModel
    notes: list[str] = field(default_factory=list)

    @property
    def tag(self) -> str:
        return "zero-shot" if self.model is None else f"v{self.version.version}"


def active_model() -> ActiveModel:
    """The active ModelVersion and its model, from `matching.selectors.active_model()` (loaded once per
    process per version and artifact sha256). A version whose artifact does not load is served as
    zero-shot, with a note, rather than failing the request."""
    from matching import selectors as model_selectors

    try:
        got = model_selectors.active_model()
    except Exception as exc:  # noqa: BLE001 - serve zero-shot rather than fail the request
        mv = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
        log.error("active model %s does not load (%s); serving zero-shot", mv, exc)
        return ActiveModel(notes=[f"active version {mv.version if mv else '?'} failed to load; zero-shot"])
    if got is None:
        return ActiveModel()
    version, model = got
    return ActiveModel(version, model)


# --------------------------------------------------------------------------------------- vectors
def serving_encoder():
    from matching.embedding_services import current_encoder

    return current_encoder()


def encoder_space(encoder=None) -> str:
    from matching.embedding_services import encoder_space as space_of

    return space_of(encoder or serving_encoder())


def model_space(version: int) -> str:
    return f"model:{version}"


def document_vector(kind: str, obj: Job | Resume, doc, *, space: str, encoder) -> tuple[np.ndarray, bool]:
    """The encoder-space vector of one document (`doc`: its JobDoc/ResumeDoc), fresh for its content.

    Reads the stored DocumentVector; when there is none yet, or it is for older content (the embedding
    worker has not caught up), embeds `doc.full_text()` now and stores it (same text and hash convention
    as matching.embedding_services), so the worker finds it done. Returns (vector, embedded_now).
    """
    fk = "job" if kind == DocumentVector.Kind.JOB else "resume"
    row = (
        DocumentVector.objects.filter(space=space, **{fk: obj}).values_list("content_hash", "vector").first()
    )
    if row is not None and row[0] == obj.content_hash:
        return np.frombuffer(bytes(row[1]), dtype="<f4").astype(np.float32), False
    vec = encoder.encode([doc.full_text()])[0]
    try:
        with transaction.atomic():
            DocumentVector.objects.update_or_create(
                space=space,
                **{fk: obj},
                defaults={
                    "kind": kind,
                    "content_hash": obj.content_hash,
                    "dim": int(vec.shape[0]),
                    "vector": DocumentVector.to_bytes(vec),
                },
            )
    except IntegrityError:  # the worker stored it at the same moment; its vector is as good as ours
        pass
    return vec.astype(np.float32), True
