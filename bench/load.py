"""Load and faults against the API served as the README says (gunicorn, 2 gthread workers), 127.0.0.1 only.

One command: `python bench/load.py [--quick]`. It starts a private PostgreSQL (initdb under /tmp) and a
private Redis on 127.0.0.1:18617-18618, migrates, loads sample data, embeds it (MiniLM), serves with
gunicorn on 127.0.0.1:18610 and, side by side in one run:

* a bare authenticated DRF endpoint (`GET /api/auth/me/`: token lookup and a tiny body: the framework's
  ceiling), cached `GET /api/jobs/{id}/candidates/` (one job, warmed), uncached (a different job and `k` each
  request), and a mixed load (70% cached, 10% uncached reads, 20% interaction writes), at 1, 8 and 32 clients:
  throughput, p50/p95/p99, errors by status;
* faults replayed under the mixed load at 8 clients: Redis stopped and frozen (SIGSTOP), PostgreSQL stopped
  and frozen: status codes during the fault, the p99 of those answers, time to recover after the dependency is
  back, and interaction rows lost or duplicated (every write carries a unique external id);
* a real Celery worker SIGKILLed mid-import and mid-training under the same load, then a fresh worker started
  (bench/_loadworkers.py): the API's answers while it is down, the time the new worker took to finish the job,
  the import's rows counted once each, no model version active without its artifact.

`--lock /tmp/bench.lock` seeds first, then holds the machine-wide benchmark lock at normal priority for the timed
part. Writes bench/results/load.json (with `verdicts`) and the table in docs/reliability.md. Bounded: every phase
has a fixed duration and every request a 30 s client timeout. The machine is shared: the load average is
recorded and the ratios are measured side by side in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._loadrig import (
    ROOT,
    PrivatePostgres,
    PrivateRedis,
    Request,
    call,
    run_load,
    start_gunicorn,
)
from bench._loadworkers import import_fault, training_fault
from bench._results_doc import publish
from bench.load_report import markdown, summary, verdicts

OUT = ROOT / "bench" / "results" / "load.json"
DB = "tandem_load"


def _env(pg: PrivatePostgres, redis: PrivateRedis, var: Path) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": pg.url(DB),
        "REDIS_URL": redis.url,
        "TANDEM_VAR_DIR": str(var),
        "TRAINING_LOCK_KEY": "tandem:training:lock:load",
        "DEBUG": "0",
        "SECURE_SSL": "0",
        "SECRET_KEY": "load-bench-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "HF_HUB_OFFLINE": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "ERROR",
    }


SEED = """
import django, json, sys
django.setup()
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from recruiting import services
from recruiting.models import Job, Resume, Membership
from recruiting.sample_data.loading import load_sample_data
org = services.organization_create(name="Load")
load_sample_data(org, jobs=int(sys.argv[1]), resumes=int(sys.argv[2]), interactions=int(sys.argv[2]) * 2)
tokens = []
for i in range(32):
    user = get_user_model().objects.create_user(username=f"load{i}", password="x")
    Membership.objects.create(user=user, organization=org, role="recruiter")
    tokens.append(Token.objects.create(user=user).key)
staff = get_user_model().objects.create_user(username="load-staff", password="x", is_staff=True)
print(json.dumps({"tokens": tokens, "jobs": list(Job.objects.values_list("pk", flat=True)),
                  "resumes": list(Resume.objects.values_list("pk", flat=True)),
                  "org": org.slug, "staff_token": Token.objects.create(user=staff).key,
                  "job_ext": list(Job.objects.values_list("external_id", flat=True)),
                  "resume_ext": list(Resume.objects.values_list("external_id", flat=True))}))
