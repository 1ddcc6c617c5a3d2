"""The load benchmark's rig: private PostgreSQL and Redis instances, gunicorn, and the HTTP load clients.

Everything listens on 127.0.0.1 in the 18600-18699 range and is started and stopped here, so faults are
injected into instances nobody else uses (never the shared 5432/6379).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = next(Path("/usr/lib/postgresql").glob("*/bin"), Path("/usr/bin"))
PG_PORT, REDIS_PORT, HTTP_PORT = 18618, 18617, 18610


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120, **kw)


class PrivatePostgres:
    def __init__(self, base: Path):
        self.base, self.data = base, base / "data"

    def _pg(self, *args: str) -> None:
        _run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args])

    def start(self) -> None:
        if not self.data.exists():
            self.base.mkdir(parents=True, exist_ok=True)
            shutil.chown(self.base, "postgres")
            _run(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8"])  # fmt: skip
        opts = (
            f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base} -c fsync=off"
        )
        self._pg("-w", "-l", str(self.base / "log"), "-o", opts, "start")

    def stop(self) -> None:
        self._pg("-w", "-m", "fast", "stop")

    def pids(self) -> list[int]:
        head = int((self.data / "postmaster.pid").read_text().split()[0])
        children = _run(["ps", "-o", "pid=", "--ppid", str(head)]).stdout.split()
        return [head, *map(int, children)]

    def freeze(self, frozen: bool) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{PG_PORT}/{db}"

    def create_db(self, db: str) -> None:
        psql = [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(PG_BIN / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(PG_PORT),
        ]
        _run([*psql, "-c", f"DROP DATABASE IF EXISTS {db}"])
        _run([*psql, "-c", f"CREATE DATABASE {db}"])


class PrivateRedis:
    def __init__(self, base: Path):
        self.base, self.proc = base, None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(REDIS_PORT),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.base),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
        )
        wait_port(REDIS_PORT)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None

    def freeze(self, frozen: bool) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{REDIS_PORT}/0"


def wait_port(port: int, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {port}")


def start_gunicorn(env: dict, workers: int, log: Path) -> subprocess.Popen:
    """Served as the README's deployment section says (gunicorn, sync workers)."""
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi:application", "-c", str(ROOT / "config/gunicorn.conf.py"),
           "--bind", f"127.0.0.1:{HTTP_PORT}",
           "--workers", str(workers), "--timeout", "30", "--max-requests", "50000", "--max-requests-jitter", "5000"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_port(HTTP_PORT)
    return proc


# --------------------------------------------------------------------------------------- load
@dataclass
class Sample:
    started: float
    seconds: float
    status: int  # 0: connection error or timeout


@dataclass
class Request:
    method: str
    path: str
    body: dict | None = None
    tag: str = ""


def call(req: Request, token: str, timeout: float = 30.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=timeout)
    headers = {"Authorization": f"Token {token}", "Host": "127.0.0.1"}
    body = None
    if req.body is not None:
        body = json.dumps(req.body)
        headers["Content-Type"] = "application/json"
    try:
        conn.request(req.method, req.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # external ids of writes answered 201


def run_load(
    clients: int,
    seconds: float,
    tokens: list[str],
    next_request: Callable[[int, int], Request],
    stop: threading.Event | None = None,
) -> LoadResult:
    """`clients` threads, each with its own user's token, sending `next_request(client, n)` back to back for
    `seconds`, or until `stop` is set."""
    result, lock = LoadResult(), threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(c: int) -> None:
        n = 0
        while time.monotonic() < stop_at and not (stop is not None and stop.is_set()):
            req = next_request(c, n)
            n += 1
            t0 = time.monotonic()
            status = call(req, tokens[c % len(tokens)])
            sample = Sample(t0, time.monotonic() - t0, status)
            with lock:
                result.samples.append(sample)
                if status == 201 and req.tag:
                    result.acknowledged.append(req.tag)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    return result
