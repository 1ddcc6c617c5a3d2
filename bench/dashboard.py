"""Dashboard page times at the demo's size: server time of every main page, as a signed-in user gets it.

    python bench/dashboard.py            # the demo's data (200 jobs, 600 resumes, 3000 interactions), MiniLM,
                                         # a trained model as `make demo` trains it; 15 timed requests per page
    python bench/dashboard.py --quick    # no training (zero-shot), 5 requests per page (< 2 minutes)

Runs `manage.py demo` into its own PostgreSQL database (`tandem_bench_dashboard`, created and dropped) with
Celery eager, then requests each page through Django's full request handler (middleware, session, view,
templates: everything but the network) as the demo's admin or candidate. Server time per request; the first
request of each page is reported apart (it pays one-off process costs: loading the model, matplotlib).
Ranked pages are timed twice: cached (the Redis match cache, as a recruiter reloading gets them) and
uncached (the cache emptied before every request). Writes bench/results/dashboard.json (with `verdicts`)
and the "Dashboard" section of docs/results.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS_JSON = ROOT / "bench" / "results" / "dashboard.json"
BENCH_DB = os.environ.get("BENCH_DASHBOARD_DB", "postgres://postgres@127.0.0.1:5432/tandem_bench_dashboard")
BUDGET_MS = 200.0


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="no training, 5 requests per page")
    ap.add_argument("--repeats", type=int, default=None, help="timed requests per page (default 15; quick 5)")
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"))
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--out", default=str(RESULTS_JSON))
    ap.add_argument("--no-docs", action="store_true")
    return ap.parse_args(argv)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _psql(sql: str) -> None:
    u = urlparse(BENCH_DB)
    name = u.path.lstrip("/")
    if not re.fullmatch(r"[a-z0-9_]*bench[a-z0-9_]*", name):
        raise SystemExit(f"refusing to create/drop database {name!r}: its name must contain 'bench'")
    cmd = ["psql", "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    subprocess.run(
        [*cmd, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True
    )


def configure(args, tmp: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": BENCH_DB,
            "REDIS_URL": args.redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "DEBUG": "0",
            "SECURE_SSL": "0",  # plain HTTP on 127.0.0.1 (no TLS proxy in front)
            "TANDEM_VAR_DIR": str(tmp / "var"),
            "MODEL_STORAGE_ROOT": str(tmp / "var" / "models"),
            "MEDIA_ROOT": str(tmp / "var" / "media"),
            "TRAINING_EMBEDDING_CACHE": str(tmp / "sections.npz"),
            "TRAINING_LOCK_KEY": "tandem:bench:dashboard:lock",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
    )
    os.environ.pop("MODEL_STORAGE", None)


def set_up_demo(args) -> dict:
    """`manage.py demo` into the bench database; returns the seconds it took."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from matching import cache

    cache.invalidate_all()
    t0 = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command("demo", skip_training=args.quick, stdout=quiet)
    if args.quick:
        from matching.console import embed_backfill

        embed_backfill(show_progress=False)
    return {"demo_seconds": round(time.perf_counter() - t0, 1)}