"""


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return done.stdout


def _seed(env: dict, jobs: int, resumes: int) -> dict:

    _manage(env, "migrate", "--noinput")
    done = subprocess.run([sys.executable, "-c", SEED, str(jobs), str(resumes)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    world = json.loads(done.stdout.strip().splitlines()[-1])
    _manage(env, "embed_documents")
    return world


def _stats(result, seconds: float) -> dict:
    lat = np.array([s.seconds for s in result.samples]) * 1000 if result.samples else np.zeros(1)
    codes: dict[str, int] = {}
    for s in result.samples:
        codes[str(s.status)] = codes.get(str(s.status), 0) + 1
    ok = sum(n for c, n in codes.items() if c.startswith("2"))
    return {
        "requests": len(result.samples),
        "ok": ok,
        "throughput_rps": round(ok / seconds, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p95_ms": round(float(np.percentile(lat, 95)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
        "errors": {c: n for c, n in codes.items() if not c.startswith("2")},
    }


class Scenarios:
    def __init__(self, world: dict):
        self.jobs, self.resumes = world["jobs"], world["resumes"]
        self.hot = self.jobs[0]
        self.writes = 0

    def bare(self, c: int, n: int) -> Request:
        return Request("GET", "/api/auth/me/")

    def cached(self, c: int, n: int) -> Request:
        return Request("GET", f"/api/jobs/{self.hot}/candidates/?k=20")

    def uncached(self, c: int, n: int) -> Request:
        rng = random.Random(c * 1_000_003 + n)
        return Request("GET", f"/api/jobs/{rng.choice(self.jobs)}/candidates/?k={rng.randint(5, 100)}")

    def write(self, c: int, n: int) -> Request:
        self.writes += 1
        tag = f"load-{c}-{n}-{self.writes}-{time.monotonic_ns()}"
        rng = random.Random(hash(tag))
        body = {"job": rng.choice(self.jobs), "resume": rng.choice(self.resumes), "kind": "impression",
                "external_id": tag}  # fmt: skip
        return Request("POST", "/api/interactions/", body, tag=tag)

    def mixed(self, c: int, n: int) -> Request:
        roll = random.Random(c * 7919 + n).random()
        if roll < 0.7:
            return self.cached(c, n)
        return self.uncached(c, n) if roll < 0.8 else self.write(c, n)


def _warm(sc: Scenarios, tokens: list[str], seconds: float) -> None:
    """Every gunicorn worker loads the encoder, the index and the section cache on its first requests:
    load every scenario for a while before measuring (not counted)."""
    for name in ("bare", "cached", "uncached", "mixed"):
        run_load(4, seconds, tokens, getattr(sc, name))


def _matrix(sc: Scenarios, tokens: list[str], seconds: float) -> dict:
    call(sc.cached(0, 0), tokens[0])  # the hot job's cache entry
    _warm(sc, tokens, seconds)
    out: dict = {}
    for clients in (1, 8, 32):
        for name in ("bare", "cached", "uncached", "mixed"):
            result = run_load(clients, seconds, tokens, getattr(sc, name))
            out[f"{name}@{clients}"] = {**_stats(result, seconds), "load_avg": os.getloadavg()[0]}
            print(name, clients, out[f"{name}@{clients}"], flush=True)
    return out


def _fault(name: str, sc, tokens, break_it, mend_it, env, before=3.0, during=5.0, after=8.0) -> dict:
    import threading

    marks: dict[str, float] = {}

    def script() -> None:
        time.sleep(before)
        marks["down"] = time.monotonic()
        break_it()
        time.sleep(during)
        mend_it()
        marks["up"] = time.monotonic()

    t = threading.Thread(target=script)
    t.start()
    result = run_load(8, before + during + after, tokens, sc.mixed)
    t.join()
    down, up = marks["down"], marks["up"]
    # every request in flight during the fault, also those sent just before it (a freeze holds them)
    during_s = [s for s in result.samples if s.started < up and s.started + s.seconds > down]
    codes: dict[str, int] = {}
    for s in during_s:
        codes[str(s.status)] = codes.get(str(s.status), 0) + 1
    failed = [s for s in during_s if s.status >= 500 or s.status == 0]
    after_s = sorted((s for s in result.samples if s.started >= up), key=lambda s: s.started)
    recovered = next(
        (s.started + s.seconds - up for s in after_s if 200 <= s.status < 300 and s.started >= up), None
    )
    late_errors = sum(1 for s in after_s if s.started >= up + 5 and (s.status >= 500 or s.status == 0))
    before_s = [s.seconds for s in result.samples if s.started + s.seconds <= down]
    lost, duplicated = _rows_check(env, result.acknowledged)
    return {
        "fault": name,
        "during_codes": codes,
        "during_error_p99_ms": round(float(np.percentile([s.seconds for s in failed], 99)) * 1000, 1)
        if failed
        else None,
        "during_max_ms": round(max((s.seconds for s in during_s), default=0) * 1000, 1),
        "during_p99_ms": round(float(np.percentile([s.seconds for s in during_s], 99)) * 1000, 1)
        if during_s
        else None,
        "before_p99_ms": round(float(np.percentile(before_s, 99)) * 1000, 1) if before_s else None,
        "non_503_errors": sum(
            n for c, n in codes.items() if c not in ("503",) and (c.startswith("5") or c == "0")
        ),
        "recovery_s": round(recovered, 2) if recovered is not None else None,
        "errors_5s_after_recovery": late_errors,
        "writes_acknowledged": len(result.acknowledged),
        "rows_lost": lost,
        "rows_duplicated": duplicated,
        "load_avg": os.getloadavg()[0],
    }


ROWS = """
import django, json, sys
django.setup()
from django.db.models import Count
from recruiting.models import Interaction
tags = json.load(sys.stdin)
counts = dict(Interaction.objects.filter(external_id__in=tags).values_list("external_id").annotate(n=Count("id")))
print(json.dumps({"lost": sum(1 for t in tags if t not in counts), "dup": sum(1 for n in counts.values() if n > 1)}))
"""


def _rows_check(env: dict, tags: list[str]) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", ROWS], input=json.dumps(tags), cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["lost"], answer["dup"]


def _take_lock(path: str) -> tuple[float, ...]:
    """Seeding and embedding (no timing) ran before this; from here on the run is timed: hold the machine-wide
    benchmark lock (kept until the process exits) at normal priority. Returns the load average when taken."""
    if path:
        import fcntl

        handle = open(path, "a")  # held open, so locked, until the process exits
        fcntl.flock(handle, fcntl.LOCK_EX)
        _take_lock.handle = handle
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    print("timed part from", time.strftime("%H:%M:%S"), "load", os.getloadavg(), flush=True)
    return os.getloadavg()


def _faults(which: set[str], sc, world: dict, env: dict, pg, redis, base: Path) -> list[dict]:
    """The dependency faults (each 5 s under the mixed load), then the worker kills (bench._loadworkers)."""
    tokens, out = world["tokens"], []
    if "redis" in which:
        out.append(_fault("redis stopped", sc, tokens, redis.stop, redis.start, env))
        out.append(
            _fault("redis frozen", sc, tokens, lambda: redis.freeze(True), lambda: redis.freeze(False), env)
        )
    if "postgresql" in which:
        out.append(_fault("postgresql stopped", sc, tokens, pg.stop, pg.start, env))
        out.append(
            _fault("postgresql frozen", sc, tokens, lambda: pg.freeze(True), lambda: pg.freeze(False), env)
        )
    for kind, replay in (("import", import_fault), ("training", training_fault)):
        if kind in which:
            fault = replay(sc, world, env, base)
            fault["writes_acknowledged"] = len(acknowledged := fault.pop("acknowledged"))
            fault["api_rows_lost"], fault["api_rows_duplicated"] = _rows_check(env, acknowledged)
            print(fault["fault"], {k: v for k, v in fault.items() if k != "versions_after"}, flush=True)
            out.append(fault)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, 3 s per cell")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument(
        "--faults",
        default="redis,postgresql,import,training",
        help="which faults to replay (comma list of redis, postgresql, import, training)",
    )
    parser.add_argument(
        "--lock", default="", help="take this flock (e.g. /tmp/bench.lock) once seeded, then nice 0"
    )
    parser.add_argument("--no-matrix", action="store_true", help="faults only (a check, not a result)")
    args = parser.parse_args()
    args.faults = set() if args.no_faults else {f.strip() for f in args.faults.split(",") if f.strip()}
    seconds = 3.0 if args.quick else 6.0
    jobs, resumes = (60, 300) if args.quick else (150, 1000)
    t0 = time.monotonic()
    base = Path(tempfile.gettempdir()) / "tandem_load_i16"
    base.mkdir(exist_ok=True)
    pg, redis = PrivatePostgres(base / "pg"), PrivateRedis(base)
    pg.start()
    redis.start()
    gunicorn = None
    try:
        pg.create_db(DB)
        env = _env(pg, redis, base / "var")
        world = _seed(env, jobs, resumes)
        load_at_lock = _take_lock(args.lock)
        gunicorn = start_gunicorn(env, workers=2, log=base / "gunicorn.log")
        sc = Scenarios(world)
        matrix = {} if args.no_matrix else _matrix(sc, world["tokens"], seconds)
        faults = _faults(args.faults, sc, world, env, pg, redis, base)
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=60)
        redis.stop()
        try:
            pg.stop()
        except Exception:
            pass
    if args.no_matrix:  # a check of the fault replays, not a result: nothing published
        print(json.dumps(faults, indent=1, default=str))
        return
    result = {
        "meta": {
            "quick": args.quick,
            "seconds_per_cell": seconds,
            "jobs": jobs,
            "resumes": resumes,
            "gunicorn_workers": 2,
            "cpus": os.cpu_count(),
            "load_avg_start": load_at_lock,
            "load_avg_end": os.getloadavg(),
            "total_seconds": time.monotonic() - t0,
            "note": "shared 2-core machine with four other engineers' jobs running; clients are threads "
            "in the benchmark process on the same machine",
        },  # fmt: skip
        "matrix": matrix,
        "faults": faults,
    }
    result["verdicts"] = verdicts(result)
    publish(
        result, OUT, jsonable=lambda r: r, markdown=summary(result), heading="## Reliability (bench/load.py)"
    )
    doc = ROOT / "docs" / "reliability.md"
    doc.write_text(markdown(result, doc.read_text() if doc.exists() else ""), encoding="utf-8")


if __name__ == "__main__":
    main()
