"""Readiness checks: PostgreSQL, Redis and the active model, each bounded in time.

Liveness (`/healthz`) touches nothing; readiness (`/readyz`) answers which dependency is down, so a load
balancer stops sending traffic to a process that could only answer 503.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import connection

from matching import selectors
from matching.redis_client import ResilientRedis

_redis = ResilientRedis()


@dataclass
class Readiness:
    checks: dict[str, dict] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(check["ok"] for check in self.checks.values())


def _timed(fn) -> dict:
    started = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except Exception as exc:  # a readiness probe reports any failure, it never raises
        detail, ok = f"{type(exc).__name__}: {exc}"[:200], False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "reachable"


def _redis_ping() -> str:
    client = _redis.get()
    if client is None:
        raise ConnectionError("failed recently; not retried yet")
    try:
        client.ping()
    except Exception as exc:
        _redis.failed("ping", exc)
        raise
    return "reachable"


def _model() -> str:
    active = selectors.active_model()
    if active.version is None:
        if active.notes:
            raise RuntimeError("; ".join(active.notes))
        return "zero-shot (no trained version active)"
    return f"v{active.version.version}"


def readiness() -> Readiness:
    result = Readiness()
    result.checks["database"] = _timed(_database)
    result.checks["redis"] = _timed(_redis_ping)
    result.checks["model"] = (
        _timed(_model)
        if result.checks["database"]["ok"]
        else {"ok": False, "detail": "database down", "ms": 0.0}
    )
    return result
