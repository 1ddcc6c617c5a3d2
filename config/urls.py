from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("recruiting.urls")),  # CRUD: organizations, jobs, candidates, resumes, interactions
    path("api/", include("recruiting.ingest_urls")),  # resume upload, bulk import
    path("api/", include("matching.urls")),  # ranked matches, pair scores, model versions, training runs
]
