"""What the task modules share: which errors are transient, the retry backoff, and the one retry helper."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

from celery import Task
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
T = TypeVar("T")

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


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_with_retry(
    task: Task,
    work: Callable[[], T],
    *,
    max_retries: int | None = None,
    on_failure: Callable[[str], None] | None = None,
    what: str = "task",
) -> T:
    """Run `work`. A transient error is retried with backoff; after `max_retries` retries (None: as the task
    allows) or on any other error, `on_failure(error text)` records the failure and the error is raised."""
    try:
        return work()
    except TRANSIENT_ERRORS as exc:
        if max_retries is not None and task.request.retries >= max_retries:
            if on_failure is not None:
                on_failure(f"gave up after {task.request.retries} retries: {error_text(exc)}")
            raise
        log.warning("%s: transient error, retrying: %s", what, exc)
        raise task.retry(exc=exc, countdown=backoff(task.request.retries)) from exc
    except Exception as exc:
        if on_failure is not None:
            log.exception("%s failed", what)
            on_failure(error_text(exc))
        raise
