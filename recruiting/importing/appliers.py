"""One valid row applied to the organization: created, updated or found unchanged (the idempotency rules)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from recruiting import services
from recruiting.importing.errors import RowError
from recruiting.importing.notices import BatchNotices
from recruiting.importing.report import CREATED, UNCHANGED, UPDATED
from recruiting.importing.rows import job_data, resume_row
from recruiting.importing.values import as_str, as_time, check_keys
from recruiting.models import Candidate, Interaction, Job, Organization, Resume


def _changed(instance, data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if getattr(instance, k) != v}


_MODELS = {"jobs": Job, "resumes": Resume, "interactions": Interaction}


class RowApplier:
    """Applies rows of one kind to one organization, remembering the jobs and resumes rows refer to.

    Writes send no per-row signals: each applied row's documents or events are noted in `notices`
    (one `BatchNotices` per batch, from `start_batch`), which the batch announces once it commits.
    """

    def __init__(self, organization: Organization, kind: str, actor: AbstractBaseUser | None):
        self.org = organization
        self.kind = kind
        self.actor = actor
        self._jobs: dict[str, Job] = {}
        self._resumes: dict[tuple[str, str], Resume] = {}
        self._batch_jobs: dict[str, Job | None] = {}  # external_id -> job (None: not there yet)
        self.notices = BatchNotices(_MODELS[kind])

    def start_batch(self, batch: list[tuple[int, Any]]) -> BatchNotices:
        """A new batch: fresh notices and, for jobs, the batch's existing jobs looked up in one query."""
        self.notices = BatchNotices(_MODELS[self.kind])
        self._batch_jobs = self._prefetch_jobs(batch) if self.kind == "jobs" else {}
        return self.notices

    def _prefetch_jobs(self, batch: list[tuple[int, Any]]) -> dict[str, Job | None]:
        ids: set[str] = set()
        for _line, record in batch:
            if isinstance(record, dict):
                try:
                    ids.add(as_str(record.get("external_id"), "external_id"))
                except RowError:
                    continue  # the row is refused when applied
        ids.discard("")
        found = {j.external_id: j for j in Job.objects.filter(organization=self.org, external_id__in=ids)}
        return {external_id: found.get(external_id) for external_id in ids}

    def apply(self, record: dict) -> str:
        """CREATED, UPDATED or UNCHANGED; RowError or ValidationError when the row is refused."""
        self.notices.start_row()
        outcome = getattr(self, f"_apply_{self.kind}")(record)
        self.notices.keep_row()
        return outcome

    def forget_lookups(self) -> None:
        """Drop the remembered jobs and resumes (after a rollback they may no longer exist)."""
        self._jobs.clear()
        self._resumes.clear()

    # jobs
    def _apply_jobs(self, record: dict) -> str:
        data = job_data(record)
        external_id = data.get("external_id", "")
        if external_id:
            if external_id in self._batch_jobs:
                job = self._batch_jobs[external_id]
            else:
                job = Job.objects.filter(organization=self.org, external_id=external_id).first()
            if job is not None:
                changes = _changed(job, data)
                if not changes:
                    return UNCHANGED
                before = job.content_hash
                job = services.job_update(job=job, data=changes, notify=False)
                self._batch_jobs[external_id] = job  # a later row of the batch sees it as it is now
                self.notices.document(job.pk, content_changed=job.content_hash != before)
                return UPDATED
        else:
            probe = Job(organization=self.org, **data)
            if Job.objects.filter(organization=self.org, content_hash=probe.compute_content_hash()).exists():
                return UNCHANGED
        job = services.job_create(organization=self.org, data=data, notify=False)
        if external_id:
            self._batch_jobs[external_id] = job
        self.notices.document(job.pk, content_changed=True)
        return CREATED

    # candidates + resumes
    def _apply_resumes(self, record: dict) -> str:
        candidate_data, resume_data = resume_row(record)
        probe = Resume(**resume_data)
        if not probe.full_text:
            probe.full_text = services.resume_compose_text(probe)
        digest = probe.compute_content_hash()

        candidate = self._find_candidate(candidate_data, resume_data.get("external_id", ""), digest)
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
                before = resume.content_hash
                resume = services.resume_update(resume=resume, data=changes, notify=False)
                self.notices.document(resume.pk, content_changed=resume.content_hash != before)
                return UPDATED
        elif Resume.objects.filter(candidate=candidate, content_hash=digest).exists():
            return outcome_if_same
        resume = services.resume_create(candidate=candidate, data=resume_data, notify=False)
        self.notices.document(resume.pk, content_changed=True)
        return CREATED

    def _find_candidate(self, data: dict[str, str], resume_external_id: str, digest: str) -> Candidate | None:
        """By candidate external_id, else email, else the one candidate holding a resume with this
        external_id, else (a row without a resume external_id) the same name with an identical resume."""
        pool = Candidate.objects.filter(organization=self.org)
        if data.get("external_id"):
            return pool.filter(external_id=data["external_id"]).first()
        if data.get("email"):
            return pool.filter(email__iexact=data["email"]).order_by("pk").first()
        if resume_external_id:
            holders = list(pool.filter(resumes__external_id=resume_external_id).distinct().order_by("pk")[:2])
            if len(holders) > 1:
                raise RowError(
                    "external_id",
                    f"Several candidates have a resume {resume_external_id!r}; add candidate_external_id.",
                )
            return holders[0] if holders else None
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
        check_keys(record, "interactions")
        kind = as_str(record.get("kind"), "kind").lower()
        if not kind:
            raise RowError("kind", "This field is required.")
        if kind not in Interaction.Kind.values:
            raise RowError("kind", f"Unknown kind {kind!r}. Known: {', '.join(Interaction.Kind.values)}.")
        external_id = as_str(record.get("external_id"), "external_id")
        created_at = as_time(record.get("created_at"), "created_at")
        if created_at is None and not external_id:
            raise RowError(
                "created_at", "Required when external_id is empty (it identifies the event on re-import)."
            )
        job = self._job(as_str(record.get("job_external_id"), "job_external_id"))
        resume = self._resume(
            as_str(record.get("resume_external_id"), "resume_external_id"),
            as_str(record.get("candidate_external_id"), "candidate_external_id"),
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
            notify=False,
        )
        self.notices.interaction(job.pk, resume.pk)
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
