"""Served quality ("What serves is what was measured"): the real kandij data through the platform itself.

    .venv/bin/python bench/served_quality.py [--data-dir DIR] [--quick] [--max-applicants N] [--k 100] [--seed 0]

1. Loads ``kandij-job-views`` (``ml.data.kandij.load_kandij``, read in place) and splits it with the
   leave-last-new-job-out protocol (bench/_protocol.py).
2. A fresh PostgreSQL database (``tandem_bench_served``, created and dropped here) gets one organization and a
   recruiter with an API token; the data goes in through the bulk import (``recruiting.importing.import_file``,
   JSONL written to a temp dir): every job as an open job, every applicant as a candidate with a resume (an
   applicant with no profile gets an empty one), and the split's TRAINING views as interactions.
3. Embeds (``matching.embedding.backfill``), asks ``GET /api/resumes/{id}/jobs/?k=100&exclude=viewed`` (Django's
   test client) for every test applicant with no trained model (the zero-shot path), trains through
   ``matching.training.runs.start_training_run`` with Celery eager (train, evaluate, promote), and asks again.
4. Offline, the same trained model (the active version's artifact) ranks every open job minus the applicant's own
   training jobs (``model.rank_jobs``); bench/quality.py's full network, trained on the split, ranks the same
   whole catalogue; the first stage is checked (did the test job reach the reranker?).

Writes bench/results/served_quality.json (with ``verdicts``) and the "## Served quality" section of
docs/results.md. ``--quick``: a few hundred applicants and one epoch, to check the plumbing (< 3 minutes).
The data is never copied into the repository: the import files live in a temp dir that is removed at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from bench import _served as S  # noqa: E402
from bench._results_doc import publish  # noqa: E402

DEFAULT_DATA_DIR = os.environ.get("TANDEM_KANDIJ_DIR", "/work/shared/data/kandij-job-views")
BENCH_DB = os.environ.get("TANDEM_BENCH_SERVED_DB", "postgres://postgres@127.0.0.1:5432/tandem_bench_served")
BENCH_REDIS = os.environ.get("TANDEM_BENCH_SERVED_REDIS", "redis://127.0.0.1:6379/7")
SECTION = "## Served quality (bench/served_quality.py)"
RESULTS_JSON = ROOT / "bench" / "results" / "served_quality.json"
CACHE_DIR = ROOT / "bench" / "results" / ".cache"
SECTIONS_CACHE = CACHE_DIR / "served_sections.npz"  # the training run's section-embedding cache
QUALITY_CACHE = CACHE_DIR / "minilm.npz"  # bench/quality.py's
QUICK_APPLICANTS = 200
SHARE, NDCG_GAP, IMPORT_LIMIT_S = 0.97, 0.02, 120.0
VIEW_KINDS = ("click", "impression")  # what ml.data.kandij records a view as
ORG_SLUG = "kandij-bench"
SUBSETS = ("all", "profile", "no_profile")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data-dir",
        default=DEFAULT_DATA_DIR,
        help="kandij-job-views folder, read in place (default: $TANDEM_KANDIJ_DIR or /work/shared/data/kandij-job-views)",
    )
    ap.add_argument(
        "--quick", action="store_true", help=f"{QUICK_APPLICANTS} applicants, 1 epoch (< 3 minutes)"
    )
    ap.add_argument("--max-applicants", type=int, default=None, help="a deterministic sample of applicants")
    ap.add_argument("--k", type=int, default=100, help="results per request (the API allows 1..100)")
    ap.add_argument("--seed", type=int, default=0, help="training seed (platform and bench/quality row)")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument(
        "--zero-shot-requests",
        type=int,
        default=500,
        help="zero-shot path on a seeded sample of the same requests (default 500; 0: all)",
    )
    ap.add_argument(
        "--first-stage", type=int, default=300, help="applicants in the first-stage check (seeded sample)"
    )
    ap.add_argument("--no-quality-row", action="store_true", help="skip bench/quality.py's full network")
    ap.add_argument("--cold-caches", action="store_true", help="start the training section cache empty")
    ap.add_argument("--keep-db", action="store_true", help="leave the bench database for inspection")
    ap.add_argument("--out", default=str(RESULTS_JSON))
    ap.add_argument("--no-docs", action="store_true", help="do not touch docs/results.md")
    return ap.parse_args(argv)


# ------------------------------------------------------------------------------------------------ stages
def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@dataclass
class Stages:
    """Wall and CPU seconds and the load average at the start and end of each stage."""

    rows: dict[str, dict] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str):
        t0, c0, la = time.perf_counter(), time.process_time(), load()
        print(f"== {name} (load {la[0]:.2f})", flush=True)
        try:
            yield
        finally:
            self.rows[name] = {
                "seconds": round(time.perf_counter() - t0, 2),
                "cpu_seconds": round(time.process_time() - c0, 2),
                "load_start": la,
                "load_end": load(),
            }
            print(f"   {name}: {self.rows[name]['seconds']:.1f} s", flush=True)


# ------------------------------------------------------------------------------------------------ environment
def configure_env(args, tmp: Path) -> dict:
    """The settings this run needs, before Django starts: its own database and Redis db, eager Celery, every
    file under the temp dir except the section-embedding cache (bench/results/.cache, like bench/quality.py's)."""
    cache = tmp / "sections.npz" if args.cold_caches else SECTIONS_CACHE
    if not args.cold_caches and not cache.exists() and QUALITY_CACHE.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(QUALITY_CACHE, cache)  # same encoder, many of the same texts
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": BENCH_DB,
        "REDIS_URL": BENCH_REDIS,
        "CELERY_BROKER_URL": BENCH_REDIS,
        "CELERY_RESULT_BACKEND": BENCH_REDIS,
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "DEBUG": "0",
        "TANDEM_VAR_DIR": str(tmp / "var"),
        "MODEL_STORAGE_ROOT": str(tmp / "var" / "models"),
        "MEDIA_ROOT": str(tmp / "var" / "media"),
        "TRAINING_EMBEDDING_CACHE": str(cache),
        "TANDEM_TRAIN_SEED": str(args.seed),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }
    if args.quick:
        env["TANDEM_TRAIN_EPOCHS"] = "1"
    os.environ.pop("MODEL_STORAGE", None)
    os.environ.update(env)
    return {
        "database": urlparse(BENCH_DB).path.lstrip("/"),
        "redis": BENCH_REDIS,
        "section_cache": str(cache.relative_to(ROOT) if cache.is_relative_to(ROOT) else "temp dir"),
        "section_cache_entries_at_start": _cache_entries(cache),
        "env": {k: v for k, v in env.items() if k.startswith(("TANDEM_TRAIN", "CELERY_TASK"))},
    }


