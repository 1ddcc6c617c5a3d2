"""Where uploads and imports land, and the writes of an upload.

A resume upload goes to an existing candidate the user manages, to a new candidate in one of the
user's organizations (recruiters), or to the job seeker's own profile (created on the first upload).
Those decisions are made here; the views only validate the form, call these functions and render.
Refusals are Django's exceptions, which the API answers with the field named: Http404 (a candidate or
organization not yours), PermissionDenied (a candidate you see but may not change), ValidationError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404

from recruiting import selectors, services
from recruiting.models import Candidate, Organization, Resume
from recruiting.parsing.limits import ParseLimits
from recruiting.parsing.parsed import ParsedResume
from recruiting.parsing.resume import parse_resume
from recruiting.parsing.sandbox import SandboxLimits, parse_resume_isolated


@dataclass(frozen=True)
class UploadTarget:
    """An existing `candidate`, or the `candidate_fields` of a new one: in `organization`'s talent
    pool, or the job seeker `user`'s own profile."""

    candidate: Candidate | None = None
    organization: Organization | None = None
    user: AbstractBaseUser | None = None
    candidate_fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UploadedResume:
    resume: Resume
    parsed: ParsedResume
    candidate_created: bool


_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,80}")


def organization_by_ref(*, user: AbstractBaseUser, ref: str | int) -> Organization:
    """One of the user's organizations by id or slug; 404 naming `organization` for any other."""
    orgs = selectors.organizations_of(user)
    text = str(ref).strip()
    # ASCII digits only ("²".isdigit() is true and int() refuses it) and within a bigint; else a slug.
    as_id = text.isascii() and text.isdigit() and len(text) <= 18
    # a slug is ASCII letters, digits, "-" and "_": anything else (a NUL byte PostgreSQL refuses) matches none
    as_slug = not as_id and _SLUG.fullmatch(text) is not None
    org = orgs.filter(pk=int(text)).first() if as_id else orgs.filter(slug=text).first() if as_slug else None
    if org is None:
        raise Http404({"organization": ["No such organization among yours."]})
    return org


def resume_upload(
    *,
    user: AbstractBaseUser,
    content: bytes,
    filename: str,
    content_type: str = "",
    candidate_id: int | None = None,
    organization_ref: str | None = None,
    full_name: str = "",
    email: str = "",
    location: str = "",
    candidate_external_id: str = "",
    external_id: str = "",
) -> UploadedResume:
    """Parse an uploaded resume file and store it, with the file, for its candidate (see the module).

    The candidate fields are for a new candidate (name and email default to the file's). The target
    is decided before the file is parsed; ParseError / UnsupportedFileType when it cannot be read.
    Nothing is written when anything is refused.
    """
    new_fields = {k: v for k, v in (("full_name", full_name), ("email", email), ("location", location)) if v}
    if candidate_external_id:
        new_fields["external_id"] = candidate_external_id
    target = upload_target(
        user=user, candidate_id=candidate_id, organization_ref=organization_ref, candidate_fields=new_fields
    )
    parsed = parse_upload(content, filename=filename, content_type=content_type)
    file_name = PurePath(filename or "resume").name[-200:] or "resume"
    with transaction.atomic():
        candidate = target.candidate or _candidate_create_from_upload(target, parsed)
        resume = resume_create_from_parsed(
            candidate=candidate, parsed=parsed, content=content, file_name=file_name, external_id=external_id
        )
        if target.candidate is None:  # remember what the file supplied, so erasing the resume erases it
            supplied = {
                key: value
                for key, value in (("full_name", candidate.full_name), ("email", candidate.email))
                if value and not target.candidate_fields.get(key)
            }
            Resume.objects.filter(pk=resume.pk).update(parsed_contact=supplied)
    return UploadedResume(resume=resume, parsed=parsed, candidate_created=target.candidate is None)


