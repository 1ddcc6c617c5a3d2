"""Switching the one active ModelVersion: activate (after verifying its artifact) and roll back.

Exactly one active version (DB constraint); activation switches it in one transaction with row locks, after
verifying the artifact's sha256 as read back from storages["models"]. A missing or corrupt artifact is refused
(`ArtifactUnavailable`) and the current version stays active. `model_activated` is sent after the commit.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from matching.models import ModelVersion
from matching.signals import model_activated
from matching.training.artifacts import read_verified_artifact
from matching.training.errors import ActivationRefused, ActiveChanged, NothingToRollBack

_UNSET = object()


def activate(
    version_id: int, *, reason: str = "", expected_active_id=_UNSET, rollback: bool = False
) -> ModelVersion:
    """Make `version_id` the one active version. Verifies the artifact first; raises ArtifactUnavailable or
    ActivationRefused, in which case nothing changed."""
    version = ModelVersion.objects.get(pk=version_id)
    if version.status == ModelVersion.Status.ACTIVE:
        return version
    if version.status not in (ModelVersion.Status.CANDIDATE, ModelVersion.Status.RETIRED):
        raise ActivationRefused(
            f"v{version.version} is {version.status}: only candidate or retired versions can be activated"
        )
    read_verified_artifact(version)  # outside the transaction: no row locks held while reading storage
    for _ in range(3):
        try:
            with transaction.atomic():
                rows = list(
                    ModelVersion.objects.select_for_update()
                    .filter(Q(pk=version_id) | Q(status=ModelVersion.Status.ACTIVE))
                    .order_by("pk")
                )
                target = next(r for r in rows if r.pk == version_id)
                current = next(
                    (r for r in rows if r.pk != version_id and r.status == ModelVersion.Status.ACTIVE), None
                )
                if target.status not in (ModelVersion.Status.CANDIDATE, ModelVersion.Status.RETIRED):
                    raise ActivationRefused(f"v{target.version} became {target.status}")
                if (
                    expected_active_id is not _UNSET
                    and (current.pk if current else None) != expected_active_id
                ):
                    raise ActiveChanged("the active version changed")
                if current is not None:
                    current.status = ModelVersion.Status.RETIRED
                    current.save(update_fields=["status"])
                target.status = ModelVersion.Status.ACTIVE
                target.activated_at = timezone.now()
                fields = ["status", "activated_at"]
                if not rollback:
                    target.replaced = current
                    fields.append("replaced")
                if reason:
                    target.notes = reason
                    fields.append("notes")
                target.save(update_fields=fields)
                previous_id = current.pk if current else None
                transaction.on_commit(
                    lambda prev=previous_id: model_activated.send(
                        sender=ModelVersion, version_id=version_id, previous_id=prev, rollback=rollback
                    )
                )
            return target
        except IntegrityError:
            # A concurrent activation committed between our snapshot and our write; try again.
            continue
    raise ActivationRefused("concurrent activations kept conflicting; try again")


def rollback(*, to_version_id: int | None = None) -> ModelVersion:
    """Re-activate the version the current one replaced (or `to_version_id`).

    A rollback does not overwrite the target's own `replaced`, so repeated rollbacks walk back in history
    (v3 -> v2 -> v1) instead of toggling between two versions. The target's artifact is verified first."""
    current = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    if to_version_id is not None:
        target = ModelVersion.objects.filter(pk=to_version_id).first()
        if target is None:
            raise NothingToRollBack(f"no model version {to_version_id}")
    else:
        if current is None:
            raise NothingToRollBack("no version is active")
        target = current.replaced
        if target is None:
            raise NothingToRollBack(f"v{current.version} did not replace an earlier version")
        if target.status != ModelVersion.Status.RETIRED:
            raise NothingToRollBack(
                f"v{target.version}, which v{current.version} replaced, is {target.status}"
            )
    reason = f"rollback from v{current.version}" if current else "rollback"
    return activate(target.pk, reason=reason, rollback=True)
