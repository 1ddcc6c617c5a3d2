"""The Redis clients of the matching app, one per way of failing.

- `redis_client()`: for the training lock and the embedding debounce flag. Patient timeouts: a lock that
  cannot be read must fail the operation (the caller retries), never be guessed.
- `ResilientRedis`: for the match cache. Short timeouts, no retries, and after an error Redis is not tried
  again for MATCH_CACHE_RETRY_SECONDS: a dead Redis costs one timeout per few seconds per process and the
  caller answers uncached.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    """The process's client for REDIS_URL (locks, flags)."""
    global _client
    if _client is None:
        timeout = float(getattr(settings, "REDIS_LOCK_SOCKET_TIMEOUT", 3.0))
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=1)
    return _client


_quick: redis.Redis | None = None


def quick_redis_client() -> redis.Redis:
    """The same Redis for a web request that must not wait on it (starting a training run takes the lock):
    0.2 s to connect, 0.3 s per reply, no retries; the caller falls back (a run queued without the lock)."""
    global _quick
    if _quick is None:
        _quick = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=0.3,
            socket_connect_timeout=0.2,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
        )
    return _quick


def _cache_url() -> str:
    return getattr(settings, "MATCH_CACHE_URL", None) or settings.REDIS_URL


class ResilientRedis:
    """A client that gives up fast and stays away for a while after an error (see the module docstring)."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self.log = logger  # warnings go under the caller's name ("match cache unavailable ...")
        self._lock = threading.Lock()
        self._url: str | None = None
        self._client: redis.Redis | None = None
        self._down_until = 0.0
        self.errors = 0

    def get(self) -> redis.Redis | None:
        """A Redis client, or None while Redis is considered down."""
        if time.monotonic() < self._down_until:
            return None
        url = _cache_url()
        with self._lock:
            if self._client is None or url != self._url:
                self._client = redis.Redis.from_url(
                    url,
                    socket_connect_timeout=float(getattr(settings, "MATCH_CACHE_CONNECT_TIMEOUT", 0.05)),
                    socket_timeout=float(getattr(settings, "MATCH_CACHE_SOCKET_TIMEOUT", 0.1)),
                    retry=Retry(NoBackoff(), 0),
                    retry_on_timeout=False,
                    health_check_interval=0,
                )
                self._url = url
                self._down_until = 0.0
            return self._client

    def failed(self, what: str, exc: Exception) -> None:
        self.errors += 1
        first = self._down_until == 0.0 or time.monotonic() >= self._down_until
        self._down_until = time.monotonic() + float(getattr(settings, "MATCH_CACHE_RETRY_SECONDS", 5.0))
        if first:
            self.log.warning("match cache unavailable (%s: %s); answering uncached", what, exc)

    def reset(self) -> None:
        with self._lock:
            self._client = None
            self._url = None
            self._down_until = 0.0
