"""Jobs: the list with search, filters and stage counts; create and edit (the API's job services)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from dashboard import selectors
from dashboard.forms import JobCreateForm, JobFilterForm, JobForm
from dashboard.views.common import ensure_may_change, recruiter_required
from recruiting import selectors as rsel
from recruiting import services
from recruiting.models import JOB_FIELDS

JOBS_PER_PAGE = 25


def home(request: HttpRequest) -> HttpResponse:
    """Recruiters land on their jobs, job seekers on their recommendations."""
    if not request.user.is_authenticated:
        return redirect("dashboard:login")
    if rsel.is_recruiter(request.user):
        return redirect("dashboard:jobs")
    return redirect("dashboard:my-jobs")


def _filter_params(form: JobFilterForm) -> dict:
    """Valid filters only, in the API's query names (a bad value is shown on the form, not applied)."""
    if not form.is_valid():
        return {}
    params = {k: v for k, v in form.cleaned_data.items() if v not in ("", None, [])}
    return params


@recruiter_required
def job_list(request: HttpRequest) -> HttpResponse:
    form = JobFilterForm(request.GET or None)
    jobs = selectors.job_list(user=request.user, params=_filter_params(form))
    page = Paginator(jobs, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    counts = selectors.stage_counts(job.pk for job in page)
    rows = [(job, counts[job.pk]) for job in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "dashboard/jobs.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "stages": [s for s, _ in selectors.STAGES],
            "query": query.urlencode(),
        },
    )


@recruiter_required
def job_create(request: HttpRequest) -> HttpResponse:
    form = JobCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.job_create(
                organization=form.cleaned_data["organization"], data=form.service_data()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return redirect("dashboard:job", job_pk=job.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "dashboard/job_form.html", {"form": form, "job": None}, status=status)


@recruiter_required
def job_edit(request: HttpRequest, job_pk: int) -> HttpResponse:
    job = rsel.jobs_visible_to(request.user).filter(pk=job_pk).first()
    if job is None:
        raise Http404("No such job.")
    ensure_may_change(rsel.jobs_manageable_by(request.user), job)
    initial = {name: getattr(job, name) for name in JOB_FIELDS}
    form = JobForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.job_update(job=job, data=form.service_data())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return redirect(reverse("dashboard:job", kwargs={"job_pk": job.pk}))
    status = 400 if request.method == "POST" else 200
    return render(request, "dashboard/job_form.html", {"form": form, "job": job}, status=status)
