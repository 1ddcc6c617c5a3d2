"""Writes for the recruiting app. Keyword-only arguments, one transaction each, validation before save.

Anything derived from a row (embeddings, index entries, cached scores) is scheduled through the
signals in `recruiting.signals`, sent only once the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.utils.text import slugify

from recruiting import signals
from recruiting.models import (
    CANDIDATE_FIELDS,
    JOB_FIELDS,
    RESUME_FIELDS,
    Candidate,
    Interaction,
    Job,
    Membership,
    Organization,
    Resume,
)


def _assign(instance: models.Model, data: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    for name, value in data.items():
        setattr(instance, name, value)


def _after_commit_saved(instance: Job | Resume, *, content_changed: bool, notify: bool = True) -> None:
    if not notify:  # the caller announces it with others (the bulk import: `documents_imported`)
        return
    model, pk = type(instance), instance.pk
    transaction.on_commit(
        lambda: signals.document_saved.send(sender=model, instance_id=pk, content_changed=content_changed)
    )


def organization_create(
    *, name: str, creator: AbstractBaseUser | None = None, slug: str = ""
) -> Organization:
    with transaction.atomic():
        org = Organization(name=name, slug=slug or _unique_slug(name))
        org.full_clean()
        org.save()
        if creator is not None:
            Membership.objects.create(user=creator, organization=org, role=Membership.Role.ADMIN)
    return org


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def organization_update(*, organization: Organization, data: dict[str, Any]) -> Organization:
    with transaction.atomic():
        _assign(organization, data, {"name", "slug"})
        organization.full_clean()
        organization.save()
    return organization


def organization_delete(*, organization: Organization) -> None:
    """Delete an organization with its jobs and its talent pool, erasing resumes (files included)."""
    with transaction.atomic():
        for candidate in organization.candidates.all():
            candidate_erase(candidate=candidate)
        for job in organization.jobs.all():
            job_delete(job=job)
        organization.delete()


def _ensure_other_admin(organization: Organization, user: AbstractBaseUser) -> None:
    others = Membership.objects.filter(organization=organization, role=Membership.Role.ADMIN).exclude(
        user=user
    )
    if not others.exists():
        raise ValidationError({"role": "An organization must keep at least one admin."})


def membership_set(*, organization: Organization, user: AbstractBaseUser, role: str) -> Membership:
    with transaction.atomic():
        # Locks the organization's memberships, so two demotions cannot both pass the last-admin check.
        current = {
            m.user_id: m for m in Membership.objects.select_for_update().filter(organization=organization)
        }
        membership = current.get(user.pk) or Membership(organization=organization, user=user)
        if membership.role == Membership.Role.ADMIN and membership.pk and role != Membership.Role.ADMIN:
            _ensure_other_admin(organization, user)
        membership.role = role
        membership.full_clean()
        membership.save()
    return membership


def membership_remove(*, organization: Organization, user: AbstractBaseUser) -> None:
    with transaction.atomic():
        memberships = Membership.objects.select_for_update().filter(organization=organization)
        membership = memberships.filter(user=user).first()
        if membership is None:
            return
        if membership.role == Membership.Role.ADMIN:
            _ensure_other_admin(organization, user)
        membership.delete()


# The row an `external_id` is unique within (the conditional unique constraints on each model).
_EXTERNAL_ID_SCOPE: dict[type[models.Model], str] = {
    Job: "organization_id",
    Candidate: "organization_id",
    Resume: "candidate_id",
    Interaction: "job_id",
}


def _full_clean(
    instance: models.Model, errors: dict[str, list[str]] | None = None, *, verified: Iterable[str] = ()
) -> None:
    """full_clean, with the checks that Django reports without a field name (a duplicate
    `external_id`, a constraint across fields) reported on the field, so the API can name it.

    `errors` are failures the caller already found; those fields are not validated again. The
    constraints on `verified` fields (and the `external_id` uniqueness checked here) the caller has
    checked itself, so Django's query for each is not run again (each is one query and a savepoint,
    per row of a bulk import).
    """
    errors = dict(errors or {})
    verified = set(verified)
    scope = _EXTERNAL_ID_SCOPE.get(type(instance))
    external_id = getattr(instance, "external_id", "")
    if scope and "external_id" not in errors and not external_id:
        verified.add("external_id")  # the unique constraint holds only for non-empty ids
    elif scope and "external_id" not in errors and getattr(instance, scope) is not None:
        duplicate = (
            type(instance)
            ._default_manager.filter(**{scope: getattr(instance, scope), "external_id": external_id})
            .exclude(pk=instance.pk)
        )
        if duplicate.exists():
            errors["external_id"] = [f"{type(instance).__name__} with this external_id already exists."]
        verified.add("external_id")
    try:
        instance.full_clean(exclude=set(errors), validate_constraints=False)
    except ValidationError as e:
        errors = e.update_error_dict(errors)
    try:  # as full_clean would: only for fields that passed validation
        instance.validate_constraints(exclude={*errors, *verified} - {NON_FIELD_ERRORS})
    except ValidationError as e:
        errors = e.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def _job_full_clean(job: Job) -> None:
    """An inverted salary range is reported on `salary_max`, not as a nameless constraint violation."""
    errors: dict[str, list[str]] = {}
    lo, hi = job.salary_min, job.salary_max
    if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
        errors["salary_max"] = ["Must be greater than or equal to salary_min."]
    # whole numbers or empty: the check above is the range constraint, no query needed
    checked = all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in (lo, hi))
    _full_clean(job, errors, verified={"salary_max"} if checked else ())


def job_create(*, organization: Organization, data: dict[str, Any], notify: bool = True) -> Job:
    """A new job; `document_saved` after commit unless `notify=False` (the caller sends a bulk signal)."""
    with transaction.atomic():
        job = Job(organization=organization)
        _assign(job, data, JOB_FIELDS)
        _job_full_clean(job)
        job.save()
        _after_commit_saved(job, content_changed=True, notify=notify)
    return job


def job_update(*, job: Job, data: dict[str, Any], notify: bool = True) -> Job:
    """Change a job; `document_saved` (with `content_changed`) after commit unless `notify=False`."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        before = job.content_hash
        _assign(job, data, JOB_FIELDS)
        _job_full_clean(job)
        job.save()
        _after_commit_saved(job, content_changed=job.content_hash != before, notify=notify)
    return job


