"""/api/ routes of the matching app."""

from django.urls import path

from matching.apis import matches, training

urlpatterns = [
    path("jobs/<int:pk>/candidates/", matches.JobCandidatesApi.as_view(), name="job-candidates"),
    path("resumes/<int:pk>/jobs/", matches.ResumeJobsApi.as_view(), name="resume-jobs"),
    path("match/score", matches.MatchScoreApi.as_view(), name="match-score"),
    path("training-runs/", training.TrainingRunListApi.as_view(), name="training-run-list"),
    path("training-runs/<int:pk>/", training.TrainingRunDetailApi.as_view(), name="training-run-detail"),
    path("model-versions/", training.ModelVersionListApi.as_view(), name="model-version-list"),
    path(
        "model-versions/rollback/", training.ModelVersionRollbackApi.as_view(), name="model-version-rollback"
    ),
    path("model-versions/<int:pk>/", training.ModelVersionDetailApi.as_view(), name="model-version-detail"),
    path(
        "model-versions/<int:pk>/activate/",
        training.ModelVersionActivateApi.as_view(),
        name="model-version-activate",
    ),
]
