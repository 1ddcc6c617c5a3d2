"""/api/ routes of the recruiting app: token auth, CRUD, resume upload and bulk import."""

from django.urls import path

from recruiting.apis import (
    auth,
    candidates,
    imports,
    interactions,
    invitations,
    jobs,
    organizations,
    resumes,
    uploads,
)

urlpatterns = [
    path("auth/token/", auth.TokenObtainApi.as_view(), name="auth-token"),
    path("auth/me/", auth.MeApi.as_view(), name="auth-me"),
    path("organizations/", organizations.OrganizationListApi.as_view(), name="organization-list"),
    path(
        "organizations/<int:pk>/", organizations.OrganizationDetailApi.as_view(), name="organization-detail"
    ),
    path("organizations/<int:org_pk>/members/", organizations.MemberListApi.as_view(), name="member-list"),
    path(
        "organizations/<int:org_pk>/members/<int:user_pk>/",
        organizations.MemberDetailApi.as_view(),
        name="member-detail",
    ),
    path(
        "organizations/<int:org_pk>/invitations/",
        invitations.InvitationListApi.as_view(),
        name="invitation-list",
    ),
    path(
        "organizations/<int:org_pk>/invitations/<int:pk>/",
        invitations.InvitationDetailApi.as_view(),
        name="invitation-detail",
    ),
    path(
        "organizations/<int:org_pk>/leave/",
        invitations.OrganizationLeaveApi.as_view(),
        name="organization-leave",
    ),
    path("invitations/accept/", invitations.InvitationAcceptApi.as_view(), name="invitation-accept"),
    path("jobs/", jobs.JobListApi.as_view(), name="job-list"),
    path("jobs/<int:pk>/", jobs.JobDetailApi.as_view(), name="job-detail"),
    path("candidates/", candidates.CandidateListApi.as_view(), name="candidate-list"),
    path("candidates/<int:pk>/", candidates.CandidateDetailApi.as_view(), name="candidate-detail"),
    path("resumes/", resumes.ResumeListApi.as_view(), name="resume-list"),
    path("resumes/upload/", uploads.ResumeUploadApi.as_view(), name="resume-upload"),
    path("resumes/<int:pk>/", resumes.ResumeDetailApi.as_view(), name="resume-detail"),
    path("interactions/", interactions.InteractionListApi.as_view(), name="interaction-list"),
    path("interactions/<int:pk>/", interactions.InteractionDetailApi.as_view(), name="interaction-detail"),
    path("imports/", imports.ImportApi.as_view(), name="import-create"),
    path("imports/<int:pk>/", imports.ImportDetailApi.as_view(), name="import-detail"),
]
