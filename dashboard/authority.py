"""Who may use a dashboard action: asked of the API view that does the same thing, never decided here.

The model registry's rules (who reads runs and versions, who starts training, who activates or rolls back)
live on the API views' DRF permission classes. The dashboard asks those same classes, so a change of the
rules in the API changes the dashboard with it.
"""

from __future__ import annotations

from types import SimpleNamespace

from rest_framework.views import APIView


def api_allows(api_view: type[APIView], user, method: str = "GET") -> bool:
    """Whether `api_view` would let `user` through its permission checks for `method`."""
    if user is None or not user.is_authenticated:
        return False
    view = api_view()
    view.request = request = SimpleNamespace(user=user, method=method.upper())
    view.kwargs, view.args, view.format_kwarg = {}, (), None
    return all(permission.has_permission(request, view) for permission in view.get_permissions())