def _cache_entries(path: Path) -> int:
    if not path.exists():
        return 0
    with np.load(path, allow_pickle=False) as z:
        return int(len(z["keys"]))


def _psql(sql: str) -> None:
    u = urlparse(BENCH_DB)
    env = {**os.environ, **({"PGPASSWORD": u.password} if u.password else {})}
    cmd = ["psql", "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    subprocess.run([*cmd, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, env=env,
                   capture_output=True)  # fmt: skip


def _db_name() -> str:
    name = urlparse(BENCH_DB).path.lstrip("/")
    if not re.fullmatch(r"[a-z0-9_]*bench[a-z0-9_]*", name):
        raise SystemExit(f"refusing to create/drop database {name!r}: its name must contain 'bench'")
    return name


def create_db() -> None:
    name = _db_name()
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _psql(f"CREATE DATABASE {name}")


def drop_db() -> None:
    from django.db import connections

    connections.close_all()
    _psql(f"DROP DATABASE IF EXISTS {_db_name()} WITH (FORCE)")


def start_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from matching import cache as mcache

    mcache.invalidate_all()


# ------------------------------------------------------------------------------------------------ data
def applicant_sample(args) -> set[str] | None:
    n = args.max_applicants or (QUICK_APPLICANTS if args.quick else None)
    if not n:
        return None
    with open(Path(args.data_dir) / "Job_Views.csv", newline="", encoding="utf-8") as fh:
        return S.sample_applicants((row["Applicant.ID"] for row in csv.DictReader(fh)), n)


def load_split(args):
    from bench._protocol import leave_last_out
    from ml.data.kandij import load_kandij

    data = load_kandij(args.data_dir, applicants=applicant_sample(args))
    return data, leave_last_out(data)


def write_files(data, split, args, tmp: Path, employer: bool) -> tuple[dict[str, Path], dict]:
    """The import files (JSONL) in the temp dir, and what was cut to fit the platform's columns."""
    counts: dict[str, int] = {}
    with_profile, without = S.resume_rows(data, args.data_dir, counts)
    rows = {
        "jobs": S.job_rows(data, employer=employer, counts=counts),
        "resumes": with_profile,
        "resumes_empty": without,
        "interactions": S.interaction_rows(split.train_events),
    }
    files = {}
    for name, items in rows.items():
        path = tmp / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for item in items:
                # ASCII-escaped: the data holds U+FFFD characters, which the import reads as undecodable bytes
                fh.write(json.dumps(item) + "\n")
        files[name] = path
    counts.update({f"rows_{k}": len(v) for k, v in rows.items()})
    return files, counts


