"""Progress of a bulk import while its request runs, for the import page to poll.

The import page sends a random token with the file; the import's `progress` callback (rows per committed batch)
writes a small record in Redis under the user's id and that token, and the page asks for it while the upload is
in flight. Redis down: no progress is shown, the import itself is unaffected (the fail-fast client)."""

from __future__ import annotations

import json
import re
import time

from matching.redis_client import ResilientRedis

TOKEN = re.compile(r"^[0-9a-f]{32}$")
TTL_SECONDS = 3600
_redis = ResilientRedis()


def _key(user_id: int, token: str) -> str:
    return f"tandem:dashboard:import:{user_id}:{token}"


def _write(user_id: int, token: str, record: dict) -> None:
    client = _redis.get()
    if client is None:
        return
    try:
        client.set(_key(user_id, token), json.dumps(record), ex=TTL_SECONDS)
    except Exception as exc:  # progress is a nicety: never fail the import for it
        _redis.failed("import progress write", exc)


class ImportProgress:
    """`progress(n)` for `recruiting.importing.import_file`: rows and batches so far, then done."""

    def __init__(self, user_id: int, token: str, file_bytes: int):
        self.user_id, self.token = user_id, token if TOKEN.match(token or "") else ""
        self.record = {"rows": 0, "batches": 0, "bytes": file_bytes, "done": False, "started": time.time()}
        self._save()

    def _save(self) -> None:
        if self.token:
            _write(self.user_id, self.token, self.record)

    def __call__(self, rows: int) -> None:
        self.record["rows"] += rows
        self.record["batches"] += 1
        self._save()

    def finish(self) -> None:
        self.record["done"] = True
        self._save()


def import_progress(*, user_id: int, token: str) -> dict | None:
    """The record of this user's import with this token, or None (unknown, expired, or Redis down)."""
    if not TOKEN.match(token or ""):
        return None
    client = _redis.get()
    if client is None:
        return None
    try:
        raw = client.get(_key(user_id, token))
    except Exception as exc:
        _redis.failed("import progress read", exc)
        return None
    return json.loads(raw) if raw else None
