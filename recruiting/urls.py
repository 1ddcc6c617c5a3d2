"""/api/ routes for the recruiting CRUD and token auth (uploads and imports: `ingest_urls`)."""

from django.urls import path

from recruiting import apis

urlpatterns = [
    path("auth/token/", apis.TokenObtainApi.as_view(), name="auth-token"),
    path("organizations/", apis.OrganizationListApi.as_view(), name="organization-list"),
    path("organizations/<int:pk>/", apis.OrganizationDetailApi.as_view(), name="organization-detail"),
    path("organizations/<int:org_pk>/members/", apis.MemberListApi.as_view(), name="member-list"),
    path(
        "organizations/<int:org_pk>/members/<int:user_pk>/",
        apis.MemberDetailApi.as_view(),
        name="member-detail",
    ),
    path("jobs/", apis.JobListApi.as_view(), name="job-list"),
    path("jobs/<int:pk>/", apis.JobDetailApi.as_view(), name="job-detail"),
    path("candidates/", apis.CandidateListApi.as_view(), name="candidate-list"),
    path("candidates/<int:pk>/", apis.CandidateDetailApi.as_view(), name="candidate-detail"),
    path("resumes/", apis.ResumeListApi.as_view(), name="resume-list"),
    path("resumes/<int:pk>/", apis.ResumeDetailApi.as_view(), name="resume-detail"),
    path("interactions/", apis.InteractionListApi.as_view(), name="interaction-list"),
    path("interactions/<int:pk>/", apis.InteractionDetailApi.as_view(), name="interaction-detail"),
]