# ------------------------------------------------------------------------------------------------ platform
def make_recruiter():
    """One organization, a recruiter in it and the recruiter's API token."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from recruiting import services
    from recruiting.models import Membership

    org = services.organization_create(name="Kandij bench", slug=ORG_SLUG)
    user = get_user_model().objects.create_user(username="kandij-recruiter", password=None)
    services.membership_set(organization=org, user=user, role=Membership.Role.RECRUITER)
    token, _ = Token.objects.get_or_create(user=user)
    return org, user, token.key


@contextmanager
def tasks_queued():
    """Celery not eager while importing: the import queues its embedding work as the web process would (one
    debounced message, purged afterwards: the backfill embeds the documents, as `manage.py embed_documents`)."""
    from config.celery import app

    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = True
        _purge_queues(app)


def _purge_queues(app) -> None:
    try:
        with app.connection_for_write() as conn:
            for queue in ("embedding", "training", "scoring", "default"):
                conn.default_channel.queue_purge(queue)
    except Exception as exc:  # nothing else reads this Redis db
        print(f"   (could not purge the task queues: {exc})", flush=True)


def _import(org, user, kind: str, path: Path) -> tuple[dict, float]:
    from recruiting.importing import import_file

    n = sum(1 for _ in path.open(encoding="utf-8"))
    t0 = time.perf_counter()
    with path.open("rb") as fh, tqdm(total=n, desc=f"import {path.stem}", unit="row", mininterval=2) as bar:
        report = import_file(
            organization=org, kind=kind, file=fh, format="jsonl", filename=path.name, actor=user,
            progress=bar.update, partial_batches=True,
        )  # fmt: skip
    seconds = time.perf_counter() - t0
    out = {k: v for k, v in report.to_dict().items() if k != "rejected"}
    out["seconds"] = round(seconds, 2)
    out["rejected_reasons"] = dict(
        Counter(((f"{r['field']}: " if r["field"] else "") + r["reason"])[:160] for r in report.rejected)
    )
    out["rejected_lines"] = [r["line"] for r in report.rejected]
    return out, seconds


def import_all(org, user, files: dict[str, Path]) -> dict:
    """Jobs, resumes, empty resumes, then the training views; empty resumes the import refuses are created
    through recruiting.services instead (recorded), so that their views still count."""
    out: dict = {"reports": {}}
    total = 0.0
    with tasks_queued():
        for name, kind in (("jobs", "jobs"), ("resumes", "resumes"), ("resumes_empty", "resumes")):
            out["reports"][name], seconds = _import(org, user, kind, files[name])
            total += seconds
        refused = out["reports"]["resumes_empty"]["rejected_lines"]
        t0 = time.perf_counter()
        out["empty_resumes_rejected_by_import"] = len(refused)
        out["empty_resumes_created_through_services"] = _create_refused(org, files["resumes_empty"], refused)
        out["fallback_seconds"] = round(time.perf_counter() - t0, 2)
        out["reports"]["interactions"], seconds = _import(org, user, "interactions", files["interactions"])
        total += seconds
    for report in out["reports"].values():
        report.pop("rejected_lines", None)
    out["import_seconds"] = round(total, 2)
    out["import_plus_fallback_seconds"] = round(total + out["fallback_seconds"], 2)
    return out


def _create_refused(org, path: Path, lines: list[int]) -> int:
    """Candidates with empty resumes, through the services, for the rows the import refused."""
    from django.db import transaction

    from recruiting import services

    wanted = set(lines)
    rows = [json.loads(t) for n, t in enumerate(path.open(encoding="utf-8"), start=1) if n in wanted]
    with transaction.atomic():
        for row in rows:
            candidate = services.candidate_create(
                organization=org,
                data={"external_id": row["candidate_external_id"], "full_name": row.get("full_name", "")},
            )
            services.resume_create(candidate=candidate, data={"external_id": row["external_id"]})
    return len(rows)


@dataclass
class Case:
    """One test applicant on the platform."""

    t: int  # index into the split's test arrays
    resume: int  # Resume pk
    job: int  # the test job's Job pk
    own: frozenset[int]  # Job pks of the applicant's training jobs
    profile: bool


def platform_cases(org, split) -> tuple[list[Case], dict]:
    """The test applicants whose resume and test job are on the platform, with platform ids."""
    from recruiting.models import Job, Resume

    jobs = dict(Job.objects.filter(organization=org).values_list("external_id", "pk"))
    resumes = dict(Resume.objects.filter(candidate__organization=org).values_list("external_id", "pk"))
    cases, missing = [], Counter()
    for t, (r, j) in enumerate(zip(split.test_resume, split.test_job, strict=True)):
        rdoc, jdoc = split.data.resumes[int(r)], split.data.jobs[int(j)]
        if rdoc.id not in resumes or jdoc.id not in jobs:
            missing["resume" if rdoc.id not in resumes else "test job"] += 1
            continue
        own = frozenset(
            jobs[split.data.jobs[i].id]
            for i in split.clean_history.get(int(r), [])
            if split.data.jobs[i].id in jobs
        )
        cases.append(Case(t, resumes[rdoc.id], jobs[jdoc.id], own, bool(rdoc.full_text().strip())))
    return cases, {
        "test_applicants": len(split.test_resume),
        "on_platform": len(cases),
        "missing": dict(missing),
    }


def embed() -> dict:
    from dataclasses import asdict

    from matching.console import embed_backfill

    return asdict(embed_backfill())


# ------------------------------------------------------------------------------------------------ serving
@dataclass
class Pass:
    """One pass of requests: per case the test job's rank and the request's time, and what the answers said."""

    ranks: list[int | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    own_returned: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    meta: Counter = field(default_factory=Counter)
    server_ms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, body: dict) -> None:
        r = body.get("retrieval") or {}
        self.meta[f"model={body.get('model')}"] += 1
        self.meta[f"space={r.get('space')}"] += 1
        self.meta[f"cached={body.get('cached')}"] += 1
        self.meta["reranked_total"] += int(r.get("reranked") or 0)
        for stage, ms in (r.get("timings_ms") or {}).items():
            self.server_ms.setdefault(stage, []).append(float(ms))


def _client():
    from django.test import Client

    return Client(raise_request_exception=False)


def probe_exclude(client, token: str, resume_pk: int) -> str:
    """How the applicant's own training jobs are left out: "server" when the API takes exclude=viewed, else
    "client" (the bench drops them from the returned list itself)."""
    resp = client.get(
        f"/api/resumes/{resume_pk}/jobs/?k=1&exclude=viewed", HTTP_AUTHORIZATION=f"Token {token}"
    )
    return "server" if resp.status_code == 200 else "client"


def warm_reasons(user, cases: list[Case]) -> dict:
    """Fill the process-wide section cache (which the zero-shot reasons read) with the peer sections of every
    open job and every test resume, as a long-running web process has them, reading the training run's cache
    file first so MiniLM does not run again (stored documents are also primed from their SectionVectors)."""
    from matching import documents, selectors
    from matching.encoders import current_encoder
    from ml.embedding import shared_cache
    from ml.types import PEER_SECTIONS

    texts = {""}
    for d in documents.iter_job_docs(selectors.job_pool(user)):
        texts.update(d.sections()[k] for k in PEER_SECTIONS)
    resumes = _resumes(cases)
    for c in cases:
        texts.update(documents.resume_doc(resumes[c.resume]).sections()[v] for v in PEER_SECTIONS.values())
    cache = shared_cache(current_encoder(), path=os.environ.get("TRAINING_EMBEDDING_CACHE") or None)
    misses = cache.misses
    cache.encode(sorted(texts))
    return {"texts": len(texts), "encoded": cache.misses - misses}


def serve(client, token: str, cases: list[Case], k: int, exclude: str, warm: int, desc: str) -> Pass:
    """GET /api/resumes/{id}/jobs/ for every case (after one untimed warm-up request for resume ``warm``)."""
    from matching import cache as mcache

    mcache.invalidate_all()
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    query = f"?k={k}" + ("&exclude=viewed" if exclude == "server" else "")
    client.get(f"/api/resumes/{warm}/jobs/{query}", **auth)
    out = Pass()
    for c in tqdm(cases, desc=desc, unit="req", mininterval=2):
        t0 = time.perf_counter()
        resp = client.get(f"/api/resumes/{c.resume}/jobs/{query}", **auth)
        out.seconds.append(time.perf_counter() - t0)
        if resp.status_code != 200:
            out.meta[f"status={resp.status_code}"] += 1
            out.ranks.append(None)
            out.own_returned.append(0)
            out.lengths.append(0)
            continue
        body = resp.json()
        out.add(body)
        ids = [int(row["job"]) for row in body.get("results", [])]
        rank, n_own = S.rank_in(ids, c.job, c.own)
        out.ranks.append(rank)
        out.own_returned.append(n_own)
        out.lengths.append(len(ids))
    return out


def path_summary(p: Pass, masks: dict, boot: int) -> dict:
    per = _per_case([S.served_metrics(r) for r in p.ranks])
    n = max(1, len(p.ranks))
    return {
        "metrics": S.summarise(per, masks, boot),
        "latency": S.latency(p.seconds),
        "latency_by_subset": {s: S.latency(np.asarray(p.seconds)[m]) for s, m in masks.items() if s != "all"},
        "server_ms_mean": {k: round(float(np.mean(v)), 1) for k, v in p.server_ms.items()},
        "answers": {k: v for k, v in p.meta.items() if k != "reranked_total"},
        "mean_reranked": round(p.meta["reranked_total"] / n, 1),
        "mean_results": round(float(np.mean(p.lengths)) if p.lengths else 0.0, 1),
        "own_training_jobs_returned": int(np.sum(p.own_returned)),
        "_per_case": per,
    }


def _per_case(rows: list[dict]) -> dict[str, np.ndarray]:
    return {m: np.array([r[m] for r in rows], dtype=np.float64) for m in S.METRICS}


# ------------------------------------------------------------------------------------------------ training
def train() -> dict:
    """Train, evaluate and promote in this process (what `manage.py train_model` does when eager). A version
    that is not promoted is activated anyway (recorded), so that the served figures are the trained model's."""
    from matching.console import train_in_process
    from matching.models import ModelVersion
    from matching.training.activation import activate

    run = train_in_process(say=lambda s: print("   " + s, flush=True), show_progress=True)
    version = run.model_version
    out = {"run_status": run.status, "run_error": run.error, "config": run.config}
    if version is None:
        return out
    version.refresh_from_db()
    metrics = version.metrics or {}
    out.update(
        version=version.version,
        promoted=version.status == ModelVersion.Status.ACTIVE,
        promotion=(metrics.get("promotion") or {}).get("reason") or version.notes,
        holdout_ndcg_at_10=metrics.get("ndcg_at_10"),
        holdout_zero_shot_ndcg_at_10=(metrics.get("zero_shot") or {}).get("ndcg_at_10"),
        timings=metrics.get("timings"),
        refit=metrics.get("refit"),  # trained again with the held-out slice before it served
    )
    if version.status == ModelVersion.Status.CANDIDATE:
        activate(version.pk, reason="bench/served_quality.py: activated to measure what it serves")
        out["activated_by_bench"] = True
        version.refresh_from_db()
    out["space_ready_when_served"] = getattr(version, "space_ready", None)
    return out


