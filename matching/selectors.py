"""Reads for the matching app: the active model, who may rank what, the pools, and the rows of a ranking.

The loaded model is cached per process, keyed by (version id, artifact sha256): a request compares the
active version (one indexed query) with what it holds and loads the new artifact only after a switch.
Tenancy comes from `recruiting.selectors`; nothing here widens it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, Model, QuerySet

from matching.models import EmbeddingMark, ModelVersion
from matching.seniority import infer_seniority
from matching.training.artifacts import load_version_model
from recruiting import selectors as rsel
from recruiting.models import Interaction, Job, Resume

log = logging.getLogger(__name__)

_MAX_LOADED = 2
_loaded: OrderedDict[tuple[int, str], object] = OrderedDict()
_lock = threading.Lock()


# --------------------------------------------------------------------------------------- model
def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def load_model_cached(version: ModelVersion):
    """The ml.network.MatchingModel of `version`, verified against its sha256, loaded once per process."""
    key = (version.pk, version.artifact_sha256)
    with _lock:
        model = _loaded.get(key)
        if model is not None:
            _loaded.move_to_end(key)
            return model
    model = load_version_model(version)
    with _lock:
        _loaded[key] = model
        _loaded.move_to_end(key)
        while len(_loaded) > _MAX_LOADED:
            _loaded.popitem(last=False)
    return model


def clear_model_cache() -> None:
    with _lock:
        _loaded.clear()


@dataclass
class ActiveModel:
    """The active model version and its loaded model, or neither (zero-shot)."""

    version: ModelVersion | None = None
    model: object | None = None  # ml.network.MatchingModel
    notes: list[str] = field(default_factory=list)

    @property
    def tag(self) -> str:
        return "zero-shot" if self.model is None else f"v{self.version.version}"

    @property
    def number(self) -> int | None:
        """The active version's number, or None when serving zero-shot."""
        return self.version.version if self.model is not None else None


def active_model() -> ActiveModel:
    """The active version and its model (loaded once per process per version and artifact sha256). A version
    whose artifact does not load is served as zero-shot, with a note, rather than failing the request."""
    version = active_model_version()
    if version is None:
        return ActiveModel()
    try:
        return ActiveModel(version, load_model_cached(version))
    except Exception as exc:
        log.error("active model %s does not load (%s); serving zero-shot", version, exc)
        return ActiveModel(notes=[f"active version {version.version} failed to load; zero-shot"])


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


# --------------------------------------------------------------------------------------- rows
def candidate_rows(resume_ids: list[int]) -> dict[int, dict]:
    """resume id -> the fields of a ranked-candidate row."""
    rows = Resume.objects.filter(pk__any=resume_ids).values(
        "id",
        "candidate_id",
        "candidate__full_name",
        "candidate__location",
        "headline",
        "experience",
        "integrity_flags",
    )
    return {
        r["id"]: {
            "candidate": r["candidate_id"],
            "name": r["candidate__full_name"],
            "headline": r["headline"],
            "location": r["candidate__location"],
            "seniority": infer_seniority(r["headline"], r["experience"]),
            # the gamed-resume detector's findings (recruiting.integrity, matching.integrity)
            "flagged": bool(r["integrity_flags"]),
            "integrity_flags": list(r["integrity_flags"] or []),
        }
        for r in rows
    }


def job_rows(job_ids: list[int]) -> dict[int, dict]:
    """job id -> the fields of a ranked-job row."""
    rows = Job.objects.filter(pk__any=job_ids).values(
        "id", "title", "organization__name", "location", "remote", "seniority"
    )
    return {
        r["id"]: {
            "title": r["title"],
            "organization": r["organization__name"],
            "location": r["location"],
            "remote": r["remote"],
            "seniority": r["seniority"],
        }
        for r in rows
    }


@dataclass(frozen=True)
class AnswerProbe:
    """What a cached ranking of one anchor document depends on, read in one query."""

    content_hash: str
    latest_interaction: int  # 0 when none
    active_id: int | None  # the active model version (None: zero-shot)
    active_sha: str
    alive: int  # how many of the cached answer's result ids still exist

    def fingerprint(self, encoder_version: str) -> list:
        return [self.active_id, self.active_sha, encoder_version, self.content_hash, self.latest_interaction]


def answer_probe(
    anchors: QuerySet,
    anchor_id: int,
    *,
    interaction_field: str,
    result_model: type[Model],
    result_ids: list[int],
) -> AnswerProbe | None:
    """None when `anchor_id` is not in `anchors` (the caller's visible documents); otherwise the anchor's
    content hash and newest interaction, the active version and whether the cached results still exist.

    One query instead of four (visibility, active version, newest interaction, existence): a cached answer
    costs the framework's own floor plus this lookup. Only the visibility part is compiled by the ORM (it is
    the tenancy rule of `recruiting.selectors`); the fixed lookups around it are plain SQL, since compiling
    them as ORM subqueries took eight times as long as PostgreSQL took to answer the query."""
    visible = anchors.filter(pk=anchor_id).order_by().values(probe_pk=F("pk"), probe_hash=F("content_hash"))
    try:
        visible_sql, visible_params = visible.query.sql_with_params()
    except EmptyResultSet:  # e.g. `.none()`: nothing is visible
        return None
    q = connection.ops.quote_name
    inter = Interaction._meta
    versions = ModelVersion._meta
    active = (
        f"FROM {q(versions.db_table)} WHERE {q(versions.get_field('status').column)} = %s "
        f"ORDER BY {q(versions.pk.column)} LIMIT 1"
    )
    field = inter.get_field(interaction_field.removesuffix("_id")).column
    alive = "0"
    if result_ids:
        placeholders = ", ".join(["%s"] * len(result_ids))
        alive = (
            f"(SELECT COUNT(*) FROM {q(result_model._meta.db_table)} "
            f"WHERE {q(result_model._meta.pk.column)} IN ({placeholders}))"
        )
    sql = (
        f"SELECT v.probe_hash, (SELECT {q(inter.pk.column)} FROM {q(inter.db_table)} WHERE {q(field)} = v.probe_pk"
        f" ORDER BY {q(inter.pk.column)} DESC LIMIT 1), (SELECT {q(versions.pk.column)} {active}),"
        f" (SELECT {q(versions.get_field('artifact_sha256').column)} {active}), {alive}"
        f" FROM ({visible_sql}) v"
    )
    status = ModelVersion.Status.ACTIVE.value
    with connection.cursor() as cursor:
        cursor.execute(sql, [status, status, *result_ids, *visible_params])  # in the order they appear
        row = cursor.fetchone()
    if row is None:
        return None
    content_hash, latest, active_id, active_sha, n_alive = row
    return AnswerProbe(
        content_hash=content_hash,
        latest_interaction=latest or 0,
        active_id=active_id,
        active_sha=active_sha or "",
        alive=n_alive or 0,
    )


def pending_embeddings(kind: str) -> int:
    """Documents of `kind` flagged for embedding and not embedded yet."""
    return EmbeddingMark.objects.filter(kind=kind, dirty=True).count()