def pages() -> list[tuple[str, str, str, bool]]:
    """(label, user, url, uncached): every main page, with the demo's objects."""
    from django.db.models import Count

    from matching.models import TrainingRun
    from recruiting.management.commands.demo import ADMIN_USERNAME, CANDIDATE_USERNAME, ORG_SLUG
    from recruiting.models import Candidate, Interaction, Job, Organization

    org = Organization.objects.get(slug=ORG_SLUG)
    busiest = (
        Interaction.objects.filter(job__organization=org, job__status="open")
        .values("job_id")
        .order_by()
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    job = Job.objects.get(pk=busiest["job_id"])
    candidate = Candidate.objects.filter(organization=org, resumes__interactions__isnull=False).first()
    run = TrainingRun.objects.order_by("-pk").first()
    a, c = ADMIN_USERNAME, CANDIDATE_USERNAME
    out = [
        ("jobs list", a, "/jobs/", False),
        ("jobs list, searched and filtered", a, "/jobs/?q=engineer&status=open&seniority=senior", False),
        ("job shortlist (cached ranking)", a, f"/jobs/{job.pk}/", False),
        ("job shortlist (uncached ranking)", a, f"/jobs/{job.pk}/", True),
        ("job shortlist, 50 rows, uncached", a, f"/jobs/{job.pk}/?filtered=1&k=50&exclude=rejected", True),
        ("new job form", a, "/jobs/new/", False),
        ("edit job form", a, f"/jobs/{job.pk}/edit/", False),
        ("candidates list", a, "/candidates/", False),
        ("candidate page (cached)", a, f"/candidates/{candidate.pk}/", False),
        ("candidate page (uncached)", a, f"/candidates/{candidate.pk}/", True),
        ("upload form", a, "/upload/", False),
        ("import form", a, "/import/", False),
        ("models page", a, "/models/", False),
        ("models: metrics plot (SVG)", a, "/models/metrics.svg", False),
        ("organization analytics", a, f"/analytics/{org.pk}/", False),
        ("organization funnel plot (SVG)", a, f"/analytics/{org.pk}/funnel.svg", False),
        ("organization time-in-stage plot (SVG)", a, f"/analytics/{org.pk}/durations.svg", False),
        ("job analytics", a, f"/jobs/{job.pk}/analytics/", False),
        ("candidate's recommended jobs (cached)", c, "/me/jobs/", False),
        ("candidate's recommended jobs (uncached)", c, "/me/jobs/", True),
    ]
    if run is not None:
        out += [
            ("training run page", a, f"/models/runs/{run.pk}/", False),
            ("training run curves (SVG)", a, f"/models/runs/{run.pk}/curves.svg", False),
        ]
    return out


def time_pages(repeats: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from matching import cache

    clients: dict[str, Client] = {}
    rows = []
    for label, username, url, uncached in pages():
        client = clients.get(username)
        if client is None:
            client = clients[username] = Client()
            client.force_login(get_user_model().objects.get(username=username))
        times = []
        status = None
        for _ in range(repeats + 1):
            if uncached:
                cache.invalidate_all()
            t0 = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - t0) * 1000
            status = response.status_code
            if status != 200:
                raise SystemExit(f"{label}: {url} answered {status}")
            times.append(elapsed)
        timed = sorted(times[1:])
        rows.append(
            {
                "page": label,
                "url": url,
                "first_ms": round(times[0], 1),
                "median_ms": round(statistics.median(timed), 1),
                "p95_ms": round(timed[min(len(timed) - 1, int(0.95 * len(timed)))], 1),
                "max_ms": round(timed[-1], 1),
                "requests": len(timed),
                "load": load(),
            }
        )
        print(
            f"  {label:<42} median {rows[-1]['median_ms']:7.1f} ms  p95 {rows[-1]['p95_ms']:7.1f} ms",
            flush=True,
        )
    return rows


def verdicts(rows: list[dict], quick: bool) -> list[str]:
    worst = max(rows, key=lambda r: r["median_ms"])
    worst_p95 = max(rows, key=lambda r: r["p95_ms"])
    met = worst["median_ms"] < BUDGET_MS
    scope = "zero-shot (--quick)" if quick else "with the demo's trained model"
    return [
        f"GOAL every dashboard page under {BUDGET_MS:.0f} ms server time at the demo's size ({scope}): "
        f"slowest median {worst['median_ms']:.0f} ms ({worst['page']}), slowest p95 {worst_p95['p95_ms']:.0f} ms "
        f"({worst_p95['page']}), {len(rows)} pages — {'MET' if met else 'NOT MET'}"
    ]


def markdown(result: dict) -> str:
    lines = [
        "## Dashboard",
        "",
        "`python bench/dashboard.py`: server time of each dashboard page (Django's full request handler, no network) "
        f"at the demo's size, {result['meta']['requests_per_page']} requests per page after one warm-up, "
        f"{result['meta']['model']}. The machine was shared with other engineers' work (load average "
        f"{result['meta']['load_start'][0]} at the start, {result['meta']['load_end'][0]} at the end), so these are "
        "upper bounds.",
        "",
        "| page | median ms | p95 ms | first request ms |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['page']} | {r['median_ms']:.0f} | {r['p95_ms']:.0f} | {r['first_ms']:.0f} |"
        for r in result["pages"]
    ]
    lines += ["", *[f"- {v}" for v in result["verdicts"]], ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 15)
    started, load_start = time.perf_counter(), load()
    with tempfile.TemporaryDirectory(prefix="tandem-bench-dashboard-") as tmp:
        configure(args, Path(tmp))
        name = urlparse(BENCH_DB).path.lstrip("/")
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _psql(f"CREATE DATABASE {name}")
        try:
            print(f"== demo data (load {load()[0]})", flush=True)
            setup = set_up_demo(args)
            from matching.models import ModelVersion

            active = ModelVersion.objects.filter(status="active").first()
            model = f"model v{active.version} active" if active else "zero-shot (no model active)"
            print(f"== pages ({model}, load {load()[0]})", flush=True)
            rows = time_pages(repeats)
        finally:
            from django.db import connections

            connections.close_all()
            if not args.keep_db:
                _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    result = {
        "meta": {
            "quick": args.quick,
            "requests_per_page": repeats,
            "model": model,
            "load_start": load_start,
            "load_end": load(),
            "total_seconds": round(time.perf_counter() - started, 1),
            "budget_ms": BUDGET_MS,
            **setup,
        },
        "pages": rows,
    }
    result["verdicts"] = verdicts(rows, args.quick)
    from bench._results_doc import publish

    publish(
        result,
        Path(args.out),
        jsonable=lambda r: r,
        markdown=None if args.no_docs or args.quick else markdown(result),
        heading="## Dashboard",
    )


if __name__ == "__main__":
    main()