# ------------------------------------------------------------------------------------------------ offline
def _resumes(cases: list[Case]):
    from recruiting.models import Resume

    return Resume.objects.select_related("candidate").in_bulk([c.resume for c in cases])


def _events(model, cases: list[Case]) -> tuple[dict[int, list] | None, str]:
    """Each applicant's current interactions, for rank_jobs as serving passes them (None: the model takes none)."""
    import inspect

    if "interactions" not in inspect.signature(model.rank_jobs).parameters:
        return None, "not passed: rank_jobs takes no interactions (not there yet)"
    try:
        from matching.model_space import interaction_events
    except ImportError:
        return None, "not passed: matching.model_space.interaction_events missing"
    events = interaction_events("resume", [c.resume for c in cases])
    return {
        c.resume: list(events.get(c.resume, [])) for c in cases
    }, "passed: the applicant's current interactions"


def _settled(version, cases: list[Case], events: dict[int, list] | None) -> np.ndarray:
    """Per case: every interaction of the applicant is older than the version's held-out slice, so the model
    trained on all of them and passing them changes nothing (checked below on a few applicants)."""
    from datetime import datetime

    start = (version.data_window or {}).get("holdout_start")
    if events is None:
        return np.ones(len(cases), dtype=bool)
    if not start:
        return np.zeros(len(cases), dtype=bool)
    cut = datetime.fromisoformat(start).timestamp()
    return np.array([all(e.timestamp < cut for e in events[c.resume]) for c in cases], dtype=bool)


@dataclass
class _Catalogue:
    """Every open job the recruiter sees, as the model reads it."""

    docs: list
    ids: np.ndarray

    def without(self, own: frozenset[int]) -> np.ndarray:
        return np.flatnonzero(~np.isin(self.ids, list(own)))


def _score_alone(model, cat: _Catalogue, rdoc, c: Case, events) -> tuple[np.ndarray, np.ndarray]:
    """(scores, job ids): ``model.rank_jobs`` for one applicant, with their interactions when it takes them."""
    keep = cat.without(c.own)
    kw = {} if events is None else {"interactions": events[c.resume]}
    return model.rank_jobs(rdoc, [cat.docs[i] for i in keep], **kw).total, cat.ids[keep]