def job_delete(*, job: Job) -> None:
    model, pk = Job, job.pk
    with transaction.atomic():
        job.delete()
        transaction.on_commit(lambda: signals.document_erased.send(sender=model, instance_id=pk))


def candidate_create(
    *, organization: Organization | None = None, user: AbstractBaseUser | None = None, data: dict[str, Any]
) -> Candidate:
    with transaction.atomic():
        candidate = Candidate(organization=organization, user=user)
        _assign(candidate, data, CANDIDATE_FIELDS)
        _full_clean(candidate)
        candidate.save()
    return candidate


def candidate_update(*, candidate: Candidate, data: dict[str, Any]) -> Candidate:
    with transaction.atomic():
        _assign(candidate, data, CANDIDATE_FIELDS)
        _full_clean(candidate)
        candidate.save()
    return candidate


def candidate_erase(*, candidate: Candidate) -> None:
    """Erase a person: every resume (with its file and everything derived) and then the record."""
    with transaction.atomic():
        for resume in candidate.resumes.all():
            resume_erase(resume=resume)
        candidate.delete()


def resume_create(
    *, candidate: Candidate, data: dict[str, Any], source_file=None, notify: bool = True
) -> Resume:
    """A new resume (every content field may be empty); `document_saved` after commit unless `notify=False`."""
    stored_files: list[tuple[Any, str]] = []
    try:
        with transaction.atomic():
            resume = Resume(candidate=candidate)
            _assign(resume, data, RESUME_FIELDS)
            if not resume.full_text:
                resume.full_text = resume_compose_text(resume)
            _full_clean(resume)
            resume.save()
            if source_file is not None:
                # Saved once the row exists, so the upload path can use the candidate id.
                resume.source_file.save(source_file.name, source_file, save=True)
                stored_files.append((resume.source_file.storage, resume.source_file.name))
            _after_commit_saved(resume, content_changed=True, notify=notify)
    except BaseException:
        # Storage is not transactional: a file written by a rolled-back block is removed here.
        for storage, name in stored_files:
            storage.delete(name)
        raise
    return resume


