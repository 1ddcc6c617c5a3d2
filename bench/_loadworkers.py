"""Worker faults of bench/load.py: a real Celery worker SIGKILLed mid-import and mid-training while the mixed load
runs at 8 clients, then a fresh worker started (no other process restarted).

What is measured, per fault: the status codes and p99 of every API answer in flight between the kill and the new
worker being ready (the p99 of the same load just before the kill beside it), how long the new worker took to
finish the job, and what was written: for the import, the imported rows counted in PostgreSQL (every one exactly
once); for the training, the versions and artifacts (no version active without its artifact, the active artifact's
SHA-256 as recorded, the killed run's version never active while killed) and whether the run ended succeeded, or
failed with a new run accepted.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench._loadrig import HTTP_PORT, ROOT, run_load

CELERY = ROOT / ".venv" / "bin" / "celery"
QUEUES = ("training", "embedding", "scoring", "backfill", "imports", "default")
# A killed worker's unacknowledged task is handed out again after 5 s (not the deployment's 6 h), and a dead
# import's job is taken over 3 s after its last batch: the values the worker tests use.
WORKER_ENV = {
    "CELERY_VISIBILITY_TIMEOUT": "5",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
    "IMPORT_STALE_SECONDS": "3",
    "TRAINING_PROGRESS_INTERVAL": "0",
    "EVAL_RANDOM_NEGATIVES": "30",
    "TANDEM_TRAIN_HIDDEN": "32",
    "OMP_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONUNBUFFERED": "1",
    "LOG_LEVEL": "INFO",
}
IMPORT_ROWS, IMPORT_BATCH = 2000, 20


class Worker:
    """`celery -A config worker --pool solo` in its own session, so SIGKILL reaches exactly what was started."""

    def __init__(self, env: dict, queues: tuple[str, ...], log: Path, **extra: str):
        self.log_path = log
        cmd = [str(CELERY), "-A", "config", "worker", "-Q", ",".join(queues), "--pool", "solo", "--loglevel", "INFO",
               "-n", f"load-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
        with log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**env, **WORKER_ENV, **extra}, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text(errors='replace')[-3000:]}")
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise TimeoutError("celery worker not ready")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


def api(method: str, path: str, token: str, body: bytes | None = None, ctype: str = "") -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=60)
    headers = {
        "Authorization": f"Token {token}",
        "Host": "127.0.0.1",
        **({"Content-Type": ctype} if ctype else {}),
    }
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw or b"{}")
        except ValueError:
            return response.status, {}
    finally:
        conn.close()


def wait_until(probe: Callable[[], dict | None], timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}")


def _django(snippet: str, payload: dict, env: dict) -> dict:
    code = "import django, json, sys\ndjango.setup()\n" + snippet
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(payload), cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


IMPORTED = """
from django.db.models import Count
from recruiting.models import Interaction
rows = Interaction.objects.filter(external_id__startswith=json.load(sys.stdin)["prefix"])
per_id = rows.values("external_id").annotate(n=Count("id"))
print(json.dumps({"rows": rows.count(), "distinct": per_id.count(), "dup": per_id.filter(n__gt=1).count()}))
"""

VERSIONS = """
import hashlib
from matching.models import ModelVersion
from matching.training import artifacts
storage, out = artifacts.model_storage(), []
for v in ModelVersion.objects.order_by("pk"):
    ok = None
    if v.artifact_name:
        ok = storage.exists(v.artifact_name) and hashlib.sha256(storage.open(v.artifact_name, "rb").read()).hexdigest() == v.artifact_sha256
    out.append({"id": v.pk, "status": v.status, "artifact": bool(v.artifact_name), "artifact_ok": ok})
