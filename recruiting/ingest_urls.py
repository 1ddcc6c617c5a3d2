"""/api/ routes for resume upload and bulk import."""

from django.urls import path

from recruiting.apis import imports, uploads

urlpatterns = [
    path("resumes/upload/", uploads.ResumeUploadApi.as_view(), name="resume-upload"),
    path("imports/", imports.ImportApi.as_view(), name="import-create"),
]
