"""The dashboard's pages. Every route that names an object (`*_pk`) looks it up in the user's scope first:
outside it, 404, whatever the method (tests/dashboard generate their cross-organization checks from here)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard.views import analytics, auth, candidates, ingest, jobs, registry, seeker, shortlist

app_name = "dashboard"

urlpatterns = [
    path("", jobs.home, name="home"),
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("jobs/", jobs.job_list, name="jobs"),
    path("jobs/new/", jobs.job_create, name="job-create"),
    path("jobs/<int:job_pk>/", shortlist.job_shortlist, name="job"),
    path("jobs/<int:job_pk>/edit/", jobs.job_edit, name="job-edit"),
    path("jobs/<int:job_pk>/candidates/<int:resume_pk>/decide/", shortlist.record_decision, name="decide"),
    path("jobs/<int:job_pk>/analytics/", analytics.job_analytics, name="job-analytics"),
    path("jobs/<int:job_pk>/analytics/<slug:chart>.svg", analytics.job_chart, name="job-chart"),
    path("candidates/", candidates.candidate_list, name="candidates"),
    path("candidates/<int:candidate_pk>/", candidates.candidate_detail, name="candidate"),
    path("candidates/<int:candidate_pk>/erase/", candidates.candidate_erase, name="candidate-erase"),
    path("resumes/<int:resume_pk>/file/", candidates.resume_file, name="resume-file"),
    path("upload/", ingest.resume_upload, name="upload"),
    path("import/", ingest.bulk_import, name="import"),
    path("import/<int:import_pk>/", ingest.import_job, name="import-job"),
    path("analytics/", analytics.analytics_home, name="analytics"),
    path("analytics/<int:org_pk>/", analytics.org_analytics, name="org-analytics"),
    path("analytics/<int:org_pk>/<slug:chart>.svg", analytics.org_chart, name="org-chart"),
    path("models/", registry.models_page, name="models"),
    path("models/metrics.svg", registry.metrics_svg, name="metrics-svg"),
    path("models/train/", registry.training_start, name="training-start"),
    path("models/rollback/", registry.version_rollback, name="version-rollback"),
    path("models/versions/<int:version_pk>/activate/", registry.version_activate, name="version-activate"),
    path("models/runs/<int:run_pk>/", registry.run_detail, name="run"),
    path("models/runs/<int:run_pk>/curves.svg", registry.run_curves_svg, name="run-curves-svg"),
    path("me/jobs/", seeker.my_jobs, name="my-jobs"),
]
