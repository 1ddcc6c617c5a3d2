"""Model registry and training runs (the match endpoints live in matching/match_urls.py)."""

from rest_framework.routers import SimpleRouter

from matching.apis import ModelVersionViewSet, TrainingRunViewSet

router = SimpleRouter()
router.register("training-runs", TrainingRunViewSet, basename="training-run")
router.register("model-versions", ModelVersionViewSet, basename="model-version")

urlpatterns = router.urls