def _score_group(
    model, cat: _Catalogue, rdocs: list, group: list[Case]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """rank_jobs for several applicants in one score_pairs call (the same pairs, no interactions): the job
    side is computed once instead of once per applicant."""
    keeps = [cat.without(c.own) for c in group]
    pairs = np.concatenate([np.stack([k, np.full(len(k), b)], 1) for b, k in enumerate(keeps)])
    total = np.asarray(model.score_pairs(cat.docs, rdocs, pairs).total)
    parts = np.split(total, np.cumsum([len(k) for k in keeps])[:-1])
    return [(p, cat.ids[k]) for p, k in zip(parts, keeps, strict=True)]


def offline(user, cases: list[Case], masks: dict, boot: int) -> dict:
    """The active version's model ranks every open job the recruiter sees minus the applicant's own training
    jobs (exact tie-aware metrics) and keeps each applicant's top 50 for the first-stage check. Applicants with
    interactions the model did not train on get their own ``rank_jobs(..., interactions=...)`` call, as served;
    the others are scored in groups of 32 (one ``score_pairs`` call), checked against single calls on three."""
    from matching import documents, selectors

    am = selectors.active_model()
    if am.model is None:
        return {"absent": "no trained model active"}
    model = selectors.load_model_cached(am.version)
    job_docs = list(documents.iter_job_docs(selectors.job_pool(user)))
    cat = _Catalogue(job_docs, np.array([int(d.id) for d in job_docs], dtype=np.int64))
    resumes = _resumes(cases)
    rdocs = [documents.resume_doc(resumes[c.resume]) for c in cases]
    events, how = _events(model, cases)
    settled = _settled(am.version, cases, events)
    scored: list = [None] * len(cases)
    t0 = time.perf_counter()
    with tqdm(total=len(cases), desc="offline", unit="applicant", mininterval=2) as bar:
        for n in np.flatnonzero(~settled):
            scored[n] = _score_alone(model, cat, rdocs[n], cases[n], events)
            bar.update(1)
        group_idx = np.flatnonzero(settled)
        for s in range(0, len(group_idx), 32):
            idx = group_idx[s : s + 32]
            for n, res in zip(
                idx, _score_group(model, cat, [rdocs[i] for i in idx], [cases[i] for i in idx]), strict=True
            ):
                scored[n] = res
            bar.update(len(idx))
    seconds = time.perf_counter() - t0
    check = [
        float(np.max(np.abs(_score_alone(model, cat, rdocs[n], cases[n], events)[0] - scored[n][0])))
        for n in np.flatnonzero(settled)[:3]
    ]
    if check and max(check) > 1e-4:  # grouping is not exact with this model: every applicant on their own
        for n in np.flatnonzero(settled):
            scored[n] = _score_alone(model, cat, rdocs[n], cases[n], events)
        how += f"; groups differed from single calls by {max(check):.2g}, so every applicant was scored alone"
    rows = [
        S.scores_metrics(sc, int(np.flatnonzero(ids == c.job)[0]))
        for (sc, ids), c in zip(scored, cases, strict=True)
    ]
    per = _per_case(rows)
    return {
        "version": am.version.version,
        "catalogue": len(job_docs),
        "interactions": how,
        "scored_alone": int((~settled).sum()),
        "scored_in_groups": int(settled.sum()),
        "group_vs_alone_max_abs_diff": max(check) if check else None,
        "seconds": round(seconds, 1),
        "metrics": S.summarise(per, masks, boot),
        "_per_case": per,
        "_top50": [S.top_ids(sc, ids, 50) for sc, ids in scored],
    }


def sample(n_cases: int, n: int | None, seed: int) -> np.ndarray:
    """Sorted positions of a seeded sample of ``n`` cases (all of them when ``n`` is None or large enough)."""
    if n is None or n >= n_cases:
        return np.arange(n_cases)
    return np.sort(np.random.default_rng(seed).choice(n_cases, size=n, replace=False))


def first_stage(
    user, cases: list[Case], top50: list[list[int]] | None, masks: dict, pick: np.ndarray
) -> dict:
    """What the reranker was handed, for the sampled cases ``pick`` (``Ranking.candidate_ids``: the nearest
    neighbours of the query and of its history); was the test job among them, and how much of the model's
    offline top 50."""
    from matching import retrieval
    from matching.filters import Filters

    rk = retrieval.rerank_k()
    filters = Filters(exclude=VIEW_KINDS)
    resumes = _resumes([cases[n] for n in pick])
    hit, overlap, sizes, spaces = [], [], [], Counter()
    for n in tqdm(pick, desc="first stage", unit="applicant", mininterval=2):
        c = cases[n]
        ranking = retrieval.rank_jobs(resumes[c.resume], user=user, k=rk, filters=filters)
        cand = set(ranking.candidate_ids)
        hit.append(float(c.job in cand))
        sizes.append(ranking.reranked)
        spaces[ranking.space] += 1
        if top50 is not None:
            overlap.append(len(cand & set(top50[n])) / max(1, len(top50[n])))
    sub = {s: m[pick] for s, m in masks.items()}
    hit_a = np.asarray(hit)
    out = {
        "applicants": len(pick),
        "rerank_k": rk,
        "retrieve_k": retrieval.retrieve_k(),
        "history_k": retrieval.history_k(),
        "spaces": dict(spaces),
        "mean_candidates": round(float(np.mean(sizes)), 1) if sizes else 0.0,
        "test_job_reached_reranker": {s: _mean(hit_a[m]) for s, m in sub.items()},
    }
    if top50 is not None:
        ov = np.asarray(overlap)
        out["offline_top50_recall"] = {s: _mean(ov[m]) for s, m in sub.items()}
    return out


def _mean(v) -> float | None:
    return float(np.mean(v)) if len(v) else None


def quality_row(split, cases: list[Case], masks: dict, args) -> dict:
    """bench/quality.py's full network (its cap and cache; the selection rule the platform trains with), trained
    on the split's training views, ranking the whole catalogue (every job minus the applicant's own training jobs) for the same applicants."""
    from bench._tandem import TandemRow
    from bench.quality import QUICK_TANDEM_MINUTES, TANDEM_MINUTES, get_cache

    minutes = QUICK_TANDEM_MINUTES if args.quick else TANDEM_MINUTES
    # the row is TrainConfig's defaults (the selection rule the platform trains with), capped like bench/quality.py
    overrides = {"max_minutes": minutes, **({"epochs": 1} if args.quick else {})}
    cache = get_cache()
    row = TandemRow("tandem-full", cache, seed=args.seed, overrides=overrides)
    t0 = time.perf_counter()
    row.fit(split)
    fit_s = time.perf_counter() - t0
    n_jobs = len(split.data.jobs)
    rows = []
    for s in range(0, len(cases), 100):  # a hundred applicants (~0.6M pairs) per score_pairs call
        chunk = cases[s : s + 100]
        query = []
        for c in chunk:
            r = int(split.test_resume[c.t])
            query.append((r, np.setdiff1d(np.arange(n_jobs), split.clean_history.get(r, []))))
        for c, (_, cands), scores in zip(chunk, query, row.score_batch(split, query), strict=True):
            rows.append(S.scores_metrics(scores, int(np.searchsorted(cands, split.test_job[c.t]))))
    if cache.path:
        cache.save()
    per = _per_case(rows)
    return {
        "row": "tandem-full",
        "config": row.tuned,
        "fit_seconds": round(fit_s, 1),
        "catalogue": n_jobs,
        "metrics": S.summarise(per, masks, args.boot),
        "_per_case": per,
    }


# ------------------------------------------------------------------------------------------------ the run
def masks_of(cases: list[Case]) -> dict[str, np.ndarray]:
    prof = np.array([c.profile for c in cases], dtype=bool)
    return {"all": np.ones(len(cases), dtype=bool), "profile": prof, "no_profile": ~prof}


def warm_resume(org, cases: list[Case]) -> int:
    """A resume that is no test case (for the untimed warm-up request), else the first case's."""
    from recruiting.models import Resume

    pk = (
        Resume.objects.filter(candidate__organization=org)
        .exclude(pk__in=[c.resume for c in cases])
        .values_list("pk", flat=True)
        .first()
    )
    return int(pk) if pk is not None else cases[0].resume


def run(args, tmp: Path, stages: Stages) -> dict:
    env = configure_env(args, tmp)
    with stages("setup (database, migrations)"):
        create_db()
        start_django()
    try:
        return {"environment": env, **pipeline(args, tmp, stages)}
    finally:
        _clean_redis()
        if not args.keep_db:
            drop_db()


def _clean_redis() -> None:
    """Leave nothing of ours in the Redis db: the cached rankings and their reference sets."""
    from matching import cache as mcache

    mcache.invalidate_all()
    r = mcache.client.get()
    if r is not None:
        keys = list(r.scan_iter(match=f"{mcache.REF_PREFIX}*", count=1000))
        for i in range(0, len(keys), 500):
            r.unlink(*keys[i : i + 500])


def pipeline(args, tmp: Path, stages: Stages) -> dict:
    from recruiting.models import JOB_FIELDS

    with stages("load"):
        data, split = load_split(args)
    employer = "employer" in JOB_FIELDS
    with stages("write import files"):
        files, counts = write_files(data, split, args, tmp, employer)
    org, user, token = make_recruiter()
    with stages("import"):
        imported = import_all(org, user, files)
    cases, coverage = platform_cases(org, split)
    if not cases:
        raise SystemExit(f"no test applicant made it onto the platform: {coverage}")
    masks = masks_of(cases)
    with stages("embed"):
        embedded = embed()
    client, warm = _client(), warm_resume(org, cases)
    exclude = probe_exclude(client, token, warm)
    zs_pick = sample(len(cases), args.zero_shot_requests or None, args.seed)
    with stages("zero-shot warm-up (reasons' section vectors)"):
        warmed = warm_reasons(user, cases)
    with stages("serve zero-shot"):
        zero_shot = serve(client, token, [cases[n] for n in zs_pick], args.k, exclude, warm, "zero-shot")
    with stages("train"):
        trained = train()
    with stages("serve trained"):
        served = serve(client, token, cases, args.k, exclude, warm, "trained")
    with stages("offline"):
        off = offline(user, cases, masks, args.boot)
    with stages("first stage"):
        first = first_stage(
            user, cases, off.get("_top50"), masks, sample(len(cases), args.first_stage, args.seed)
        )
    quality = None
    if not args.no_quality_row:
        with stages("quality row"):
            quality = quality_row(split, cases, masks, args)
    out = {
        "data": _data_info(data, split, coverage, counts, masks, employer),
        "import": imported,
        "embedding": embedded,
        "exclude": exclude,
        "zero_shot": {
            **path_summary(zero_shot, {k: m[zs_pick] for k, m in masks.items()}, args.boot),
            "warmed_sections": warmed,
        },
        "training": trained,
        "served": path_summary(served, masks, args.boot),
        "offline": off,
        "first_stage": first,
        "quality_row": quality,
    }
    out["paired_served_minus_offline"] = paired(out, masks, args.boot)
    return out


def _data_info(data, split, coverage: dict, counts: dict, masks: dict, employer: bool) -> dict:
    return {
        "n_applicants": len(data.resumes),
        "n_jobs": len(data.jobs),
        "n_views": len(data.interactions),
        "n_train_views": len(split.train_events),
        "n_with_profile": sum(1 for r in data.resumes if r.full_text().strip()),
        **coverage,
        "test_with_profile": int(masks["profile"].sum()),
        "test_without_profile": int(masks["no_profile"].sum()),
        "import_rows": counts,
        "job_employer_column": employer,
        "not_carried": ["Industry (JobDoc.category): the platform has no such job field"]
        + (
            []
            if employer
            else ["Company: no Job.employer column yet (the job's company is the organization)"]
        ),
    }


def paired(result: dict, masks: dict, boot: int) -> dict:
    """Per applicant, served (trained) minus offline, for NDCG@10 and Recall@50."""
    s, o = result["served"].get("_per_case"), result["offline"].get("_per_case")
    if s is None or o is None:
        return {}
    return {
        m: {sub: S.mean_ci(s[m][mask] - o[m][mask], boot=boot) for sub, mask in masks.items()}
        for m in ("ndcg@10", "recall@50")
    }


# ------------------------------------------------------------------------------------------------ verdicts
def _metric(block: dict | None, subset: str, metric: str) -> float | None:
    if not block or "metrics" not in block:
        return None
    return block["metrics"].get(subset, {}).get(metric, [None])[0]


def verdicts(result: dict) -> list[str]:
    lines = [
        S.ratio_verdict(
            m,
            "applicants with a profile" if sub == "profile" else "applicants without a profile",
            _metric(result["served"], sub, m),
            _metric(result["offline"], sub, m),
            SHARE,
        )
        for m in ("ndcg@10", "recall@50")
        for sub in ("profile", "no_profile")
    ]
    lines.append(_quality_verdict(result))
    lines.append(_latency_verdict(result))
    imp = result["import"]
    total, fallback = imp["import_plus_fallback_seconds"], imp["empty_resumes_created_through_services"]
    lines.append(
        f"GOAL the real data imported in <= {IMPORT_LIMIT_S:.0f} s: {total:.1f} s"
        + (
            f" (incl. {imp['fallback_seconds']:.1f} s creating {fallback} refused empty resumes)"
            if fallback
            else ""
        )
        + f" -> {'MET' if total <= IMPORT_LIMIT_S else 'NOT MET'}"
    )
    return lines


def _quality_verdict(result: dict) -> str:
    head = (
        f"GOAL platform-trained model's offline NDCG@10 within {NDCG_GAP} of bench/quality.py's full network"
    )
    platform_v = _metric(result["offline"], "all", "ndcg@10")
    quality_v = _metric(result.get("quality_row"), "all", "ndcg@10")
    if platform_v is None or quality_v is None:
        why = "no trained model active" if platform_v is None else "--no-quality-row"
        return f"{head}: NOT EVALUATED ({why}) NOT MET"
    n = result["offline"]["metrics"]["all"]["n"]
    met = platform_v >= quality_v - NDCG_GAP
    return (
        f"{head} (both ranking the whole catalogue for the same {n} applicants, computed in this run): "
        f"platform {S.fmt(platform_v)} vs bench/quality {S.fmt(quality_v)} ({platform_v - quality_v:+.3f}) "
        f"-> {'MET' if met else 'NOT MET'}"
    )


def _latency_verdict(result: dict) -> str:
    trained, zs = result["served"]["latency"]["p95_ms"], result["zero_shot"]["latency"]["p95_ms"]
    head = "GOAL p95 per request no worse than the zero-shot path at the same size"
    if trained is None or zs is None:
        return f"{head}: NOT EVALUATED NOT MET"
    return (
        f"{head}: trained {trained:.0f} ms ({result['served']['latency']['n']} requests) vs zero-shot {zs:.0f} ms "
        f"({result['zero_shot']['latency']['n']} requests) "
        f"(medians {result['served']['latency']['p50_ms']:.0f} / {result['zero_shot']['latency']['p50_ms']:.0f} ms)"
        f" -> {'MET' if trained <= zs else 'NOT MET'}"
    )


# ------------------------------------------------------------------------------------------------ report
def notes(result: dict) -> list[str]:
    """What ran differently from the issue's plan because a feature is not there (yet)."""
    out = []
    imp = result["import"]
    if imp["empty_resumes_rejected_by_import"]:
        out.append(
            f"empty resumes rejected by the import: {imp['empty_resumes_rejected_by_import']} "
            "(created through recruiting.services.resume_create instead, so their views still count)"
        )
    if result["exclude"] != "server":
        out.append(
            "exclude=viewed not accepted by the API: the applicant's own training jobs are dropped from the returned "
            "list by the bench (Recall@100 then counts fewer than 100 other jobs)"
        )
    for name, report in imp["reports"].items():
        if report.get("rejected_count"):
            reasons = "; ".join(f"{r} ({n})" for r, n in report.get("rejected_reasons", {}).items())
            out.append(f"the import rejected {report['rejected_count']} row(s) of {name}: {reasons}")
    out += [f"not carried into the platform: {n}" for n in result["data"]["not_carried"]]
    if result["training"].get("activated_by_bench"):
        out.append(
            f"the trained version was not promoted ({result['training'].get('promotion')}); the bench activated it"
        )
    inter = result["offline"].get("interactions")
    if inter and not inter.startswith("passed"):
        out.append(f"offline ranking without the applicant's interactions: {inter}")
    return out


def _cells(block: dict | None, pairs) -> list[str]:
    return [S.fmt(_metric(block, sub, m)) for sub, m in pairs]


def markdown(result: dict) -> str:
    meta = result["meta"]
    L = [SECTION, ""]
    L.append(
        f"Run {meta['finished']} on {meta['machine']} ({meta['cpus']} cores, load average "
        f"{' '.join(map(str, meta['load_start']))} at the start, {' '.join(map(str, meta['load_end']))} at the end), "
        f"{'**--quick** (plumbing check, numbers not meaningful)' if meta['quick'] else 'full run'}, "
        f"{meta['total_seconds'] / 60:.1f} min wall. Command: `{meta['command'].strip()}`. "
        "JSON: `bench/results/served_quality.json`."
    )
    L += ["", _setup_line(result), ""]
    pairs = [("all", "ndcg@10"), ("profile", "ndcg@10"), ("no_profile", "ndcg@10"), ("all", "recall@10"),
             ("all", "recall@50"), ("profile", "recall@50"), ("no_profile", "recall@50"), ("all", "recall@100")]  # fmt: skip
    L.append(
        "| ranking | NDCG@10 all | NDCG@10 profile | NDCG@10 no profile | R@10 all | R@50 all | R@50 profile "
        "| R@50 no profile | R@100 all |"
    )
    L.append("|---|---|---|---|---|---|---|---|---|")
    rows = [
        ("served, trained model (API)", result["served"]),
        ("offline, same model, whole catalogue", result["offline"]),
        ("bench/quality.py full network, whole catalogue", result.get("quality_row")),
        (
            f"served, zero-shot (API, before training; {result['zero_shot']['latency']['n']} of the applicants)",
            result["zero_shot"],
        ),
    ]
    for name, block in rows:
        L.append(f"| {name} | " + " | ".join(_cells(block, pairs)) + " |")
    L += ["", *_serving_lines(result), "", "**Verdicts**", ""]
    L += [f"- {v}" for v in result["verdicts"]]
    if result["notes"]:
        L += ["", "Notes: " + "; ".join(result["notes"]) + "."]
    L.append("")
    return "\n".join(L)


def _setup_line(result: dict) -> str:
    data, tr, fs = result["data"], result["training"], result["first_stage"]
    return (
        f"{data['n_applicants']} applicants, {data['n_jobs']} jobs, {data['n_train_views']} training views imported; "
        f"{data['on_platform']} test applicants ({data['test_with_profile']} with a profile, "
        f"{data['test_without_profile']} without), each asked `GET /api/resumes/{{id}}/jobs/?k={result['meta']['k']}"
        f"{'&exclude=viewed' if result['exclude'] == 'server' else ''}`. Model v{tr.get('version')} "
        f"(held-out NDCG@10 {S.fmt(tr.get('holdout_ndcg_at_10'))} vs zero-shot "
        f"{S.fmt(tr.get('holdout_zero_shot_ndcg_at_10'))}); first stage in {', '.join(fs.get('spaces', {}))}, "
        f"{fs.get('mean_candidates')} candidates reranked (rerank K {fs.get('rerank_k')}). Offline: the active "
        "version's model ranks every open job minus the applicant's training jobs (exact, ties at random); served: "
        "the test job's rank in the returned list (absent = 0)."
    )


def _serving_lines(result: dict) -> list[str]:
    zs, sv, fs, st = result["zero_shot"], result["served"], result["first_stage"], result["stages"]
    reach, top = fs.get("test_job_reached_reranker", {}), fs.get("offline_top50_recall", {})
    L = [
        "Time per request (Django test client, uncached: the match cache is flushed before each path; one untimed "
        "warm-up request first; the zero-shot reasons' section vectors of every job and test resume filled "
        "beforehand, as the trained path finds them in the model's cache):",
        "",
        "| path | p50 ms | p95 ms | p99 ms | requests |",
        "|---|---|---|---|---|",
    ]
    for name, block in (("zero-shot", zs), ("trained", sv)):
        lat = block["latency"]
        L.append(f"| {name} | {lat['p50_ms']} | {lat['p95_ms']} | {lat['p99_ms']} | {lat['n']} |")
    imp = result["import"]["reports"]
    L += [
        "",
        f"First stage ({fs.get('applicants')} applicants, seeded sample): the test job reached the reranker for "
        f"{S.fmt(reach.get('all'))} of them "
        f"({S.fmt(reach.get('profile'))} with a profile, {S.fmt(reach.get('no_profile'))} without); "
        f"{S.fmt(top.get('all'))} of the model's own offline top 50 were among the candidates.",
        "",
        "Time per stage: "
        + ", ".join(f"{k} {v['seconds']:.0f} s" for k, v in st.items())
        + " (import: "
        + ", ".join(f"{k} {v['seconds']:.0f} s" for k, v in imp.items())
        + ").",
    ]
    return L


def _public(x):
    """JSON-ready: numpy values as numbers, NaN as null, keys starting with '_' (per-case arrays) left out."""
    if isinstance(x, dict):
        return {str(k): _public(v) for k, v in x.items() if not str(k).startswith("_")}
    if isinstance(x, list | tuple):
        return [_public(v) for v in x]
    if isinstance(x, np.generic):
        return _public(x.item())
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def _meta(args, argv, t0: float, c0: float, la: list[float]) -> dict:
    import torch

    return {
        "command": "bench/served_quality.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick,
        "k": args.k,
        "seed": args.seed,
        "max_applicants": args.max_applicants or (QUICK_APPLICANTS if args.quick else None),
        "bootstrap": args.boot,
        "data_dir": args.data_dir,
        "machine": platform.machine() + " " + platform.system(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_start": la,
        "load_end": load(),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "total_cpu_seconds": round(time.process_time() - c0, 1),
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    if not 1 <= args.k <= 100:
        raise SystemExit("--k must be within 1..100 (the API's limit)")
    t0, c0, la = time.perf_counter(), time.process_time(), load()
    stages = Stages()
    tmp = Path(tempfile.mkdtemp(prefix="tandem-served-"))
    try:
        result = run(args, tmp, stages)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result["stages"] = stages.rows
    result["meta"] = _meta(args, argv, t0, c0, la)
    from django.conf import settings

    from matching import retrieval

    result["meta"]["settings"] = {
        "MATCH_RETRIEVE_K": retrieval.retrieve_k(),
        "MATCH_RERANK_K": retrieval.rerank_k(),
        "MATCH_HISTORY_K": retrieval.history_k(),
        "TRAINING_FINAL_REFIT": settings.TRAINING_FINAL_REFIT,
    }
    result["notes"] = notes(result)
    result["verdicts"] = verdicts(result)
    md = None if args.no_docs else markdown(result)
    publish(result, Path(args.out), jsonable=_public, markdown=md, heading=SECTION)
    return result


if __name__ == "__main__":
    main()
