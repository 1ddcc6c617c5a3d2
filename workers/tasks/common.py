"""What the task modules share: which errors are transient, and the retry backoff."""

from __future__ import annotations

import random

from django.db import InterfaceError, OperationalError

try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError:  # pragma: no cover
    RedisConnectionError = RedisTimeoutError = OSError

# Worth retrying: the database or Redis went away for a moment. Everything else is a real failure.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    TimeoutError,
)


def backoff(retries: int, base: float = 5.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: 5 s, 10 s, 20 s ... capped."""
    return random.uniform(0.5, 1.0) * min(cap, base * (2**retries))