def resume_update(*, resume: Resume, data: dict[str, Any], notify: bool = True) -> Resume:
    """Change a resume; `document_saved` (with `content_changed`) after commit unless `notify=False`."""
    with transaction.atomic():
        resume = Resume.objects.select_for_update().get(pk=resume.pk)
        before = resume.content_hash
        explicit_text = "full_text" in data
        _assign(resume, data, RESUME_FIELDS)
        if not explicit_text and not resume.source_file:
            resume.full_text = resume_compose_text(resume)
        _full_clean(resume)
        resume.save()
        _after_commit_saved(resume, content_changed=resume.content_hash != before, notify=notify)
    return resume


def resume_erase(*, resume: Resume) -> None:
    """Remove the resume's text, its file and everything derived from it.

    Derived rows (embeddings, cached scores) hang off the resume with on_delete=CASCADE; caches and
    indexes outside the database listen to `document_erased`. The interactions go too: they are
    events about this person.
    """
    model, pk = Resume, resume.pk
    with transaction.atomic():
        resume = Resume.objects.select_for_update().get(pk=resume.pk)
        file_name = resume.source_file.name if resume.source_file else ""
        storage = resume.source_file.storage if resume.source_file else None
        candidate, supplied = resume.candidate, dict(resume.parsed_contact or {})
        resume.delete()
        _erase_supplied_contact(candidate, supplied)

        def after_commit() -> None:
            if storage is not None and file_name:
                storage.delete(file_name)
            signals.document_erased.send(sender=model, instance_id=pk)

        transaction.on_commit(after_commit)


def _erase_supplied_contact(candidate: Candidate, supplied: dict[str, str]) -> None:
    """Blank the candidate fields an erased resume's file supplied, unless another resume supplied them too."""
    kept = [r.parsed_contact or {} for r in candidate.resumes.all()]
    cleared = [
        key
        for key, value in supplied.items()
        if key in ("full_name", "email")
        and getattr(candidate, key) == value
        and not any(other.get(key) == value for other in kept)
    ]
    if cleared:
        for key in cleared:
            setattr(candidate, key, "")
        candidate.save(update_fields=[*cleared, "updated_at"])


def resume_compose_text(resume: Resume) -> str:
    """The plain text of a resume built from its sections, for resumes that arrive as JSON."""
    parts: list[str] = []
    if resume.headline:
        parts.append(resume.headline)
    if resume.summary:
        parts.append(resume.summary)
    if resume.skills:
        parts.append("Skills: " + ", ".join(resume.skills))
    for entry in resume.experience or []:
        line = " — ".join(str(entry.get(k)) for k in ("title", "company", "location") if entry.get(k))
        desc = entry.get("description")
        parts.append(f"{line}\n{desc}" if desc else line)
    for entry in resume.education or []:
        parts.append(" — ".join(str(entry.get(k)) for k in ("degree", "institution", "year") if entry.get(k)))
    return "\n".join(p for p in parts if p)


def interaction_record(
    *,
    job: Job,
    resume: Resume,
    kind: str,
    actor: AbstractBaseUser | None = None,
    created_at: datetime | None = None,
    external_id: str = "",
    notify: bool = True,
) -> Interaction:
    """Append one event. Events are never updated: a later decision is a new event.

    `interaction_recorded` is sent after commit unless `notify=False` (the bulk import sends one
    `interactions_imported` per batch instead)."""
    with transaction.atomic():
        interaction = Interaction(job=job, resume=resume, kind=kind, actor=actor, external_id=external_id)
        if created_at is not None:
            interaction.created_at = created_at
        _full_clean(interaction)
        interaction.save()
        pk, job_id, resume_id = interaction.pk, job.pk, resume.pk
        if not notify:
            return interaction
        transaction.on_commit(
            lambda: signals.interaction_recorded.send(
                sender=Interaction, instance_id=pk, job_id=job_id, resume_id=resume_id, kind=kind
            )
        )
    return interaction
