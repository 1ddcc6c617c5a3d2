"""/api/ routes for resume upload and bulk import."""

from django.urls import path

from recruiting import ingest_apis

urlpatterns = [
    path("resumes/upload/", ingest_apis.ResumeUploadApi.as_view(), name="resume-upload"),
    path("imports/", ingest_apis.ImportApi.as_view(), name="import-create"),
]
