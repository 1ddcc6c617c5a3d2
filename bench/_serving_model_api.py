"""`bench/serving.py --api-model`: what a recruiter gets from /candidates/ when a trained model is active.

The demo installation (sample data, documents embedded by the embedding worker, a first model trained,
evaluated and promoted) is built once in its own PostgreSQL database; then fresh `runserver` processes answer
`/api/jobs/{id}/candidates/` over HTTP on 127.0.0.1. Measured, all in one run:

* cold rerank: the first candidates request of a fresh server process, after a request that loaded the model
  and ranked jobs (so torch, the model and the job side are warm, and no resume's section vectors are in the
  process): the server's own `rerank` stage timing for 200 resumes, whose section vectors come from
  PostgreSQL (`SectionVectors`) — no encoder runs for a stored document. One fresh process per figure.
* warm rerank: the same stage once the process has seen those resumes (uncached rankings, Redis cleared).
* cached `/candidates/` and a bare authenticated DRF endpoint (`/api/auth/me/`), interleaved request by
  request, so their ratio is measured side by side.

With ``baseline`` (a git ref), the same measurement also runs on a copy of that commit's tree (``git archive``),
against the same database, in the same run: the before and after of a change side by side.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODEL_DB = "postgres://postgres@127.0.0.1:5432/tandem_bench_serving_model"
MODEL_REDIS = "redis://127.0.0.1:6379/6"


def _pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(xs), q)), 2)


def _lat_ms(xs: list[float]) -> dict:
    return {"p50_ms": _pct(xs, 50), "p95_ms": _pct(xs, 95), "p99_ms": _pct(xs, 99), "n": len(xs)}


def _load() -> str:
    la = os.getloadavg()
    return f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"


def _env(var_dir: Path) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": os.environ.get("BENCH_MODEL_DATABASE_URL", MODEL_DB),
        "REDIS_URL": os.environ.get("BENCH_MODEL_REDIS_URL", MODEL_REDIS),
        "TANDEM_VAR_DIR": str(var_dir),
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "DEBUG": "0",
        "SECURE_SSL": "0",  # plain HTTP on 127.0.0.1 (production sits behind a TLS proxy)
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1",
        "THROTTLE_SCORING_RATE": "100000/minute",
        # the figure is a rerank of 200 (the platform's default first stage keeps 600)
        "MATCH_RETRIEVE_K": os.environ.get("BENCH_RETRIEVE_K", "200"),
        "TOKENIZERS_PARALLELISM": "false",
    }


def _manage(env: dict, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed: {out.stderr[-2000:]}")
    return out.stdout


def _django_query(env: dict, code: str) -> object:
    """Run ``code`` (which sets ``result``) in a Django shell of the bench database; its JSON result."""
    script = f"import json\n{code}\nprint('RESULT=' + json.dumps(result))"
    out = _manage(env, "shell", "-c", script)
    return json.loads(out.rsplit("RESULT=", 1)[1])


def prepare(var_dir: Path, *, resumes: int, jobs: int, interactions: int) -> dict:
    """Migrate and run `manage.py demo` once (sample data, embed, train, promote); the state it left."""
    env = _env(var_dir)
    dbname = env["DATABASE_URL"].rsplit("/", 1)[1]
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", f"CREATE DATABASE {dbname}"], capture_output=True
    )
    _manage(env, "migrate", "-v", "0")
    t = time.perf_counter()
    _manage(env, "demo", f"--resumes={resumes}", f"--jobs={jobs}", f"--interactions={interactions}")
    setup_s = time.perf_counter() - t
    state = _django_query(
        env,
        "from matching.models import ModelVersion, SectionVectors\n"
        "from recruiting.models import Job, Resume\n"
        "from rest_framework.authtoken.models import Token\n"
        "active = ModelVersion.objects.filter(status='active').order_by('-pk').first()\n"
        "result = {'active': active and f'v{active.version}', 'resumes': Resume.objects.count(),"
        " 'section_rows': SectionVectors.objects.filter(kind='resume').count(),"
        " 'token': Token.objects.get(user__username='demo').key,"
        " 'jobs': list(Job.objects.filter(status='open', organization__slug='demo-recruiting')"
        ".order_by('pk').values_list('pk', flat=True)[:60]),"
        " 'resume_ids': list(Resume.objects.filter(candidate__organization__slug='demo-recruiting')"
        ".order_by('pk').values_list('pk', flat=True)[:5])}",
    )
    state["setup_s"] = round(setup_s, 1)
    return state


class _Server:
    """A fresh `manage.py runserver` (single-threaded, no reloader) on a free local port."""

    def __init__(self, env: dict, token: str, root: Path = ROOT):
        with socket.socket() as probe:  # a port nothing listens on now
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.base, self.token = f"http://127.0.0.1:{port}", token
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(root / "manage.py"),
                "runserver",
                f"127.0.0.1:{port}",
                "--noreload",
                "--nothreading",
            ],
            env=env,
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(240):
            try:
                self.get("/api/auth/me/")
                return
            except urllib.error.HTTPError:
                self.close()
                raise
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.5)
        self.close()
        raise RuntimeError("runserver did not start")

    def get(self, path: str) -> tuple[float, dict]:
        req = urllib.request.Request(self.base + path, headers={"Authorization": f"Token {self.token}"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=300) as resp:
            body = json.loads(resp.read())
        return (time.perf_counter() - t0) * 1000, body

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _flush_rankings(env: dict) -> None:
    subprocess.run(["redis-cli", "-u", env["REDIS_URL"], "FLUSHDB"], capture_output=True, check=True)


def measure(var_dir: Path, state: dict, *, cold_runs: int = 5, root: Path = ROOT) -> dict:
    """The figures of one code tree (`root`: this checkout, or a baseline copy)."""
    env = _env(var_dir)
    jobs, token = state["jobs"], state["token"]
    cold_stage, cold_request, first_request = [], [], []
    for r in range(cold_runs):
        _flush_rankings(env)
        server = _Server(env, token, root)
        try:
            dt, _ = server.get(f"/api/resumes/{state['resume_ids'][r % len(state['resume_ids'])]}/jobs/?k=20")
            first_request.append(dt)
            dt, body = server.get(f"/api/jobs/{jobs[r]}/candidates/?k=20")
            assert not body["cached"], body
            cold_stage.append(body["retrieval"]["timings_ms"]["rerank"])
            cold_request.append(dt)
            reranked = body["retrieval"]["reranked"]
        finally:
            server.close()
    server = _Server(env, token, root)
    try:
        targets = jobs[cold_runs : cold_runs + 40]
        for j in targets:  # every candidate these jobs rank is now in the process's section cache
            server.get(f"/api/jobs/{j}/candidates/?k=20")
        _flush_rankings(env)
        warm_stage, warm_request = [], []
        for j in targets:
            dt, body = server.get(f"/api/jobs/{j}/candidates/?k=20")
            assert not body["cached"], body
            warm_stage.append(body["retrieval"]["timings_ms"]["rerank"])
            warm_request.append(dt)
        bare, cached = [], []
        for _ in range(3):
            for j in targets:
                bare.append(server.get("/api/auth/me/")[0])
                dt, body = server.get(f"/api/jobs/{j}/candidates/?k=20")
                assert body["cached"], body
                cached.append(dt)
    finally:
        server.close()
    return {
        "model": state["active"],
        "resumes": state["resumes"],
        "resume_section_rows": state["section_rows"],
        "reranked": reranked,
        "retrieve_k": int(env["MATCH_RETRIEVE_K"]),
        "setup_s": state["setup_s"],
        "cold_rerank_stage": _lat_ms(cold_stage),
        "cold_rerank_stage_ms": [round(x, 1) for x in cold_stage],
        "cold_request": _lat_ms(cold_request),
        "fresh_process_first_request": _lat_ms(first_request),
        "warm_rerank_stage": _lat_ms(warm_stage),
        "uncached_warm_request": _lat_ms(warm_request),
        "cached": _lat_ms(cached),
        "bare_me": _lat_ms(bare),
        "cached_to_bare_p95": round(_pct(cached, 95) / _pct(bare, 95), 2),
        "server": "manage.py runserver --nothreading --noreload, DEBUG=0, urllib client, 127.0.0.1; "
        "trained model of `manage.py demo` active",
        "load": _load(),
    }


def _baseline_tree(ref: str) -> tuple[Path, str]:
    """A plain copy of `ref`'s tree (no git metadata touched) and its commit."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", ref], capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = Path(tempfile.mkdtemp(prefix="tandem-baseline-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree, sha


def bench_api_model(
    *, resumes: int = 600, jobs: int = 200, interactions: int = 3000, baseline: str | None = None
) -> dict:
    var_dir = Path(os.environ.get("BENCH_MODEL_VAR_DIR", "/tmp/tandem_bench_serving_model"))
    print(f"\n== API with the demo's trained model ({_load()})", flush=True)
    state = prepare(var_dir, resumes=resumes, jobs=jobs, interactions=interactions)
    if not state["active"]:
        return {"error": "the demo promoted no model: nothing to measure", "load": _load()}
    print(
        f"   demo ready in {state['setup_s']} s: model {state['active']}, {state['resumes']} resumes",
        flush=True,
    )
    before = None
    if baseline:
        tree, sha = _baseline_tree(baseline)
        before = {"ref": baseline, "commit": sha, **measure(var_dir, state, root=tree)}
        print(f"   baseline {baseline} ({sha[:12]}): {json.dumps(before, indent=1)}", flush=True)
    out = measure(var_dir, state)
    if before is not None:
        out["baseline"] = before
    print(f"   {json.dumps(out, indent=1)}", flush=True)
    return out
