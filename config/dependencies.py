"""A dependency that is down answers a fast JSON 503 with Retry-After, never an HTML 500 or a hung request.

`DependencyGuardMiddleware` turns PostgreSQL, Redis and broker connection errors raised anywhere in a request
into `503 {"detail", "dependency"}` with `Retry-After`. After PostgreSQL refused a connection, requests of this
process are answered 503 at once for DATABASE_DOWN_RETRY_SECONDS (one connect timeout per few seconds per
process, not one per request); `/healthz` is never refused.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from kombu.exceptions import OperationalError as BrokerError

log = logging.getLogger(__name__)

_db_down_until = 0.0
ALWAYS_SERVED = ("/healthz",)


def dependency_of(exc: BaseException) -> str | None:
    """'database', 'redis' or 'broker' when `exc` says that dependency is unreachable, else None."""
    if isinstance(exc, OperationalError | InterfaceError):
        return "database"
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return "redis"
    if isinstance(exc, BrokerError):
        return "broker"
    return None


def _lost_connection(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "connect" in text or "server closed" in text or "timeout expired" in text


def unavailable(dependency: str) -> JsonResponse:
    retry_after = int(getattr(settings, "DEPENDENCY_RETRY_AFTER_SECONDS", 5))
    response = JsonResponse(
        {"detail": f"Service temporarily unavailable ({dependency}); retry later.", "dependency": dependency},
        status=503,
    )
    response["Retry-After"] = str(retry_after)
    return response


def note_failure(dependency: str, exc: BaseException) -> None:
    global _db_down_until
    if dependency == "database" and _lost_connection(exc):
        if time.monotonic() >= _db_down_until:
            log.warning("database unreachable (%s); answering 503", exc)
        _db_down_until = time.monotonic() + float(getattr(settings, "DATABASE_DOWN_RETRY_SECONDS", 2.0))


def database_recently_down() -> bool:
    return time.monotonic() < _db_down_until


def reset() -> None:
    global _db_down_until
    _db_down_until = 0.0


class DependencyGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if database_recently_down() and not request.path.startswith(ALWAYS_SERVED):
            return unavailable("database")
        return self.get_response(request)

    def process_exception(self, request, exc):
        dependency = dependency_of(exc)
        if dependency is None:
            return None
        note_failure(dependency, exc)
        return unavailable(dependency)
