"""Eager mode (`make demo`, no Redis): one training at a time across processes, not only within one."""

from __future__ import annotations

import subprocess
import sys

from matching.training.lock import LocalTrainingLock

_TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(3)
"""


def _other_process_can_lock(path) -> bool:
    done = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(path)], timeout=60, check=False)
    assert done.returncode in (0, 3)
    return done.returncode == 0


def test_eager_training_lock_holds_across_processes(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    lock = LocalTrainingLock()
    assert lock.acquire(7) and lock.acquire(7)  # the holder may take it again
    assert not lock.acquire(8) and lock.holder() == 7
    assert not _other_process_can_lock(lock.path)  # another process (manage.py train_model) is refused
    assert lock.path.read_text() == "7"
    assert not lock.release(8) and lock.release(7)
    assert lock.holder() is None and _other_process_can_lock(lock.path)
    assert lock.acquire(8)
    lock.release(8)
