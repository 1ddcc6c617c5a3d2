"""A REAL Celery worker process for tests: `celery -A config worker` on the real Redis broker, pointed at the
pytest test database. Reusable: request `start_worker` (a factory) or `celery_worker` (one started worker).

The test must use `@pytest.mark.django_db(transaction=True)` so that what it writes is committed and the
worker (another process, another connection) sees it. The worker is stopped before the test's database
flush. Broker: settings.REDIS_URL (give the suite a private Redis db, e.g. REDIS_URL=redis://…/5); the
queues are purged before each worker starts.

Worker environment (override per worker with `start_worker(env={...})`):
    TANDEM_ENCODER=hashing          fast deterministic encoder (MiniLM with TANDEM_TEST_ENCODER=minilm)
    TANDEM_TRAIN_EPOCHS=2, TANDEM_TRAIN_HIDDEN=32, TANDEM_TRAIN_BATCH_SIZE=128
    MODEL_STORAGE_ROOT=<tmp>        the test process uses the same storage (`worker_settings` fixture)
    TRAINING_LOCK_KEY=<unique>      so parallel suites never share the training lock
    CELERY_VISIBILITY_TIMEOUT=5     redelivery of a killed worker's task after 5 s (not 6 h)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import storages

REPO = Path(__file__).resolve().parents[2]
CELERY_BIN = Path(sys.executable).with_name("celery")
QUEUES = ("training", "embedding", "scoring", "backfill", "imports", "default")


def database_url() -> str:
    db = django_settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def purge_broker() -> None:
    """Drop queued and unacknowledged messages left by earlier runs (private Redis db)."""
    import redis

    from matching.embedding import QUEUED_FLAG_KEY

    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    # The embedding debounce flag goes with the queued task it stood for, or no new task would be queued.
    client.delete(*QUEUES, "unacked", "unacked_index", "unacked_mutex", QUEUED_FLAG_KEY)
    for key in client.scan_iter("celery-task-meta-*", count=1000):
        client.delete(key)


class WorkerProcess:
    def __init__(self, proc: subprocess.Popen, log_path: Path, name: str):
        self.proc, self.log_path, self.name = proc, log_path, name

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            if " ready." in self.log():
                return
            time.sleep(0.2)
        raise TimeoutError(f"celery worker not ready after {timeout}s:\n{self.log()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL, no warm shutdown: what a lost machine or the OOM killer does."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 20) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def worker_base_env(tmp_path) -> dict[str, str]:
    """Per test: a private artifact storage and lock key shared by this test process and its workers."""
    root = tmp_path / "worker"
    return {
        "TANDEM_ENCODER": os.environ.get("TANDEM_TEST_ENCODER", "hashing"),
        "TANDEM_TRAIN_EPOCHS": "2",
        "TANDEM_TRAIN_HIDDEN": "32",
        "TANDEM_TRAIN_BATCH_SIZE": "128",
        "MODEL_STORAGE_ROOT": str(root / "models"),
        "TANDEM_VAR_DIR": str(root / "var"),
        "TRAINING_EMBEDDING_CACHE": "",
        "TRAINING_LOCK_KEY": f"tandem:test:training-lock:{uuid.uuid4().hex[:8]}",
        "TRAINING_PROGRESS_INTERVAL": "0",
        "EVAL_RANDOM_NEGATIVES": "30",
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
        "FIRST_MODEL_POLICY": "always",
    }


@pytest.fixture
def worker_settings(settings, worker_base_env):
    """This test process, configured like the workers (same artifact storage, lock key, encoder...)."""
    from matching import encoders, selectors

    env = worker_base_env
    settings.STORAGES = {
        **settings.STORAGES,
        "models": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": env["MODEL_STORAGE_ROOT"]},
        },
    }
    storages._storages.pop("models", None)
    selectors.clear_model_cache()
    settings.EMBEDDING_ENCODER = env["TANDEM_ENCODER"]
    settings.TRAINING_LOCK_KEY = env["TRAINING_LOCK_KEY"]
    settings.TRAINING_EMBEDDING_CACHE = ""
    settings.FIRST_MODEL_POLICY = env["FIRST_MODEL_POLICY"]
    settings.EVAL_RANDOM_NEGATIVES = int(env["EVAL_RANDOM_NEGATIVES"])
    settings.TRAINING_CONFIG = {"epochs": 2, "hidden": 32, "batch_size": 128}
    previous_encoder = encoders._encoder
    encoders._encoder = None
    yield settings
    encoders._encoder = previous_encoder
    storages._storages.pop("models", None)
    selectors.clear_model_cache()
    from matching.redis_client import redis_client

    redis_client().delete(env["TRAINING_LOCK_KEY"])


@pytest.fixture
def start_worker(transactional_db, worker_settings, worker_base_env, tmp_path):
    """Factory: start_worker(env={...}, queues=...) -> a ready WorkerProcess. All are stopped at teardown,
    before the test database is flushed."""
    started: list[WorkerProcess] = []
    purge_broker()

    def start(env: dict[str, str] | None = None, queues=QUEUES, ready_timeout: float = 90) -> WorkerProcess:
        name = f"test-{uuid.uuid4().hex[:6]}@%h"
        log_path = tmp_path / f"worker-{len(started)}.log"
        full_env = {
            **os.environ,
            **worker_base_env,
            **(env or {}),
            "DATABASE_URL": database_url(),
            "REDIS_URL": django_settings.REDIS_URL,
            "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
            "CELERY_RESULT_BACKEND": django_settings.CELERY_RESULT_BACKEND,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "1",
        }
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [
                    str(CELERY_BIN),
                    "-A",
                    "config",
                    "worker",
                    "-Q",
                    ",".join(queues),
                    "--pool",
                    "solo",
                    "--loglevel",
                    "INFO",
                    "-n",
                    name,
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=REPO,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() reaches only what we started
            )
        worker = WorkerProcess(proc, log_path, name)
        started.append(worker)
        worker.wait_ready(ready_timeout)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker(start_worker):
    """One worker on every queue with the default test environment."""
    return start_worker()


def wait_for(predicate, *, timeout: float, interval: float = 0.3, message: str = "condition", worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    tail = f"\nworker log:\n{worker.log()[-5000:]}" if worker is not None else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {message}{tail}")