print(json.dumps({"versions": out}))
"""


def _window(samples, start: float, end: float) -> dict:
    inside = [s for s in samples if s.started < end and s.started + s.seconds > start]
    codes: dict[str, int] = {}
    for s in inside:
        codes[str(s.status)] = codes.get(str(s.status), 0) + 1
    lat = [s.seconds * 1000 for s in inside]
    return {
        "codes": codes,
        "p99_ms": round(float(np.percentile(lat, 99)), 1) if lat else None,
        "errors": sum(n for c, n in codes.items() if c == "0" or c.startswith("5")),
    }


def under_load(sc, tokens: list[str], scenario: Callable[[dict], dict], limit: float = 600) -> dict:
    """Run `scenario(marks)` while the mixed load runs at 8 clients (3 s before it and 3 s after it); the marks
    it sets ("kill", "ready") bound the fault window."""
    stop, box, marks = threading.Event(), {}, {}
    load = threading.Thread(target=lambda: box.update(result=run_load(8, limit, tokens, sc.mixed, stop)))
    load.start()
    t0 = time.monotonic()
    time.sleep(3)
    try:
        out = scenario(marks)
    finally:
        time.sleep(3)
        stop.set()
        load.join()
    samples = box["result"].samples
    fault = _window(samples, marks["kill"], marks["ready"]) if "ready" in marks else {}
    before = _window(samples, t0, marks["kill"]) if "kill" in marks else {}
    return {
        **out,
        "during_codes": fault.get("codes"),
        "during_p99_ms": fault.get("p99_ms"),
        "non_503_errors": fault.get("errors"),
        "before_p99_ms": before.get("p99_ms"),
        "acknowledged": box["result"].acknowledged,
        "load_avg": os.getloadavg()[0],
    }


def _multipart(fields: dict[str, str], name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 "Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n")  # fmt: skip
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def import_fault(sc, world: dict, env: dict, base: Path) -> dict:
    """An interactions import of IMPORT_ROWS rows (batches of IMPORT_BATCH) on a worker of the imports queue,
    SIGKILLed after its first committed batch; a fresh worker takes the job over."""
    token, prefix = world["tokens"][0], f"imp-{uuid.uuid4().hex[:6]}-"
    lines = ["external_id,job_external_id,resume_external_id,kind"]
    lines += [f"{prefix}{i},{world['job_ext'][i % len(world['job_ext'])]},"
              f"{world['resume_ext'][(i * 7) % len(world['resume_ext'])]},impression" for i in range(IMPORT_ROWS)]  # fmt: skip
    first = Worker(env, ("imports",), base / "worker-import-1.log")
    first.wait_ready()
    second: Worker | None = None

    def scenario(marks: dict) -> dict:
        nonlocal second
        body, ctype = _multipart({"organization": world["org"], "kind": "interactions", "batch_size": str(IMPORT_BATCH)},
                                 "rows.csv", ("\n".join(lines) + "\n").encode())  # fmt: skip
        code, job = api("POST", "/api/imports/", token, body, ctype)
        if code != 202:
            raise RuntimeError(f"import not accepted: {code} {job}")
        url = job["status_url"]
        wait_until(
            lambda: (b := api("GET", url, token)[1]).get("processed", 0) > 0 and b, 240, "a committed batch"
        )
        first.kill()
        marks["kill"] = time.monotonic()
        at_kill = api("GET", url, token)[1]
        in_db = _django(IMPORTED, {"prefix": prefix}, env)
        second = Worker(env, ("imports",), base / "worker-import-2.log")
        second.wait_ready()
        marks["ready"] = time.monotonic()
        done = wait_until(
            lambda: (b := api("GET", url, token)[1]).get("finished") and b, 300, "the resumed import"
        )
        finished = time.monotonic()
        rows = _django(IMPORTED, {"prefix": prefix}, env)
        return {
            "fault": "worker killed during an import",
            "rows": IMPORT_ROWS,
            "at_kill": {"processed": at_kill.get("processed"), "created": at_kill.get("created"), "rows_in_db": in_db["rows"]},
            "restart_s": round(marks["ready"] - marks["kill"], 2),
            "recovery_s": round(finished - marks["ready"], 2),
            "finished": {k: done.get(k) for k in ("stage", "processed", "created", "failed", "attempt")},
            "rows_in_db": rows["rows"],
            "rows_lost": IMPORT_ROWS - rows["distinct"],
            "rows_duplicated": rows["dup"],
            "complete": done.get("stage") == "finished" and rows["rows"] == rows["distinct"] == IMPORT_ROWS,
        }  # fmt: skip

    try:
        return under_load(sc, world["tokens"], scenario)
    finally:
        first.kill()
        if second is not None:
            second.stop()


def _run(token: str, run_id: int) -> dict:
    return api("GET", f"/api/training-runs/{run_id}/", token)[1]


def training_fault(sc, world: dict, env: dict, base: Path) -> dict:
    """A training run (POST /api/training-runs/, staff) on a worker set for 400 epochs, SIGKILLed once an epoch
    ended; a fresh worker (3 epochs) gets the redelivered task."""
    staff = world["staff_token"]
    first = Worker(env, QUEUES, base / "worker-train-1.log", TANDEM_TRAIN_EPOCHS="400")
    first.wait_ready()
    second: Worker | None = None

    def scenario(marks: dict) -> dict:
        nonlocal second
        code, run = api("POST", "/api/training-runs/", staff)
        if code not in (200, 201):
            raise RuntimeError(f"training not started: {code} {run}")
        run_id = run["id"]
        wait_until(lambda: (b := _run(staff, run_id)).get("stage") == "train" and (b.get("epoch") or 0) >= 1 and b,
                   600, "an epoch of training")  # fmt: skip
        first.kill()
        marks["kill"] = time.monotonic()
        at_kill = {"run": _run(staff, run_id), **_django(VERSIONS, {}, env)}
        killed_version = (at_kill["run"].get("model_version") or {}).get("id")
        second = Worker(env, QUEUES, base / "worker-train-2.log", TANDEM_TRAIN_EPOCHS="3")
        second.wait_ready()
        marks["ready"] = time.monotonic()
        done = wait_until(lambda: (b := _run(staff, run_id)).get("status") in ("succeeded", "failed") and b, 600,
                          "the redelivered run")  # fmt: skip
        finished = time.monotonic()
        after = _django(VERSIONS, {}, env)["versions"]
        rerun = api("POST", "/api/training-runs/", staff)[0] if done["status"] == "failed" else None
        active = [v for v in after if v["status"] == "active"]
        half_at_kill = [
            v for v in at_kill["versions"] if v["id"] == killed_version and v["status"] == "active"
        ]
        return {
            "fault": "worker killed during training",
            "at_kill": {"stage": at_kill["run"].get("stage"), "epoch": at_kill["run"].get("epoch"),
                        "versions": at_kill["versions"]},  # fmt: skip
            "restart_s": round(marks["ready"] - marks["kill"], 2),
            "recovery_s": round(finished - marks["ready"], 2),
            "finished": {"status": done["status"], "attempt": done.get("attempt"), "error": done.get("error") or ""},
            "rerun_status": rerun,
            "versions_after": after,
            "half_written_active": len(half_at_kill) + sum(1 for v in active if not v["artifact_ok"]),
            "active_versions": len(active),
            "complete": (done["status"] == "succeeded" or rerun in (200, 201)) and len(active) <= 1,
        }  # fmt: skip

    try:
        return under_load(sc, world["tokens"], scenario)
    finally:
        first.kill()
        if second is not None:
            second.stop()
