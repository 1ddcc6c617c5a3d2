"""Who may change what, on top of what they may see (`recruiting.selectors`).

The views look every object up in a `*_visible_to(user)` queryset first, so an object outside a
user's scope is a 404. The checks here come after that: an object a user sees but may not change is a
403 (a recruiter changing their organization, a job seeker editing an open job), and a reference in a
request body to something the user may not use is a 400 naming the field.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from rest_framework.exceptions import PermissionDenied

from recruiting import selectors
from recruiting.models import Job, Organization, Resume


def ensure_org_admin(user, organization: Organization) -> None:
    if not selectors.user_is_org_admin(user, organization):
        raise PermissionDenied("Only an administrator of this organization may do this.")


def ensure_in(queryset: QuerySet, obj: Model, message: str = "You may not change this object.") -> None:
    """403 unless `obj` is in `queryset` (a `*_manageable_by(user)` selector)."""
    if not queryset.filter(pk=obj.pk).exists():
        raise PermissionDenied(message)


def interaction_check(*, user, job: Job, resume: Resume, kind: str) -> None:
    """Whether `user` may record `kind` between `job` and `resume`; a 400 naming the field if not.

    `job` and `resume` are already known to be visible to `user` (the input serializer looks them up
    in the user's scope). Candidate-side kinds (apply, withdraw, not_interested, click) are recorded
    by a job seeker about their own resume on an open job; recruiter-side kinds (impression,
    shortlist, interview, offer, hire, reject) by a member of the job's organization.
    """
    allowed = selectors.interaction_kinds_for(user)
    if kind not in allowed:
        raise ValidationError(
            {"kind": f"You may not record '{kind}'. Allowed: {', '.join(sorted(allowed)) or 'none'}."}
        )
    if kind in selectors.CANDIDATE_KINDS:
        if resume.candidate.user_id != user.pk:
            raise ValidationError({"resume": "You may record this kind only for your own resume."})
        if job.status != Job.Status.OPEN:
            raise ValidationError({"job": "This job is not open."})
    else:
        if not selectors.jobs_manageable_by(user).filter(pk=job.pk).exists():
            raise ValidationError({"job": "You may record this kind only on your organization's jobs."})
