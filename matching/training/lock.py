"""One training at a time: a Redis lock whose value is the run id, with an expiry that progress writes extend.

Eager mode (`make demo`) has no Redis: a process-local dict stands in for it.
"""

from __future__ import annotations

import threading

from django.conf import settings
from redis.exceptions import LockError

from config.celery import runs_eagerly
from matching.redis_client import redis_client


class TrainingLock:
    """redis-py Lock whose token is the run id, so any process can tell who holds it and extend/release it."""

    def __init__(self, client=None):
        self.client = client or redis_client()
        self.key = settings.TRAINING_LOCK_KEY
        self.ttl = settings.TRAINING_LOCK_TTL

    def _lock(self, run_id: int):
        lock = self.client.lock(self.key, timeout=self.ttl, blocking=False)
        lock.local.token = str(run_id).encode()
        return lock

    def holder(self) -> int | None:
        value = self.client.get(self.key)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def acquire(self, run_id: int) -> bool:
        """Take the lock for `run_id`, or keep (and extend) it when `run_id` already holds it."""
        lock = self.client.lock(self.key, timeout=self.ttl, blocking=False)
        if lock.acquire(blocking=False, token=str(run_id)):
            return True
        return self.extend(run_id)

    def extend(self, run_id: int) -> bool:
        try:
            return bool(self._lock(run_id).reacquire())
        except LockError:
            return False

    def release(self, run_id: int) -> bool:
        try:
            self._lock(run_id).release()
            return True
        except LockError:
            return False


class LocalTrainingLock:
    """The training lock for eager mode (`make demo`): tasks run inside this one process, so a dict is the
    whole story and no Redis server has to be running."""

    _holders: dict[str, int] = {}
    _mutex = threading.Lock()

    def __init__(self):
        self.key = settings.TRAINING_LOCK_KEY

    def holder(self) -> int | None:
        return self._holders.get(self.key)

    def acquire(self, run_id: int) -> bool:
        with self._mutex:
            current = self._holders.setdefault(self.key, run_id)
        return current == run_id

    def extend(self, run_id: int) -> bool:
        return self.holder() == run_id

    def release(self, run_id: int) -> bool:
        with self._mutex:
            if self._holders.get(self.key) != run_id:
                return False
            del self._holders[self.key]
        return True


def training_lock() -> TrainingLock | LocalTrainingLock:
    return LocalTrainingLock() if runs_eagerly() else TrainingLock()
