"""A job's shortlist: the ranked candidates of `matching.ranking` (what `GET /api/jobs/{id}/candidates/`
returns) with one-click decisions recorded by `recruiting.services.interaction_record`, as the API does."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django_htmx.http import reswap, retarget
from rest_framework import serializers

from dashboard import selectors
from dashboard.forms import DEFAULT_EXCLUDE, ShortlistFilterForm
from dashboard.views.common import back_to, post_only, recruiter_required
from matching import ranking
from matching import selectors as msel
from matching.apis.matches import MatchQuerySerializer
from matching.filters import EXCLUDE_KINDS
from recruiting import permissions, services
from recruiting import selectors as rsel

DECISIONS = dict(selectors.ROW_ACTIONS)


def _job_or_404(user, job_pk: int):
    job = msel.job_for_candidates(user, job_pk)
    if job is None:
        raise Http404("No such job.")
    return job


def _filter_form(params: QueryDict) -> ShortlistFilterForm:
    """The filters as submitted; on a first visit, the rejected and hired candidates are hidden."""
    if "filtered" in params:
        return ShortlistFilterForm(params)
    data = params.copy()
    data.setlist("exclude", list(DEFAULT_EXCLUDE))
    return ShortlistFilterForm(data)


def _ranking(job, user, form: ShortlistFilterForm) -> tuple[dict | None, dict]:
    """(the API's response body, errors by field) for the form's query."""
    if not form.is_valid():
        return None, form.errors
    query = MatchQuerySerializer(data={k: v for k, v in form.api_query().items() if v != ""})
    if not query.is_valid():
        return None, query.errors
    body = ranking.ranked_candidates(
        job=job, user=user, k=query.validated_data["k"], filters=query.to_filters()
    )
    return body, {}


def _flags(item: dict) -> list[dict]:
    """The gamed-resume detector's findings on a ranked row ([{kind, reason}]), when the row carries them."""
    return list(item.get("integrity_flags") or []) if item.get("flagged", True) else []


@recruiter_required
def job_shortlist(request: HttpRequest, job_pk: int) -> HttpResponse:
    job = _job_or_404(request.user, job_pk)
    form = _filter_form(request.GET)
    body, errors = _ranking(job, request.user, form)
    items = list(body["results"]) if body else []
    stages = selectors.pair_stages(job=job, resume_ids=[i["resume"] for i in items])
    rows = [{**item, "stage": stages.get(item["resume"], ""), "flags": _flags(item)} for item in items]
    context = {
        "job": job,
        "form": form,
        "errors": errors,
        "body": body,
        "rows": rows,
        "counts": selectors.stage_counts([job.pk])[job.pk],
        "actions": selectors.ROW_ACTIONS,
        "excluded": form.cleaned_data.get("exclude", []) if form.is_valid() else [],
    }
    return render(request, "dashboard/shortlist.html", context, status=400 if errors else 200)


def _excluded_by(kind: str, exclude: list[str]) -> bool:
    return any(kind in EXCLUDE_KINDS.get(word, ()) for word in exclude)


@recruiter_required
def record_decision(request: HttpRequest, job_pk: int, resume_pk: int) -> HttpResponse:
    """Shortlist, interview, hire or reject one ranked candidate: an interaction, as `POST /api/interactions/`."""
    job = _job_or_404(request.user, job_pk)
    resume = rsel.resumes_visible_to(request.user).select_related("candidate").filter(pk=resume_pk).first()
    if resume is None:
        raise Http404("No such resume.")
    if (refusal := post_only(request)) is not None:
        return refusal
    kind = request.POST.get("kind", "")
    try:
        if kind not in DECISIONS:
            raise ValidationError({"kind": f"Choose one of: {', '.join(DECISIONS)}."})
        permissions.interaction_check(user=request.user, job=job, resume=resume, kind=kind)
        services.interaction_record(job=job, resume=resume, kind=kind, actor=request.user)
    except (ValidationError, serializers.ValidationError) as exc:
        response = HttpResponse(_error_text(exc), status=400, content_type="text/plain; charset=utf-8")
        return reswap(retarget(response, "#announce"), "innerHTML") if request.htmx else response
    exclude = request.POST.getlist("exclude")
    if not request.htmx:
        return back_to(
            reverse("dashboard:job", kwargs={"job_pk": job.pk}), {"filtered": 1, "exclude": exclude}
        )
    context = {
        "job": job,
        "resume": resume,
        "stage": selectors.STAGE_OF_KIND[kind],
        "label": DECISIONS[kind],
        "removed": _excluded_by(kind, exclude),
        "counts": selectors.stage_counts([job.pk])[job.pk],
    }
    response = render(request, "dashboard/_decision.html", context)
    # A row that stays keeps its place; only its stage and the counts change (out-of-band swaps).
    return response if context["removed"] else reswap(response, "none")


def _error_text(exc) -> str:
    detail = getattr(exc, "message_dict", None) or getattr(exc, "detail", None) or str(exc)
    if isinstance(detail, dict):
        return "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in detail.items())
    return str(detail)
