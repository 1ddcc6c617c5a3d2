"""Template context for every dashboard page: which parts of the navigation the user may use."""

from __future__ import annotations

from dashboard.authority import api_allows
from matching.apis.training import ModelVersionListApi
from recruiting import selectors as rsel


def navigation(request) -> dict:
    """Three small queries per dashboard page; nothing for the API or the admin."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path_info.startswith(("/api/", "/admin/")):
        return {}
    return {
        "nav_recruiter": rsel.is_recruiter(user),
        "nav_candidate": rsel.candidate_of(user) is not None,
        "nav_models": api_allows(ModelVersionListApi, user),
    }
