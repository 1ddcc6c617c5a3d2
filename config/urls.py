from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from matching.apis.health import LivenessApi, ReadinessApi

urlpatterns = [
    path("healthz", LivenessApi.as_view(), name="healthz"),
    path("readyz", ReadinessApi.as_view(), name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # organizations, members, jobs, candidates, resumes (and uploads), interactions, bulk imports
    path("api/", include("recruiting.urls")),
    # ranked candidates and jobs, pair scores, training runs, model versions
    path("api/", include("matching.urls")),
    # the recruiter dashboard and the candidate's pages (server-rendered, sign-in required)
    path("", include("dashboard.urls")),
]
