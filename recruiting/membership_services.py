"""Joining and leaving organizations: invitations an admin creates and the invited user accepts.

Nobody is added to an organization by someone else: an admin creates an invitation (a one-time code,
shown once) and hands it over; the invited user accepts it. No endpoint takes a username, so none
tells whether a username exists. A member may leave; the last admin may not.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from recruiting import services
from recruiting.models import Invitation, Membership, Organization

# One message for every refused code (unknown, used, expired, revoked): a code's state is not disclosed.
INVALID_CODE = "This invitation code is not valid (unknown, used or expired)."


@dataclass(frozen=True)
class CreatedInvitation:
    invitation: Invitation
    code: str  # shown once; only its digest is stored


def invitation_create(
    *, organization: Organization, role: str, created_by: AbstractBaseUser | None
) -> CreatedInvitation:
    code = secrets.token_urlsafe(24)
    days = getattr(settings, "INVITATION_TTL_DAYS", 7)
    with transaction.atomic():
        invitation = Invitation(
            organization=organization,
            role=role,
            code_digest=Invitation.digest(code),
            created_by=created_by,
            expires_at=timezone.now() + timedelta(days=days),
        )
        invitation.full_clean()
        invitation.save()
    return CreatedInvitation(invitation=invitation, code=code)


def invitation_revoke(*, invitation: Invitation) -> None:
    with transaction.atomic():
        invitation.delete()


def invitation_accept(*, code: str, user: AbstractBaseUser) -> Membership:
    """The user joins the invitation's organization with its role (an existing membership keeps the higher
    role). The code is spent; a second accept, an expired or unknown code is a 400 naming `code`."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .filter(
                code_digest=Invitation.digest(code), accepted_at__isnull=True, expires_at__gt=timezone.now()
            )
            .first()
        )
        if invitation is None:
            raise ValidationError({"code": INVALID_CODE})
        existing = Membership.objects.filter(organization=invitation.organization, user=user).first()
        role = invitation.role
        if existing is not None and existing.role == Membership.Role.ADMIN:
            role = Membership.Role.ADMIN
        membership = services.membership_set(organization=invitation.organization, user=user, role=role)
        invitation.accepted_by = user
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_by", "accepted_at"])
    return membership


def membership_leave(*, organization: Organization, user: AbstractBaseUser) -> None:
    """The user leaves the organization; 400 naming `role` when they are its last admin."""
    services.membership_remove(organization=organization, user=user)
