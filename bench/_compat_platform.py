"""bench/compatibility.py, platform part: how long a promoted version takes to serve, at growing corpora, and the
backfill's throughput. Runs the platform's own services on a private PostgreSQL database (dropped at the end).

1. A small synthetic platform (ml.data.synthetic written by tests/matching/synthetic_platform.py), the
   deployment's encoder (MiniLM); version 1 trained and promoted (its whole space written), version 2 trained
   and compared, left a candidate.
2. The corpus grows to each size by copying one resume server-side (its headline numbered, so every text
   differs), each copy stored with a version 1 vector (the original resumes' vectors, cycled) and, as the
   embedding worker stores them, its section vectors (``SectionVectors``: the template's vectors, under the
   text hashes of the copy's own sections, checked against the copy's text). Version 1's index is built and held
   as a serving process holds it (not timed: it exists before any promotion).
3. Timed: `prepare_compatible` (the model artifact loaded, the projection fitted on the sample), `activate`,
   and the first ranked-candidates request after it (the mixed search over a million resumes). The backfill
   task that activation queues is recorded, not run (a worker on the backfill queue takes it); then rollback,
   and the next size.
4. Backfill throughput: `run_backfill` for a fixed number of batches at the largest size.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from contextlib import contextmanager, suppress

from ml.embedding import text_hash

SECTIONS_STORED = 100_000  # resumes with stored section vectors, at most (see _copy_sections)
BENCH_DB = os.environ.get("TANDEM_COMPAT_BENCH_DB", "tandem_compat_bench")
PG = os.environ.get("TANDEM_COMPAT_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


@contextmanager
def timing_lock():
    """Hold the machine-wide benchmark lock (TANDEM_BENCH_LOCK, e.g. /tmp/bench.lock) at normal priority for a
    timed part only: the setup and the seeding (minutes of inserts) run at the process's own nice level without
    it, so they neither wait for nor delay the other timing runs more than the measurement needs."""
    path = os.environ.get("TANDEM_BENCH_LOCK")
    if not path:
        yield
        return
    tids = [int(t) for t in os.listdir("/proc/self/task")]
    before = {t: os.getpriority(os.PRIO_PROCESS, t) for t in tids}
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        for t in tids:  # every thread (torch's too): Linux keeps a nice level per thread
            os.setpriority(os.PRIO_PROCESS, t, 0)
        try:
            yield
        finally:
            for t, nice in before.items():
                with suppress(ProcessLookupError):
                    os.setpriority(os.PRIO_PROCESS, t, nice)
            fcntl.flock(f, fcntl.LOCK_UN)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def _drop_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def _setup_django(var_dir: str) -> None:
    os.environ["DATABASE_URL"] = f"{PG}/{BENCH_DB}"
    os.environ["TANDEM_VAR_DIR"] = var_dir
    os.environ["MODEL_STORAGE_ROOT"] = os.path.join(var_dir, "models")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["TRAINING_LOCK_KEY"] = f"tandem:compat-bench:{os.getpid()}"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.FIRST_MODEL_POLICY = "always"
    settings.PROMOTION_MARGIN = -1.0
    settings.TRAINING_FINAL_REFIT = False
    settings.TRAINING_EMBEDDING_CACHE = os.path.join(var_dir, "sections.npz")  # v2 reuses v1's encodes
    settings.MATCH_CACHE_ENABLED = False
    settings.TRAINING_CONFIG = {**getattr(settings, "TRAINING_CONFIG", {}), "epochs": 2}
    call_command("migrate", verbosity=0)


def _train(promote: bool):
    from matching.models import ModelVersion
    from matching.training import promotion, runs

    run, _ = runs.start_training_run(enqueue=False)
    vid = runs.train_run(run.pk)
    promotion.compare_with_active(vid)
    if promote:
        promotion.promote_if_better(vid)
    runs.finish_run(run.pk)
    return ModelVersion.objects.get(pk=vid)


def _grow(n_total: int, template_id: int, base_space: str) -> None:
    """Copy the template resume server-side until there are ``n_total`` resumes, each with a base vector."""
    from django.db import connection

    from recruiting.models import Resume

    have = Resume.objects.count()
    if have >= n_total:
        return
    with connection.cursor() as cur:
        cur.execute("SET statement_timeout = 0")  # seeding a million rows outlasts the serving timeout
        cols = [c.name for c in connection.introspection.get_table_description(cur, "recruiting_resume")]
        cols = [c for c in cols if c != "id"]
        sel = []
        for c in cols:
            if c == "headline":
                sel.append("t.headline || ' #' || g")
            elif c == "content_hash":
                sel.append("md5(t.content_hash || g::text)")
            else:
                sel.append(f"t.{c}")
        last = Resume.objects.order_by("-pk").values_list("pk", flat=True).first()
        cur.execute(
            f"INSERT INTO recruiting_resume ({', '.join(cols)}) SELECT {', '.join(sel)} "
            "FROM recruiting_resume t, generate_series(%s, %s) g WHERE t.id = %s",
            [have + 1, n_total, template_id],
        )
        cur.execute(
            "WITH v AS (SELECT vector, dim, row_number() OVER (ORDER BY id) - 1 AS i FROM matching_documentvector "
            "WHERE space = %s AND kind = 'resume' AND resume_id <= %s), "
            "n AS (SELECT count(*) AS c FROM v) "
            "INSERT INTO matching_documentvector (kind, resume_id, space, content_hash, dim, vector, created_at, "
            "updated_at) SELECT 'resume', r.id, %s, r.content_hash, v.dim, v.vector, now(), now() "
            "FROM recruiting_resume r, n, v WHERE r.id > %s AND v.i = r.id %% n.c",
            [base_space, last, base_space, last],
        )
        _copy_sections(cur, template_id, last)
        cur.execute("ANALYZE")
        cur.execute("RESET statement_timeout")


def _copy_sections(cur, template_id: int, last: int) -> None:
    """Store the copies' section vectors as the embedding worker would: the template's vectors, keyed by the
    sha256 of the copy's own section texts (its headline and whole text carry the number), computed in SQL; for
    the first SECTIONS_STORED resumes only (6 KB a row: a million would be 6 GB written before the measurement).
    The later copies are documents embedded before section vectors were stored, so the sample must find the
    stored ones among a million (by random row ids of SectionVectors, as at any table size)."""
    from matching.documents import docs_with_hashes
    from matching.models import SectionVectors
    from matching.section_store import section_texts

    room = SECTIONS_STORED - SectionVectors.objects.filter(kind="resume").count()
    if room <= 0:
        return
    row = SectionVectors.objects.get(resume_id=template_id)
    doc = docs_with_hashes("resume", [template_id])[template_id][1]
    texts = section_texts(doc)  # headline, skills, experience, whole text (headline first)
    assert texts[0] and texts[-1].startswith(texts[0]), texts
    middle = row.text_hashes.split(",")[1:-1]
    h = "encode(sha256(convert_to({}, 'UTF8')), 'hex')"
    cur.execute(
        "INSERT INTO matching_sectionvectors (kind, resume_id, encoder_version, content_hash, text_hashes, dim, "
        f"vectors, updated_at) SELECT 'resume', r.id, s.encoder_version, r.content_hash, {h.format('r.headline')} "
        f"|| %s || {h.format('r.headline || %s')}, s.dim, s.vectors, now() FROM recruiting_resume r, "
        "matching_sectionvectors s WHERE s.id = %s AND r.id > %s AND r.id <= %s",
        ["," + ",".join(middle) + ",", texts[-1][len(texts[0]) :], row.pk, last, last + room],
    )
    new = SectionVectors.objects.filter(resume_id__gt=last)
    copies = [
        *new.order_by("resume_id").values_list("resume_id", "text_hashes")[:3],
        *new.order_by("-resume_id").values_list("resume_id", "text_hashes")[:3],
    ]
    docs = docs_with_hashes("resume", [pk for pk, _ in copies])
    for pk, hashes in copies:  # the stored keys are the copy's own: the fit finds them, as on the platform
        assert hashes == ",".join(text_hash(t) for t in section_texts(docs[pk][1])), pk


def _time_serving(v1, v2, job, user) -> dict:
    from matching import retrieval, selectors
    from matching.compat.projection import prepare_compatible
    from matching.index import loaded_indexes
    from matching.models import ModelVersion
    from matching.training import activation

    ModelVersion.objects.filter(pk=v2.pk).update(compat={}, backfill={})
    v2.refresh_from_db()
    selectors.clear_model_cache()
    t0 = time.perf_counter()
    ok = prepare_compatible(v2, selectors.load_model_cached(v2))
    t1 = time.perf_counter()
    activation.activate(v2.pk, reason="bench")
    t2 = time.perf_counter()
    ranking = retrieval.rank_candidates(job, user=user, k=20)
    t3 = time.perf_counter()
    assert ok and ranking.model_version == v2.version and "+" in ranking.space, (ok, ranking.space)
    out = {
        "fit_seconds": t1 - t0,
        "activate_seconds": t2 - t1,
        "first_ranking_seconds": t3 - t2,
        "serve_seconds": t3 - t0,
        "space": ranking.space,
        "first_ranking_timings_ms": {k: round(v, 1) for k, v in ranking.timings_ms.items()},
        "fitted_on": v2.compat.get("fitted_on"),
        "load": load(),
    }
    activation.activate(v1.pk, reason="bench rollback", rollback=True)
    loaded_indexes.peek(f"model:{v2.version}", "resume")  # (kept: the next size reuses nothing else)
    return out


def _backfill_throughput(v2, batches: int) -> dict:
    from django.conf import settings

    from matching.compat import backfill
    from matching.encoders import current_encoder
    from matching.models import DocumentVector, ModelVersion
    from matching.training import activation

    ModelVersion.objects.filter(pk=v2.pk).update(backfill={})
    activation.activate(v2.pk, reason="bench backfill")
    space = f"model:{v2.version}"
    before = DocumentVector.objects.filter(space=space).count()
    t = time.perf_counter()
    state = backfill.run_backfill(v2.pk, max_batches=batches)
    secs = time.perf_counter() - t
    docs = DocumentVector.objects.filter(space=space).count() - before
    return {
        "documents": docs,
        "written": state.get("written"),
        "seconds": secs,
        "docs_per_second": docs / secs,
        "batch": settings.COMPAT_BACKFILL_BATCH,
        "encoder": current_encoder().version,
        "load": load(),
    }


def run_platform(sizes: list[int], *, quick: bool) -> dict:
    print(f"== platform part, sizes {sizes}, load {load()}", flush=True)
    var_dir = tempfile.mkdtemp(prefix="compat-bench-")
    _recreate_database()
    try:
        _setup_django(var_dir)
        return _run(sizes, quick=quick)
    finally:
        from django.db import connections

        connections.close_all()
        _drop_database()


def _run(sizes: list[int], *, quick: bool) -> dict:
    from django.contrib.auth import get_user_model

    from matching import embedding
    from matching.index import loaded_indexes
    from recruiting.models import Job, Membership, Resume
    from tests.matching.synthetic_platform import load_synthetic_platform
    from workers.tasks.backfill import backfill_space

    queued: list[int] = []
    backfill_space.delay = queued.append  # a backfill worker would take it; here it is run and timed apart
    t = time.perf_counter()
    n_jobs, n_res = (60, 200) if quick else (120, 400)
    world = load_synthetic_platform(n_jobs=n_jobs, n_resumes=n_res, n_interactions=6 * n_res, seed=5)
    user = get_user_model().objects.create_user(username="bench", is_staff=True)
    Membership.objects.create(user=user, organization=world["org"], role="recruiter")
    embedding.backfill()
    v1 = _train(promote=True)
    v2 = _train(promote=False)
    setup_s = time.perf_counter() - t
    print(f"   v1 active (space written), v2 candidate: {setup_s:.0f}s", flush=True)
    template = Resume.objects.order_by("pk").first().pk
    job = Job.objects.order_by("pk").first()
    rows = []
    for n in sizes:
        t = time.perf_counter()
        _grow(n, template, f"model:{v1.version}")
        loaded_indexes.get(f"model:{v1.version}", "resume")
        grow_s = time.perf_counter() - t
        row = {"resumes": Resume.objects.count(), "jobs": Job.objects.count(), "seed_seconds": grow_s}
        with timing_lock():
            row.update(_time_serving(v1, v2, job, user))
        rows.append(row)
        print(
            f"   {row['resumes']:,} resumes: serve {row['serve_seconds']:.2f}s (seeded in {grow_s:.0f}s)",
            flush=True,
        )
    with timing_lock():
        b = _backfill_throughput(v2, 2 if quick else 8)
    for row in rows:
        row["reembed_hours"] = (row["resumes"] + row["jobs"]) / b["docs_per_second"] / 3600
    print(f"   backfill {b['docs_per_second']:.1f} docs/s", flush=True)
    return {"sizes": rows, "backfill": b, "setup_seconds": setup_s, "queued_backfills": len(queued)}
