"""Analytics: the funnel from view to hire and the time in each stage, per organization and per job."""

from __future__ import annotations

from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dashboard import analytics, plots, selectors
from dashboard.views.common import recruiter_required
from matching import selectors as msel
from recruiting import selectors as rsel
from recruiting.models import Interaction

CHARTS = ("funnel", "durations")
TOP_JOBS = 20


def _org_or_404(user, org_pk: int):
    org = rsel.organizations_of(user).filter(pk=org_pk).first()
    if org is None:
        raise Http404("No such organization.")
    return org


def _chart(title: str, data: analytics.Funnel, chart: str) -> HttpResponse:
    names = [s.stage for s in data.stages]
    if chart == "funnel":
        body = plots.funnel(f"{title}: funnel", names, [s.reached for s in data.stages])
    else:
        body = plots.stage_durations(
            f"{title}: time in stage", names[:-1], [s.median_days for s in data.stages[:-1]]
        )
    return HttpResponse(body, content_type="image/svg+xml")


@recruiter_required
def analytics_home(request: HttpRequest) -> HttpResponse:
    org = rsel.organizations_of(request.user).order_by("name").first()
    return redirect("dashboard:org-analytics", org_pk=org.pk)


@recruiter_required
def org_analytics(request: HttpRequest, org_pk: int) -> HttpResponse:
    org = _org_or_404(request.user, org_pk)
    events = Interaction.objects.filter(job__organization=org)
    busiest = list(
        rsel.jobs_manageable_by(request.user)
        .filter(organization=org)
        .annotate(events=Count("interactions"))
        .order_by("-events", "pk")[:TOP_JOBS]
    )
    counts = selectors.stage_counts(j.pk for j in busiest)
    context = {
        "org": org,
        "orgs": rsel.organizations_of(request.user).order_by("name"),
        "funnel": analytics.funnel(events),
        "jobs": [(j, counts[j.pk]) for j in busiest],
        "stages": [s for s, _ in selectors.STAGES],
    }
    return render(request, "dashboard/analytics.html", context)


@recruiter_required
def org_chart(request: HttpRequest, org_pk: int, chart: str) -> HttpResponse:
    org = _org_or_404(request.user, org_pk)
    if chart not in CHARTS:
        raise Http404("No such chart.")
    return _chart(org.name, analytics.funnel(Interaction.objects.filter(job__organization=org)), chart)


def _job_or_404(user, job_pk: int):
    job = msel.job_for_candidates(user, job_pk)
    if job is None:
        raise Http404("No such job.")
    return job


@recruiter_required
def job_analytics(request: HttpRequest, job_pk: int) -> HttpResponse:
    job = _job_or_404(request.user, job_pk)
    context = {"job": job, "funnel": analytics.funnel(Interaction.objects.filter(job=job))}
    return render(request, "dashboard/job_analytics.html", context)


@recruiter_required
def job_chart(request: HttpRequest, job_pk: int, chart: str) -> HttpResponse:
    job = _job_or_404(request.user, job_pk)
    if chart not in CHARTS:
        raise Http404("No such chart.")
    return _chart(job.title, analytics.funnel(Interaction.objects.filter(job=job)), chart)
