"""A dependency that is down answers a fast JSON 503 with Retry-After, never an HTML 500 or a hung request.

`DependencyGuardMiddleware` turns PostgreSQL, Redis and broker connection errors raised anywhere in a request
into `503 {"detail", "dependency"}` with `Retry-After`. After PostgreSQL refused a connection, requests of this
process are answered 503 at once for DATABASE_DOWN_RETRY_SECONDS (one connect timeout per few seconds per
process, not one per request); `/healthz` is never refused.
"""

from __future__ import annotations

import logging
import socket
import struct
import time

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from kombu.exceptions import OperationalError as BrokerError

log = logging.getLogger(__name__)

_db_down_until = 0.0
_db_failed_at = -1e9  # the last time PostgreSQL was found down (a connection error, a failed probe)
ALWAYS_SERVED = ("/healthz",)
# PostgreSQL's SSLRequest: the postmaster answers one byte ("N" or "S") before any authentication.
_SSL_REQUEST = struct.pack("!ii", 8, 80877103)


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
    if dependency == "database" and _lost_connection(exc):
        mark_database_down(str(exc))


def mark_database_down(reason: str) -> None:
    """Answer this process's requests 503 at once for DATABASE_DOWN_RETRY_SECONDS."""
    global _db_down_until, _db_failed_at
    now = time.monotonic()
    if now >= _db_down_until:
        log.warning("database unreachable (%s); answering 503", reason)
    _db_failed_at = now
    _db_down_until = now + float(getattr(settings, "DATABASE_DOWN_RETRY_SECONDS", 2.0))


def database_recently_down() -> bool:
    return time.monotonic() < _db_down_until


PROBE_DEFAULTS = {"after": 0.3, "timeout": 0.4, "every": 0.5, "suspect": 30.0}


def probe_setting(name: str) -> float:
    """DATABASE_PROBE[name] (seconds; settings.py says what each is)."""
    return float(getattr(settings, "DATABASE_PROBE", {}).get(name, PROBE_DEFAULTS[name]))


def database_address(alias: str = "default") -> tuple[int, object] | None:
    """(socket family, address) of the PostgreSQL server of `alias`, or None when it is not PostgreSQL."""
    from django.db import connections

    db = connections[alias].settings_dict
    if "postgresql" not in db.get("ENGINE", ""):
        return None
    host, port = db.get("HOST") or "/var/run/postgresql", int(db.get("PORT") or 5432)
    if host.startswith("/"):
        return socket.AF_UNIX, f"{host}/.s.PGSQL.{port}"
    return socket.AF_INET6 if ":" in host else socket.AF_INET, (host, port)


def probe_database(timeout: float, alias: str = "default") -> bool:
    """Whether the PostgreSQL server answers a new connection's first message within `timeout` seconds.

    Not a query: an SSLRequest, which the server answers before authentication, then the connection is
    dropped (the server logs nothing for it). A frozen server (SIGSTOP, a hung VM) accepts the TCP connection in
    its kernel and never answers; a stopped one refuses it. libpq cannot do this under 2 s (connect_timeout's
    floor), hence the raw socket."""
    address = database_address(alias)
    if address is None:
        return True
    family, where = address
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(timeout)
            probe.connect(where)
            probe.sendall(_SSL_REQUEST)
            return len(probe.recv(1)) == 1
    except OSError:
        return False


def database_down_now() -> bool:
    """True while this process answers 503 for the database. Just after that (DATABASE_PROBE["suspect"]), the
    server is probed first (DATABASE_PROBE["timeout"]), so a request does not spend libpq's 2 s connect
    timeout on a server that is still frozen."""
    global _db_failed_at
    if database_recently_down():
        return True
    if time.monotonic() - _db_failed_at > probe_setting("suspect"):
        return False
    if probe_database(probe_setting("timeout")):
        _db_failed_at = -1e9  # it answers again: no more probes until the next failure
        return False
    mark_database_down("no answer to a probe")
    return True


def reset() -> None:
    global _db_down_until, _db_failed_at
    _db_down_until, _db_failed_at = 0.0, -1e9


class DependencyGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(ALWAYS_SERVED) and database_down_now():
            return unavailable("database")
        return self.get_response(request)

    def process_exception(self, request, exc):
        dependency = dependency_of(exc)
        if dependency is None:
            return None
        note_failure(dependency, exc)
        return unavailable(dependency)
