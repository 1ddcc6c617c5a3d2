"""Reads for the recruiting app, scoped to what a user may see.

Every API read starts from one of the `*_visible_to(user)` querysets here, and every write looks its
target up in a `*_manageable_by(user)` queryset first, so tenancy lives in one place. Other apps (the
matching service) reuse these functions for their own endpoints.

Rules:

* A **recruiter** is a user with a `Membership` in an organization (role `recruiter` or `admin`).
  They see every job of their organizations, the candidates and resumes of their organizations'
  talent pools, and the candidates and resumes that have an interaction with one of their
  organizations' jobs (an applicant, for instance). They see the interactions on their
  organizations' jobs. They change jobs of their organizations and candidates/resumes whose
  `Candidate.organization` is one of their organizations; applicants from outside are read-only.
* A **job seeker** is a user with a `Candidate` linked through `Candidate.user`, or a user without
  any membership (they may create their candidate profile). They see every *open* job, their own
  candidate record, their own resumes and the interactions on their own resumes of the kinds they
  can record themselves (`CANDIDATE_KINDS`); recruiters' internal events stay internal.
* A user who is both sees the union.
* Anonymous users see nothing.

An object outside what a user sees is reported as missing (404), never as forbidden.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from recruiting.models import Candidate, Interaction, Job, Membership, Organization, Resume

# Kinds a candidate records about themselves, and kinds an organization's recruiters record.
CANDIDATE_KINDS = frozenset(
    {
        Interaction.Kind.APPLY,
        Interaction.Kind.WITHDRAW,
        Interaction.Kind.NOT_INTERESTED,
        Interaction.Kind.CLICK,
    }
)
RECRUITER_KINDS = frozenset(
    {
        Interaction.Kind.IMPRESSION,
        Interaction.Kind.SHORTLIST,
        Interaction.Kind.INTERVIEW,
        Interaction.Kind.OFFER,
        Interaction.Kind.HIRE,
        Interaction.Kind.REJECT,
    }
)

User = AbstractBaseUser | AnonymousUser


def _authenticated(user: User | None) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def _org_ids(user: User) -> QuerySet:
    """A subquery of the ids of the organizations `user` belongs to."""
    return Membership.objects.filter(user_id=user.pk).values("organization_id")


# --- who is who ---------------------------------------------------------------------------------


def organizations_of(user: User | None) -> QuerySet[Organization]:
    if not _authenticated(user):
        return Organization.objects.none()
    return Organization.objects.filter(pk__in=_org_ids(user))


def is_recruiter(user: User | None) -> bool:
    return _authenticated(user) and Membership.objects.filter(user_id=user.pk).exists()


def user_is_org_member(user: User | None, org: Organization) -> bool:
    return _authenticated(user) and Membership.objects.filter(user_id=user.pk, organization=org).exists()


def user_is_org_admin(user: User | None, org: Organization) -> bool:
    return (
        _authenticated(user)
        and Membership.objects.filter(user_id=user.pk, organization=org, role=Membership.Role.ADMIN).exists()
    )


def candidate_of(user: User | None) -> Candidate | None:
    """The candidate record of a registered job seeker, if they have one."""
    if not _authenticated(user):
        return None
    return Candidate.objects.filter(user_id=user.pk).first()


def is_job_seeker(user: User | None) -> bool:
    """A user with a candidate profile, or one without any membership (who may create a profile)."""
    if not _authenticated(user):
        return False
    return Candidate.objects.filter(user_id=user.pk).exists() or not is_recruiter(user)


def interaction_kinds_for(user: User | None) -> frozenset[str]:
    """The interaction kinds `user` may record (on jobs and resumes that the service then checks)."""
    kinds: frozenset[str] = frozenset()
    if is_recruiter(user):
        kinds |= RECRUITER_KINDS
    if candidate_of(user) is not None:
        kinds |= CANDIDATE_KINDS
    return kinds


# --- organizations and members ------------------------------------------------------------------


def organization_list(*, user: User | None) -> QuerySet[Organization]:
    """The user's organizations, each annotated with `user_role` (their role in it)."""
    if not _authenticated(user):
        return Organization.objects.none()
    role = Membership.objects.filter(organization_id=OuterRef("pk"), user_id=user.pk).values("role")[:1]
    return organizations_of(user).annotate(user_role=Subquery(role))


def members_of(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("pk")


# --- jobs ---------------------------------------------------------------------------------------


def jobs_visible_to(user: User | None) -> QuerySet[Job]:
    """Recruiters: all jobs of their organizations. Job seekers: every open job."""
    if not _authenticated(user):
        return Job.objects.none()
    condition = Q(organization_id__in=_org_ids(user))
    if is_job_seeker(user):
        condition |= Q(status=Job.Status.OPEN)
    return Job.objects.filter(condition)


def jobs_manageable_by(user: User | None) -> QuerySet[Job]:
    """Jobs `user` may change, and record recruiter-side interactions on."""
    if not _authenticated(user):
        return Job.objects.none()
    return Job.objects.filter(organization_id__in=_org_ids(user))


# --- candidates ---------------------------------------------------------------------------------


def _applied_to_orgs(user: User, candidate_ref: str) -> Exists:
    """Whether the candidate at `candidate_ref` has an interaction with a job of user's organizations."""
    return Exists(
        Interaction.objects.filter(
            resume__candidate_id=OuterRef(candidate_ref), job__organization_id__in=_org_ids(user)
        )
    )


def candidates_visible_to(user: User | None) -> QuerySet[Candidate]:
    if not _authenticated(user):
        return Candidate.objects.none()
    return Candidate.objects.filter(
        Q(user_id=user.pk) | Q(organization_id__in=_org_ids(user)) | _applied_to_orgs(user, "pk")
    )


def candidates_manageable_by(user: User | None) -> QuerySet[Candidate]:
    """One's own candidate record, and the talent pools of one's organizations."""
    if not _authenticated(user):
        return Candidate.objects.none()
    return Candidate.objects.filter(Q(user_id=user.pk) | Q(organization_id__in=_org_ids(user)))


# --- resumes ------------------------------------------------------------------------------------


def resumes_visible_to(user: User | None) -> QuerySet[Resume]:
    """Own resumes; resumes of one's organizations' candidates and of candidates who interacted
    with one of one's organizations' jobs."""
    if not _authenticated(user):
        return Resume.objects.none()
    return Resume.objects.filter(
        Q(candidate__user_id=user.pk)
        | Q(candidate__organization_id__in=_org_ids(user))
        | _applied_to_orgs(user, "candidate_id")
    )


def resumes_manageable_by(user: User | None) -> QuerySet[Resume]:
    if not _authenticated(user):
        return Resume.objects.none()
    return Resume.objects.filter(
        Q(candidate__user_id=user.pk) | Q(candidate__organization_id__in=_org_ids(user))
    )


# --- interactions -------------------------------------------------------------------------------


def interactions_visible_to(user: User | None) -> QuerySet[Interaction]:
    """Recruiters: every event on their organizations' jobs. Candidates: their own kinds of event
    on their own resumes."""
    if not _authenticated(user):
        return Interaction.objects.none()
    return Interaction.objects.filter(
        Q(job__organization_id__in=_org_ids(user))
        | Q(resume__candidate__user_id=user.pk, kind__in=CANDIDATE_KINDS)
    )
