"""One training at a time: a Redis lock whose value is the run id, with an expiry that progress writes extend.

Eager mode (`make demo`) has no Redis: a file lock under TANDEM_VAR_DIR stands in for it (one machine).
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from django.conf import settings
from redis.exceptions import LockError

from config.celery import runs_eagerly
from matching.redis_client import quick_redis_client, redis_client


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
    """The training lock for eager mode (`make demo`), without Redis: an exclusive `flock` on a file under
    TANDEM_VAR_DIR, so a training started from the server and one from `manage.py train_model` (two
    processes) still cannot run at once; the kernel releases it if the holding process dies. The file
    holds the run id for `holder()`."""

    _held: dict[str, tuple[int, int]] = {}  # path -> (file descriptor, run id), for this process
    _mutex = threading.Lock()

    def __init__(self):
        key = "".join(c if c.isalnum() else "_" for c in settings.TRAINING_LOCK_KEY)
        self.path = Path(settings.VAR_DIR) / f"{key}.lock"

    def holder(self) -> int | None:
        with self._mutex:
            if str(self.path) in self._held:
                return self._held[str(self.path)][1]
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None  # nobody holds it
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        finally:
            os.close(fd)

    def acquire(self, run_id: int) -> bool:
        with self._mutex:
            held = self._held.get(str(self.path))
            if held is not None:
                return held[1] == run_id
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(run_id).encode(), 0)
            self._held[str(self.path)] = (fd, run_id)
        return True

    def extend(self, run_id: int) -> bool:
        return self.holder() == run_id

    def release(self, run_id: int) -> bool:
        with self._mutex:
            held = self._held.get(str(self.path))
            if held is None or held[1] != run_id:
                return False
            del self._held[str(self.path)]
            os.ftruncate(held[0], 0)
            fcntl.flock(held[0], fcntl.LOCK_UN)
            os.close(held[0])
        return True


def training_lock(quick: bool = False) -> TrainingLock | LocalTrainingLock:
    """`quick`: for a web request (redis_client.quick_redis_client: a frozen Redis costs under a second)."""
    if runs_eagerly():
        return LocalTrainingLock()
    return TrainingLock(quick_redis_client() if quick else None)
