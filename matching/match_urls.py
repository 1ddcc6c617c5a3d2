"""/api/ routes for ranked matches (views: matching.match_apis)."""

from django.urls import path

from matching import match_apis

urlpatterns = [
    path("jobs/<int:pk>/candidates/", match_apis.JobCandidatesApi.as_view(), name="job-candidates"),
    path("resumes/<int:pk>/jobs/", match_apis.ResumeJobsApi.as_view(), name="resume-jobs"),
    path("match/score", match_apis.MatchScoreApi.as_view(), name="match-score"),
]
