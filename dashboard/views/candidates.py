"""A candidate: their resumes as parsed, the uploaded files, the jobs each fits best, their history, and
erasure with confirmation (`recruiting.services.candidate_erase`, as `DELETE /api/candidates/{id}/`)."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard import selectors
from dashboard.views.common import ensure_may_change, post_only, recruiter_required
from matching import ranking
from matching import selectors as msel
from recruiting import selectors as rsel
from recruiting import services

BEST_JOBS = 5


def _candidate_or_404(user, candidate_pk: int):
    candidate = rsel.candidates_visible_to(user).filter(pk=candidate_pk).first()
    if candidate is None:
        raise Http404("No such candidate.")
    return candidate


@recruiter_required
def candidate_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    candidates = selectors.candidate_list(user=request.user, query=query)
    return render(request, "dashboard/candidates.html", {"candidates": candidates, "q": query})


@recruiter_required
def candidate_detail(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    candidate = _candidate_or_404(request.user, candidate_pk)
    resumes = list(rsel.resumes_visible_to(request.user).filter(candidate=candidate).order_by("-created_at"))
    best = {}
    for resume in resumes:
        if msel.resume_for_jobs(request.user, resume.pk) is not None:
            best[resume.pk] = ranking.ranked_jobs(resume=resume, user=request.user, k=BEST_JOBS)
    context = {
        "candidate": candidate,
        "resumes": [(r, best.get(r.pk)) for r in resumes],
        "history": selectors.interaction_history(user=request.user, resumes=resumes),
        "may_erase": rsel.candidates_manageable_by(request.user).filter(pk=candidate.pk).exists(),
    }
    return render(request, "dashboard/candidate.html", context)


@recruiter_required
def resume_file(request: HttpRequest, resume_pk: int) -> HttpResponse:
    """The uploaded file of a resume the user sees (as the API's `source_file` link)."""
    resume = rsel.resumes_visible_to(request.user).filter(pk=resume_pk).first()
    if resume is None or not resume.source_file:
        raise Http404("No such file.")
    name = resume.source_file_name or resume.source_file.name.rsplit("/", 1)[-1]
    return FileResponse(resume.source_file.open("rb"), as_attachment=True, filename=name)


@recruiter_required
def candidate_erase(request: HttpRequest, candidate_pk: int) -> HttpResponse:
    """GET asks for confirmation; POST erases the person, their resumes, files and everything derived."""
    candidate = _candidate_or_404(request.user, candidate_pk)
    ensure_may_change(rsel.candidates_manageable_by(request.user), candidate)
    if request.method == "GET":
        return render(request, "dashboard/candidate_erase.html", {"candidate": candidate})
    if (refusal := post_only(request)) is not None:
        return refusal
    name = str(candidate)
    services.candidate_erase(candidate=candidate)
    return render(request, "dashboard/candidate_erased.html", {"name": name})
