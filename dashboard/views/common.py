"""What every dashboard view shares: the page context, the role checks, the HTMX-or-redirect answer."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect

from recruiting import selectors as rsel


def recruiter_required(view):
    """Pages for members of an organization; anyone else gets 403 (signed-in) or the sign-in page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        if not rsel.is_recruiter(request.user):
            raise PermissionDenied("This page is for recruiters.")
        return view(request, *args, **kwargs)

    return wrapped


def post_only(request: HttpRequest) -> HttpResponse | None:
    """405 for anything but POST; called after the object lookup, so an object outside the user's scope
    answers 404 whatever the method."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return None


def back_to(url: str, params: dict | None = None) -> HttpResponse:
    return redirect(f"{url}?{urlencode(params, doseq=True)}" if params else url)


def ensure_may_change(queryset, obj) -> None:
    """`recruiting.permissions.ensure_in` (the API's 403 check), answered as the page's 403."""
    from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied

    from recruiting import permissions

    try:
        permissions.ensure_in(queryset, obj)
    except ApiPermissionDenied as exc:
        raise PermissionDenied(str(exc.detail)) from exc