def parse_upload(content: bytes, *, filename: str, content_type: str):
    """An uploaded file parsed under the upload limits: in a limited child process (UPLOAD_PARSE_ISOLATED,
    the default), else in this process with the structure limits only."""
    parse_limits = ParseLimits(
        max_uncompressed_bytes=settings.UPLOAD_MAX_UNCOMPRESSED_BYTES,
        max_paragraphs=settings.UPLOAD_MAX_PARAGRAPHS,
        max_pages=settings.UPLOAD_MAX_PAGES,
    )
    if not settings.UPLOAD_PARSE_ISOLATED:
        return parse_resume(content, filename=filename, content_type=content_type, limits=parse_limits)
    limits = SandboxLimits(
        memory_bytes=settings.UPLOAD_PARSE_MEMORY_MB * 1024 * 1024,
        cpu_seconds=settings.UPLOAD_PARSE_CPU_SECONDS,
        wall_seconds=settings.UPLOAD_PARSE_WALL_SECONDS,
        parse=parse_limits,
    )
    return parse_resume_isolated(content, filename=filename, content_type=content_type, limits=limits)


def upload_target(
    *,
    user: AbstractBaseUser,
    candidate_id: int | None,
    organization_ref: str | None,
    candidate_fields: dict[str, str],
) -> UploadTarget:
    """Named candidate; else a new or external-id-matched one in an organization (named, or the
    recruiter's only one); else the job seeker's own profile, created when they have none."""
    if candidate_id is not None:
        return UploadTarget(candidate=_managed_candidate(user, candidate_id))
    recruiter = selectors.is_recruiter(user)
    own = selectors.candidate_of(user)
    if organization_ref is not None or (recruiter and (candidate_fields or own is None)):
        return _talent_pool_target(user, organization_ref, candidate_fields)
    if own is not None:
        return UploadTarget(candidate=own)
    # a job seeker's first upload creates their profile
    profile = {k: v for k, v in candidate_fields.items() if k != "external_id"}
    return UploadTarget(user=user, candidate_fields=profile)


def resume_create_from_parsed(
    *, candidate: Candidate, parsed: ParsedResume, content: bytes, file_name: str, external_id: str = ""
) -> Resume:
    """A resume with the parsed sections, storing the file it was parsed from."""
    data = {**parsed.resume_data(), "source_file_name": file_name}
    if external_id:
        data["external_id"] = external_id
    return services.resume_create(
        candidate=candidate, data=data, source_file=ContentFile(content, name=file_name)
    )


def _managed_candidate(user: AbstractBaseUser, candidate_id: int) -> Candidate:
    candidate = selectors.candidates_visible_to(user).filter(pk=candidate_id).first()
    if candidate is None:
        raise Http404({"candidate": ["No such candidate."]})
    if not selectors.candidates_manageable_by(user).filter(pk=candidate.pk).exists():
        raise PermissionDenied("You may not add resumes to this candidate.")
    return candidate


def _talent_pool_target(
    user: AbstractBaseUser, organization_ref: str | None, candidate_fields: dict[str, str]
) -> UploadTarget:
    """A candidate in an organization's pool: the one with the given external id, else a new one."""
    if organization_ref is not None:
        organization = organization_by_ref(user=user, ref=organization_ref)
    else:
        orgs = list(selectors.organizations_of(user)[:2])
        if len(orgs) != 1:
            raise ValidationError({"organization": ["You belong to several organizations; name one."]})
        organization = orgs[0]
    external_id = candidate_fields.get("external_id")
    if external_id:
        existing = Candidate.objects.filter(organization=organization, external_id=external_id).first()
        if existing is not None:
            return UploadTarget(candidate=existing)
    return UploadTarget(organization=organization, candidate_fields=candidate_fields)


def _candidate_create_from_upload(target: UploadTarget, parsed: ParsedResume) -> Candidate:
    fields = target.candidate_fields
    data = {
        "full_name": fields.get("full_name") or parsed.name[:200],
        "email": fields.get("email") or _valid_email(parsed.email),
        **{k: v for k, v in fields.items() if k in ("location", "external_id")},
    }
    return services.candidate_create(organization=target.organization, user=target.user, data=data)


def _valid_email(value: str) -> str:
    """The email found in a file when it is valid, else ''."""
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value[:254]
