"""A job seeker's page: their resumes and the open jobs recommended for each, with the reasons
(`matching.ranking.ranked_jobs`, what `GET /api/resumes/{id}/jobs/` returns to them)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from matching import ranking
from matching import selectors as msel
from recruiting import selectors as rsel

RECOMMENDED = 10


@login_required
def my_jobs(request: HttpRequest) -> HttpResponse:
    candidate = rsel.candidate_of(request.user)
    resumes = list(candidate.resumes.order_by("-created_at")) if candidate else []
    recommendations = []
    for resume in resumes:
        if msel.resume_for_jobs(request.user, resume.pk) is None:
            continue
        body = ranking.ranked_jobs(resume=resume, user=request.user, k=RECOMMENDED)
        recommendations.append((resume, body))
    return render(
        request, "dashboard/my_jobs.html", {"candidate": candidate, "recommendations": recommendations}
    )
