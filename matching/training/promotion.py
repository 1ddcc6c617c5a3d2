"""Compare a candidate with the active version (or zero-shot) on its held-out slice; promote only when better.

PROMOTION_METRIC (default NDCG@10: it rewards putting the strongest outcomes at the top of a recruiter's
first screen, which is what the product shows) on the CANDIDATE's held-out slice, rebuilt from the database,
for the candidate and for the active version (or zero-shot cosine of whole-document vectors when no version
is active, FIRST_MODEL_POLICY="baseline"; "always" promotes the first model unconditionally). Promoted only if
candidate - baseline > PROMOTION_MARGIN; otherwise the reason goes to candidate.notes and the numbers to
candidate.metrics["promotion"].
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from matching import model_space
from matching.compat.projection import prepare_compatible, serving_base
from matching.models import ModelVersion, TrainingRun
from matching.selectors import active_model_version, load_model_cached
from matching.training.activation import activate
from matching.training.artifacts import load_version_model
from matching.training.errors import ActiveChanged, RegistryError
from matching.training.evaluation import (
    clean_metrics,
    eval_set_for_version,
    evaluate_scores,
    model_scores,
    zero_shot_scores,
)
from matching.training.lock import training_lock
from matching.training.refit import refit_version


def _run_for(version: ModelVersion) -> TrainingRun | None:
    return version.training_runs.order_by("-created_at").first()


def _set_stage(version: ModelVersion, stage: str) -> None:
    run = _run_for(version)
    if run is not None and run.status == TrainingRun.Status.RUNNING:
        TrainingRun.objects.filter(pk=run.pk).update(stage=stage)
        training_lock().extend(run.pk)


def compare_with_active(version_id: int) -> dict:
    """Evaluate the candidate and the active version (or zero-shot cosine) on the candidate's held-out slice.

    Stored in candidate.metrics["comparison"]; idempotent (recomputed on every call)."""
    version = ModelVersion.objects.get(pk=version_id)
    _set_stage(version, "compare")
    es = eval_set_for_version(version)
    cand = evaluate_scores(es, model_scores(load_version_model(version), es))
    active = active_model_version()
    if active is not None and active.pk != version.pk:
        base = evaluate_scores(es, model_scores(load_model_cached(active), es))
        baseline = {"kind": "active", "version_id": active.pk, "version": active.version}
    else:
        base = evaluate_scores(es, zero_shot_scores(es))
        baseline = {"kind": "zero_shot", "version_id": None, "version": None}
    comparison = {
        "candidate": clean_metrics(cand),
        "baseline": {**baseline, "metrics": clean_metrics(base)},
        "evaluated_at": timezone.now().isoformat(),
    }
    with transaction.atomic():
        v = ModelVersion.objects.select_for_update().get(pk=version_id)
        v.metrics = {**v.metrics, "comparison": comparison}
        v.save(update_fields=["metrics"])
    return comparison


@dataclass
class PromotionDecision:
    promoted: bool
    reason: str
    details: dict


def promote_if_better(version_id: int) -> PromotionDecision:
    """Activate the candidate when it beats the active version (or zero-shot) on its held-out slice.

    The comparison is redone when the active version changed since `evaluate`, and the switch is refused
    (and the decision taken again) when it changes between the decision and the activation."""
    version = ModelVersion.objects.get(pk=version_id)
    if version.status == ModelVersion.Status.ACTIVE:
        return PromotionDecision(True, f"v{version.version} is already active", {})
    if version.status != ModelVersion.Status.CANDIDATE:
        return PromotionDecision(False, f"v{version.version} is {version.status}, not a candidate", {})
    _set_stage(version, "promote")
    for _ in range(3):
        active = active_model_version()
        active_id = active.pk if active is not None else None
        comparison = version.metrics.get("comparison")
        if comparison is None or comparison["baseline"]["version_id"] != active_id:
            comparison = compare_with_active(version_id)  # the active version changed since `evaluate`
            version.refresh_from_db()
        decision = decide(comparison)
        _record_decision(version_id, decision)
        if not decision.promoted:
            return decision
        refit_version(version)  # trained again with the held-out slice, before it is indexed and served
        _make_servable(version)
        try:
            activate(version_id, reason=decision.reason, expected_active_id=active_id)
        except ActiveChanged:
            version.refresh_from_db()
            continue
        return decision
    raise RegistryError("the active version kept changing during promotion")


def _make_servable(version: ModelVersion) -> None:
    """A compatible update serves at once against the active version's space through a query projection (its
    own space is written behind it on the backfill queue); otherwise the whole space is written first."""
    version.refresh_from_db()
    _set_stage(version, "compat")
    if serving_base(version) is not None or prepare_compatible(version, load_model_cached(version)):
        return
    _write_space(version)  # a version serves only once its whole retrieval space is written


def _write_space(version: ModelVersion) -> None:
    """Write the candidate's retrieval space (resumable: a redelivered task skips what is written), with
    the counts on its training run."""
    if version.space_ready:
        return
    run = _run_for(version)

    def on_progress(kind: str, done: int, total: int) -> None:
        if run is None or run.status != TrainingRun.Status.RUNNING:
            return
        space = {**(run.progress or {}).get("space", {}), kind: {"done": done, "total": total}}
        run.progress = {**(run.progress or {}), "space": space}
        TrainingRun.objects.filter(pk=run.pk).update(stage="space", progress=run.progress)
        training_lock().extend(run.pk)

    model_space.write_space(version, load_model_cached(version), on_progress=on_progress)


def decide(comparison: dict) -> PromotionDecision:
    """The promotion rule applied to a stored comparison (PROMOTION_METRIC, PROMOTION_MARGIN, FIRST_MODEL_POLICY)."""
    metric, margin = settings.PROMOTION_METRIC, settings.PROMOTION_MARGIN
    cand_value = comparison["candidate"].get(metric)
    base = comparison["baseline"]
    base_value = base["metrics"].get(metric)
    base_label = f"active v{base['version']}" if base["kind"] == "active" else "zero-shot cosine"
    n_q = comparison["candidate"].get("n_queries")
    first_always = base["kind"] == "zero_shot" and settings.FIRST_MODEL_POLICY == "always"
    if cand_value is None:
        promoted = False
        reason = f"not promoted: {metric} is undefined on the held-out slice (no relevant pairs)"
    elif first_always:
        promoted, reason = True, "promoted: first model (FIRST_MODEL_POLICY=always)"
    elif base_value is None or cand_value - base_value > margin:
        promoted = True
        reason = (
            f"promoted: {metric} {cand_value:.4f} vs {base_label} "
            f"{(base_value if base_value is not None else float('nan')):.4f} "
            f"on the candidate's held-out slice ({n_q} jobs), margin {margin:+.4f}"
        )
    else:
        promoted = False
        reason = (
            f"not promoted: {metric} {cand_value:.4f} does not beat {base_label} {base_value:.4f} by more than "
            f"{margin:.4f} on the candidate's held-out slice ({n_q} jobs); {base_label} stays"
        )
    details = {
        "metric": metric,
        "margin": margin,
        "candidate": cand_value,
        "baseline": base_value,
        "baseline_kind": base["kind"],
        "baseline_version": base["version"],
        "promoted": promoted,
        "reason": reason,
        "decided_at": timezone.now().isoformat(),
    }
    return PromotionDecision(promoted, reason, details)


def _record_decision(version_id: int, decision: PromotionDecision) -> None:
    with transaction.atomic():
        v = ModelVersion.objects.select_for_update().get(pk=version_id)
        v.metrics = {**v.metrics, "promotion": decision.details}
        v.notes = "" if decision.promoted else decision.reason
        v.save(update_fields=["metrics", "notes"])
