"""Models: versions with their status and held-out metrics, training runs with live progress, plots, and
the actions of the registry API (start training, activate, roll back), allowed exactly as the API allows."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dashboard import plots
from dashboard.authority import api_allows
from dashboard.views.common import post_only
from matching.apis import training as registry_api
from matching.models import ModelVersion, TrainingRun
from matching.training.activation import activate, rollback
from matching.training.errors import RegistryError
from matching.training.runs import start_training_run

HELD_OUT = ("ndcg_at_10", "recall_at_50", "mrr")
RUNS_SHOWN = 10


def _require(api_view, request: HttpRequest, method: str = "GET") -> None:
    if not api_allows(api_view, request.user, method):
        raise PermissionDenied("The registry API does not allow you this either.")


def _svg(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type="image/svg+xml")


@login_required
def models_page(request: HttpRequest) -> HttpResponse:
    _require(registry_api.ModelVersionListApi, request)
    versions = list(ModelVersion.objects.select_related("replaced").order_by("-version"))
    runs = list(TrainingRun.objects.select_related("model_version").order_by("-created_at")[:RUNS_SHOWN])
    context = {
        "versions": versions,
        "active": next((v for v in versions if v.status == ModelVersion.Status.ACTIVE), None),
        "runs": runs,
        "held_out": HELD_OUT,
        "may_train": api_allows(registry_api.TrainingRunListApi, request.user, "POST"),
        "may_switch": api_allows(registry_api.ModelVersionActivateApi, request.user, "POST"),
    }
    return render(request, "dashboard/models.html", context)


@login_required
def training_start(request: HttpRequest) -> HttpResponse:
    """Start a training run (or open the one in progress), as `POST /api/training-runs/`."""
    if (refusal := post_only(request)) is not None:
        return refusal
    _require(registry_api.TrainingRunListApi, request, "POST")
    try:
        run, _ = start_training_run(
            requested_by=request.user,
            trigger="dashboard",
            finetune_encoder=True if request.POST.get("finetune_encoder") else None,
        )
    except RegistryError as exc:
        messages.error(request, f"Training not started: {exc}")
        return redirect("dashboard:models")
    return redirect("dashboard:run", run_pk=run.pk)


def _run_or_404(request: HttpRequest, run_pk: int) -> TrainingRun:
    _require(registry_api.TrainingRunDetailApi, request)
    run = TrainingRun.objects.select_related("model_version").filter(pk=run_pk).first()
    if run is None:
        raise Http404("No such training run.")
    return run


@login_required
def run_detail(request: HttpRequest, run_pk: int) -> HttpResponse:
    run = _run_or_404(request, run_pk)
    template = "dashboard/_run_progress.html" if request.htmx else "dashboard/run.html"
    return render(request, template, {"run": run, "live": run.status in ("queued", "running")})


@login_required
def run_curves_svg(request: HttpRequest, run_pk: int) -> HttpResponse:
    run = _run_or_404(request, run_pk)
    history = run.history or []
    epochs = [h["epoch"] for h in history]
    names = sorted({name for h in history for name in h.get("losses", {})})
    losses = {name: [h.get("losses", {}).get(name) for h in history] for name in names}
    kept = {"kept (co-teaching)": [h.get("kept_fraction") for h in history]}
    if any(h.get("clean_kept_fraction") is not None for h in history):
        kept["clean kept"] = [h.get("clean_kept_fraction") for h in history]
    return _svg(plots.training_curves(f"Run {run.pk}: losses and kept fraction", epochs, losses, kept))


@login_required
def metrics_svg(request: HttpRequest) -> HttpResponse:
    _require(registry_api.ModelVersionListApi, request)
    versions = [v for v in ModelVersion.objects.order_by("version") if v.metrics]
    groups = [f"v{v.version}" for v in versions]
    series = {m: [v.metrics.get(m) for v in versions] for m in HELD_OUT}
    series.update(
        {
            f"zero-shot {m}": [(v.metrics.get("zero_shot") or {}).get(m) for v in versions]
            for m in HELD_OUT[:1]
        }
    )
    return _svg(plots.grouped_bars("Held-out metrics per version", groups, series))


@login_required
def version_activate(request: HttpRequest, version_pk: int) -> HttpResponse:
    """Activate a version, as `POST /api/model-versions/{id}/activate/` (staff only there, so here)."""
    _require(registry_api.ModelVersionActivateApi, request, "POST")
    version = ModelVersion.objects.filter(pk=version_pk).first()
    if version is None:
        raise Http404("No such version.")
    if (refusal := post_only(request)) is not None:
        return refusal
    try:
        activate(version.pk, reason=f"activated by {request.user.get_username()} (dashboard)")
        messages.success(request, f"v{version.version} is active.")
    except RegistryError as exc:
        messages.error(request, f"Not activated: {exc}")
    return redirect("dashboard:models")


@login_required
def version_rollback(request: HttpRequest) -> HttpResponse:
    """Re-activate the version the active one replaced, as `POST /api/model-versions/rollback/`."""
    _require(registry_api.ModelVersionRollbackApi, request, "POST")
    if (refusal := post_only(request)) is not None:
        return refusal
    try:
        version = rollback()
        messages.success(request, f"Rolled back to v{version.version}.")
    except RegistryError as exc:
        messages.error(request, f"Not rolled back: {exc}")
    return redirect("dashboard:models")
