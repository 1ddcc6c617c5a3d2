"""Rate limits (DRF throttles) and the sign-in lockout, counted in Redis across every process.

DRF's own throttles keep a request history in Django's cache with a read-modify-write that is not atomic
across processes and raises when the cache is down; these count with INCR in a fixed window (atomic, one
round trip) and fail open: with Redis down a request is let through (logged), never answered 500.

- `SignInThrottle` (token endpoint, per client address) and `ScoringThrottle` (ranked matches and pair
  scores, per user): THROTTLE_RATES in settings, "<count>/<second|minute|hour>".
- Lockout: after SIGNIN_LOCKOUT_FAILURES wrong passwords for one username within
  SIGNIN_LOCKOUT_SECONDS, that username gets 429 (with Retry-After) without its password being checked
  until the window ends; a successful sign-in clears the count.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


class _FailFastRedis:
    """Short timeouts, no retries; after an error Redis is left alone for a few seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: redis.Redis | None = None
        self._url: str | None = None
        self._down_until = 0.0

    def get(self) -> redis.Redis | None:
        if time.monotonic() < self._down_until:
            return None
        with self._lock:
            if self._client is None or self._url != settings.REDIS_URL:
                self._url = settings.REDIS_URL
                self._client = redis.Redis.from_url(
                    self._url,
                    socket_connect_timeout=0.1,
                    socket_timeout=0.2,
                    retry=Retry(NoBackoff(), 0),
                    health_check_interval=0,
                )
            return self._client

    def failed(self, exc: Exception) -> None:
        if time.monotonic() >= self._down_until:
            log.warning("rate limits unavailable (%s); letting requests through", exc)
        self._down_until = time.monotonic() + 5.0


_redis = _FailFastRedis()


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


def _count(key: str, window: int) -> tuple[int, int] | None:
    """INCR `key` in the current window: (count, seconds left in the window), or None when Redis is down."""
    client = _redis.get()
    if client is None:
        return None
    now = int(time.time())
    bucket = f"{key}:{now // window}"
    try:
        pipe = client.pipeline()
        pipe.incr(bucket)
        pipe.expire(bucket, window + 1)
        count, _ = pipe.execute()
    except redis.RedisError as exc:
        _redis.failed(exc)
        return None
    return int(count), window - now % window


class RedisRateThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def ident_of(self, request) -> str:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        rate = settings.THROTTLE_RATES.get(self.scope)
        if not rate:
            return True
        limit, window = parse_rate(rate)
        counted = _count(f"tandem:throttle:{self.scope}:{self.ident_of(request)}", window)
        if counted is None or counted[0] <= limit:
            return True
        self.wait_seconds = counted[1]
        return False

    def wait(self) -> float | None:
        return self.wait_seconds


class SignInThrottle(RedisRateThrottle):
    scope = "signin"

    def ident_of(self, request) -> str:
        return self.get_ident(request)


class ScoringThrottle(RedisRateThrottle):
    scope = "scoring"

    def ident_of(self, request) -> str:
        user = getattr(request, "user", None)
        return (
            f"user-{user.pk}"
            if user is not None and user.is_authenticated
            else f"ip-{self.get_ident(request)}"
        )


# --------------------------------------------------------------------------------------- lockout
def _lockout_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"tandem:signin:failures:{digest}"


def lockout_remaining(username: str) -> int:
    """Seconds the username stays locked (0: not locked, or Redis down)."""
    client = _redis.get()
    if client is None or not username:
        return 0
    try:
        pipe = client.pipeline()
        pipe.get(_lockout_key(username))
        pipe.ttl(_lockout_key(username))
        failures, ttl = pipe.execute()
    except redis.RedisError as exc:
        _redis.failed(exc)
        return 0
    if failures is None or int(failures) < settings.SIGNIN_LOCKOUT_FAILURES:
        return 0
    return max(int(ttl), 1)


def record_failure(username: str) -> None:
    client = _redis.get()
    if client is None or not username:
        return
    key = _lockout_key(username)
    try:
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.expire(key, settings.SIGNIN_LOCKOUT_SECONDS, nx=True)
        pipe.execute()
    except redis.RedisError as exc:
        _redis.failed(exc)


def clear_failures(username: str) -> None:
    client = _redis.get()
    if client is None or not username:
        return
    try:
        client.delete(_lockout_key(username))
    except redis.RedisError as exc:
        _redis.failed(exc)
