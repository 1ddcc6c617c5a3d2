"""Training at platform scale: wall time per stage and peak memory of the REAL training service.

    .venv/bin/python bench/training_scale.py                 # 1/100 and 1/10 of the platform
    .venv/bin/python bench/training_scale.py --scales 1      # the full platform (10k jobs, 100k resumes, 1M events)

What runs: `matching.training.runs.train_run` (the function the `train_model` Celery task calls) as a nightly
retrain: a first version is trained and made active beforehand, in a child process, so the measured run distils
from it as every run after the platform's first does (`--no-first-version`: measure that first training), on a
synthetic platform written into PostgreSQL (database `tandem_bench`, created and migrated here; DATABASE_URL overrides).
Full size = 10,000 jobs, 100,000 resumes, 1,000,000 interactions (ml.data.synthetic: occupations, seniority,
skills, hidden taste, 20% flipped labels, Zipf-like activity over 180 days); 1/10 and 1/100 scale all three.

Section vectors stored: every document's section vectors are written to ``SectionVectors`` beforehand (random unit
vectors of a stand-in encoder, version "bench-random:384"), as the embedding worker writes them when a document is
created or edited; the training service reads them back (its "encode" stage) and never calls the encoder. This is
what a nightly retrain sees; MiniLM's own cost is paid once per document at write time (about 2-4 ms per section
text on these 2 cores, not in the table).

Stages (wall seconds; peak = the process's resident-set high-water mark during the stage minus RSS at its start,
VmHWM reset through /proc/self/clear_refs):
  snapshot   read every document and interaction up to now from PostgreSQL, convert, time-split (85/15)
  encode     section vectors of every document, read from SectionVectors into the training cache
  graph      relation graph (skills/categories, content kNN, training interaction edges)
  training   the history features' build, then the epochs (co-teaching text + relation views)
  calibration the calibration head (ml/robust), plus ml's in-sample AUC on <= 20k training pairs
  evaluation held-out slice (per job: its held-out resumes + 100 random), trained model and zero-shot cosine
  artifact   serialise + write through storages["models"] (temp name, fsync, atomic rename, read back + sha256)
  refit      the promoted version trained again on its whole window (warm, TrainConfig.refit_epochs), in a
             process of its own as the promote task's worker child; its peak RSS is that process's
Training uses ml.network.TrainConfig defaults (10 epochs) capped by --max-minutes (TrainConfig.max_minutes),
so the table says how many epochs fitted.

Writes bench/results/training_scale.json and the "Training scale" section of docs/results.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tandem_bench")
os.environ.setdefault("TRAINING_LOCK_KEY", "tandem:bench:training-lock")
os.environ.setdefault("MODEL_STORAGE_ROOT", str(ROOT / "var" / "bench-models"))
os.environ.setdefault("TRAINING_EMBEDDING_CACHE", "")
os.environ.setdefault("TRAINING_PROGRESS_INTERVAL", "10")
os.environ.setdefault("OMP_NUM_THREADS", "2")

from bench._measure import _reset_peak, _status_kb, trace_memory_highs  # noqa: E402
from bench._results_doc import write_section  # noqa: E402
from bench._speed_verdicts import training_scale_verdicts  # noqa: E402

FULL = {"jobs": 10_000, "resumes": 100_000, "interactions": 1_000_000}
RESULTS_JSON = ROOT / "bench" / "results" / "training_scale.json"
SECTION = "## Training scale"
# one id per command: each scale runs in a child process of its own, which inherits it
INVOCATION = os.environ.setdefault(
    "TRAINING_SCALE_INVOCATION", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
)


def ensure_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


class RandomUnitEncoder:
    """Stand-in encoder: a random unit vector per text (what the stored section vectors hold)."""

    version = "bench-random:384"
    dim = 384

    def __init__(self, seed: int = 0):
        import numpy as np

        self.rng = np.random.default_rng(seed)
        self.calls = 0

    def encode(self, texts, *, batch_size: int = 64, progress: bool = False):
        import numpy as np

        texts = list(texts)
        self.calls += len(texts)
        v = self.rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def load_platform(scale: float, seed: int = 0) -> dict:
    """Synthetic platform -> PostgreSQL through COPY. Returns sizes and seconds."""
    from django.db import connection

    from ml.data.synthetic import make_synthetic

    n = {k: max(10, int(round(v * scale))) for k, v in FULL.items()}
    t0 = time.perf_counter()
    syn = make_synthetic(n["jobs"], n["resumes"], n["interactions"], seed=seed, label_noise=0.2, days=180)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=400)
    with connection.cursor() as c:
        # a million-row COPY on a loaded machine outlasts the app's statement cap
        c.execute("SET statement_timeout = 0")
        c.execute(
            "TRUNCATE recruiting_interaction, matching_documentvector, matching_embeddingmark, "
            "matching_trainingrun, matching_modelversion, recruiting_resume, recruiting_candidate, recruiting_job, "
            "recruiting_membership, recruiting_organization RESTART IDENTITY CASCADE"
        )
        c.execute(
            "INSERT INTO recruiting_organization (name, slug, created_at, updated_at) "
            "VALUES ('Bench', 'bench', %s, %s) RETURNING id",
            [now, now],
        )
        org_id = c.fetchone()[0]
        raw = c.cursor
        jobs = syn.data.jobs
        _copy(
            raw,
            "recruiting_job",
            [
                "id", "organization_id", "external_id", "title", "description", "required_skills",
                "nice_to_have_skills", "location", "remote", "seniority", "employment_type", "salary_currency",
                "status", "content_hash", "created_at", "updated_at",
            ],
            (
                (i + 1, org_id, "", d.title, d.description, json.dumps(list(d.skills)), "[]", d.location, False,
                 "mid", "full_time", "USD", "open", f"{i:064x}", long_ago, long_ago)
                for i, d in enumerate(jobs)
            ),
        )  # fmt: skip
        _copy(
            raw,
            "recruiting_candidate",
            [
                "id",
                "organization_id",
                "external_id",
                "full_name",
                "email",
                "location",
                "created_at",
                "updated_at",
            ],
            (
                (i + 1, org_id, "", f"Person {i}", "", d.location, long_ago, long_ago)
                for i, d in enumerate(syn.data.resumes)
            ),
        )
        _copy(
            raw,
            "recruiting_resume",
            [
                "id", "candidate_id", "external_id", "headline", "summary", "skills", "experience", "education",
                "full_text", "source_file", "source_file_name", "content_hash", "parsed_contact", "integrity_flags",
                "created_at", "updated_at",
            ],
            (
                (i + 1, i + 1, "", d.headline, d.summary, json.dumps(list(d.skills)),
                 json.dumps([{"description": e} for e in d.experience]),
                 json.dumps([{"degree": e} for e in d.education]), "", None, "", f"{i:064x}", "{}", "[]",
                 long_ago, long_ago)
                for i, d in enumerate(syn.data.resumes)
            ),
        )  # fmt: skip
        job_idx = {d.id: i + 1 for i, d in enumerate(jobs)}
        res_idx = {d.id: i + 1 for i, d in enumerate(syn.data.resumes)}
        last = max(e.timestamp for e in syn.data.interactions)
        shift = now.timestamp() - 3600 - last
        _copy(
            raw,
            "recruiting_interaction",
            ["job_id", "resume_id", "kind", "external_id", "created_at"],
            (
                (
                    job_idx[e.job_id],
                    res_idx[e.resume_id],
                    e.kind,
                    "",
                    datetime.fromtimestamp(e.timestamp + shift, tz=UTC),
                )
                for e in syn.data.interactions
            ),
        )
        for table in ("recruiting_job", "recruiting_candidate", "recruiting_resume"):
            c.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            )
        c.execute("ANALYZE")
    return {**n, "generate_s": round(t_gen, 1), "load_s": round(time.perf_counter() - t0, 1)}


def store_section_vectors(encoder, batch: int = 5000) -> int:
    """Every document's section vectors into ``SectionVectors``, as the embedding worker writes them when a
    document is created or edited, so the training service reads them (its "encode" stage) instead of
    encoding. Returns the rows written."""
    from django.db import connection

    from matching.documents import iter_job_docs, iter_resume_docs
    from matching.section_store import section_texts
    from ml.embedding import text_hash

    now = datetime.now(UTC)
    written = 0
    with connection.cursor() as c:
        c.execute("SET statement_timeout = 0")
        c.execute("TRUNCATE matching_sectionvectors")
        for kind, docs in (("job", iter_job_docs()), ("resume", iter_resume_docs())):
            chunk: list = []
            for d in [*docs, None]:
                if d is not None:
                    chunk.append(d)
                if chunk and (d is None or len(chunk) >= batch):
                    texts = [section_texts(x) for x in chunk]
                    vecs = encoder.encode([t for ts in texts for t in ts]).reshape(
                        len(chunk), -1, encoder.dim
                    )
                    _copy(
                        c.cursor,
                        "matching_sectionvectors",
                        ["kind", f"{kind}_id", "encoder_version", "content_hash", "text_hashes", "dim", "vectors",
                         "updated_at"],
                        (
                            (kind, int(x.id), encoder.version, "", ",".join(text_hash(t) for t in ts), encoder.dim,
                             v.astype("<f4").tobytes(), now)
                            for x, ts, v in zip(chunk, texts, vecs, strict=True)
                        ),
                    )  # fmt: skip
                    written += len(chunk)
                    chunk = []
        c.execute("ANALYZE matching_sectionvectors")
    encoder.calls = 0
    return written


class StageClock:
    """Marks stage boundaries; records seconds and peak RSS growth per stage."""

    def __init__(self):
        self.stages: dict[str, dict] = {}
        self.current: str | None = None
        self.t0 = 0.0
        self.rss0 = 0

    def start(self, name: str) -> None:
        self.stop()
        _reset_peak()
        self.current, self.t0, self.rss0 = name, time.perf_counter(), _status_kb("VmRSS") or 0

    def stop(self) -> None:
        if self.current is None:
            return
        hwm = _status_kb("VmHWM") or 0
        self.stages[self.current] = {
            "seconds": round(time.perf_counter() - self.t0, 2),
            "peak_mb": round(max(0, hwm - self.rss0) / 1024, 1),
            "peak_rss_mb": round(hwm / 1024, 1),
        }
        self.current = None


def run_scale(
    scale: float,
    *,
    max_minutes: float | None,
    epochs: int | None,
    config: dict | None = None,
    trace_mb: int = 0,
    nightly: bool = True,
) -> dict:
    """One scale: the platform loaded, then (``nightly``) a first version trained and made active in a child
    process, then the measured retrain (distilled from that active version, as every nightly run after the first)
    and its final refit."""
    import shutil

    from matching import encoders

    shutil.rmtree(os.environ["MODEL_STORAGE_ROOT"], ignore_errors=True)  # the DB restarts its ids below
    load_before = [round(x, 2) for x in os.getloadavg()]
    print(f"[scale {scale}] generating and loading the platform (child process)…", flush=True)
    sizes, stored, store_s = _load_in_child(scale)
    print(
        f"[scale {scale}] {sizes}; section vectors of {stored} documents stored in {store_s:.0f}s", flush=True
    )
    overrides = {"max_minutes": max_minutes, "epochs": epochs, "config": config or {}}
    first = _first_version_in_child(overrides) if nightly else None
    encoder = RandomUnitEncoder()  # what the retrain still encodes (graph vocabulary, calibration attacks)
    encoders._encoder = encoder

    _override_training_config(max_minutes, epochs, config)
    clock = StageClock()
    epoch_seconds: list[float] = []
    train_fn = _clocked_train_fn(scale, clock, epoch_seconds)
    run, version, total = _train_once(clock, train_fn)
    refit_s = _refit_once(clock, version, scale, trace_mb)
    m = version.metrics
    result = {
        "scale": scale,
        "invocation": INVOCATION,  # scales measured side by side share it
        "load_avg_before": load_before,
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "sizes": sizes,
        "store_section_vectors_s": round(store_s, 1),
        "section_vector_rows": stored,
        "encoder_calls_during_training": encoder.calls,
        "config": {
            k: run.config.get(k)
            for k in (
                "epochs",
                "batch_size",
                "hidden",
                "max_minutes",
                "knn",
                "fanout",
                "num_threads",
                "historical_states",
                "state_refreshes",
                "epoch_pair_cap",
            )
        },
        "epochs_done": run.epoch,
        "stopped_early": bool(m.get("train", {}).get("stopped_early")),
        "seconds_per_epoch": _seconds_per_epoch(epoch_seconds, clock),
        "observed_pairs": m.get("train", {}).get("observed_pairs"),
        "observed_pairs_per_epoch": m.get("train", {}).get("observed_pairs_per_epoch"),
        "stages": clock.stages,
        # the version active during the measured run (its distillation teacher), trained in its own process
        "first_version": first,
        "distilled": bool(m.get("train", {}).get("compat", {}).get("distilled")),
        "total_s": round(total, 1),
        # the promoted version is trained again on its whole window before it serves (TRAINING_FINAL_REFIT)
        "refit_s": refit_s,
        "nightly_s": round(total + (refit_s or 0.0), 1),
        "peak_rss_mb": max(s["peak_rss_mb"] for s in clock.stages.values()),
        "holdout": {
            k: m.get(k) for k in ("ndcg_at_10", "mrr", "recall_at_50", "auc", "gauc", "n_queries", "n_pairs")
        },
        "zero_shot_random_vectors": {k: m.get("zero_shot", {}).get(k) for k in ("ndcg_at_10", "auc")},
        "artifact_bytes": m.get("artifact_bytes"),
        "data_window": version.data_window,
    }
    print(json.dumps(result, indent=1), flush=True)
    return result


def _load_in_child(scale: float) -> tuple[dict, int, float]:
    """Platform and section vectors written by a child process, so that the measured process holds what a
    training worker holds (the generator's million Python objects would otherwise stay in its resident set)."""
    import subprocess

    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--load-only", str(scale)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    got = json.loads(out.strip().splitlines()[-1])
    return got["sizes"], got["stored"], got["store_s"]


def _scale_in_child(scale: float, options: dict) -> dict:
    """One scale measured in a process of its own (the scales of one command share its invocation id): a training
    worker's child serves one run, so a scale never inherits what an earlier one left in the process."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--one-scale", str(scale), str(out)]
        if options["trace_mb"]:
            cmd += ["--trace-memory", str(options["trace_mb"])]
        if not options["nightly"]:
            cmd.append("--no-first-version")
        if options["max_minutes"]:
            cmd += ["--max-minutes", str(options["max_minutes"])]
        if options["epochs"]:
            cmd += ["--epochs", str(options["epochs"])]
        for k, v in options["config"].items():
            cmd += ["--config", f"{k}={json.dumps(v)}"]
        subprocess.run(cmd, check=True)
        return json.loads(out.read_text())


def _first_version_in_child(overrides: dict) -> dict:
    """The platform's first version, trained through the service and marked active in a child process: the
    measured run is then a nightly retrain like every one after the first (the active version its distillation
    teacher), in a process holding nothing of that first training."""
    import subprocess

    cmd = [sys.executable, str(Path(__file__).resolve()), "--first-version-only", json.dumps(overrides)]
    lines = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()
    return json.loads(lines[-1])


def _first_version_only(overrides: dict) -> None:
    """The child of ``_first_version_in_child``; one JSON line (version, seconds)."""
    from django.conf import settings

    from matching import encoders
    from matching.models import ModelVersion
    from matching.redis_client import redis_client
    from matching.training import runs

    encoders._encoder = RandomUnitEncoder()
    _override_training_config(overrides["max_minutes"], overrides["epochs"], overrides["config"])
    redis_client().delete(settings.TRAINING_LOCK_KEY)
    t = time.perf_counter()
    run, _ = runs.start_training_run(enqueue=False, trigger="bench")
    version_id = runs.train_run(run.pk)
    runs.finish_run(run.pk)
    # active without the activation's side effects (its retrieval space): what the next retrain distils from
    ModelVersion.objects.filter(pk=version_id).update(status=ModelVersion.Status.ACTIVE)
    version = ModelVersion.objects.get(pk=version_id)
    print(json.dumps({"version": version.version, "seconds": round(time.perf_counter() - t, 1)}))


def _load_only(scale: float) -> None:
    """The child of ``_load_in_child``: platform into PostgreSQL, section vectors stored; one JSON line."""
    sizes = load_platform(scale)
    t0 = time.perf_counter()
    stored = store_section_vectors(RandomUnitEncoder())
    print(json.dumps({"sizes": sizes, "stored": stored, "store_s": round(time.perf_counter() - t0, 1)}))


def _override_training_config(max_minutes: float | None, epochs: int | None, config: dict | None) -> None:
    from django.conf import settings

    overrides = dict(config or {})
    if max_minutes:
        overrides["max_minutes"] = max_minutes
    if epochs:
        overrides["epochs"] = epochs
    settings.TRAINING_CONFIG = {**settings.TRAINING_CONFIG, **overrides}


def _clocked_train_fn(scale: float, clock: StageClock, epoch_seconds: list[float]):
    """``ml.network.train`` on the cache the service primed from SectionVectors, marking the graph/training
    stages on ``clock`` (the service's own "encode" mark starts the encode stage)."""
    from ml.network import train

    def train_fn(data, config, *, cache: object = None, progress=None, **kw):  # kw: previous (distillation)
        def on_progress(p):
            if p.stage == "encode":
                clock.start("graph")
            elif p.stage == "graph":
                clock.start("training")
            elif p.stage == "calibrate" and clock.current == "training":
                clock.start("calibration")  # the calibration head and ml's in-sample AUC
            elif p.stage == "train":
                epoch_seconds.append(time.perf_counter())
                print(f"[scale {scale}]   epoch {p.epoch}/{p.epochs} kept {p.kept_fraction:.2f}", flush=True)
            progress(p)

        return train(data, config, cache=cache, progress=on_progress, **kw)

    return train_fn


def _train_once(clock: StageClock, train_fn):
    """One training run through the real service; the service's own stage marks start the other stages.
    Returns (run, the version it trained, wall seconds)."""
    from django.conf import settings

    from matching.models import ModelVersion
    from matching.redis_client import redis_client
    from matching.training import runs
    from matching.training.progress import ProgressWriter

    original_stage = ProgressWriter.stage

    def stage(self, name, **kw):
        mapping = {
            "snapshot": "snapshot",
            "encode": "encode",
            "evaluate": "evaluation",
            "artifact": "artifact",
        }
        if name in mapping:
            clock.start(mapping[name])
        return original_stage(self, name, **kw)

    ProgressWriter.stage = stage
    redis_client().delete(settings.TRAINING_LOCK_KEY)
    run, _ = runs.start_training_run(enqueue=False, trigger="bench")
    t_all = time.perf_counter()
    try:
        version_id = runs.train_run(run.pk, train_fn=train_fn)
    except BaseException as exc:
        runs.fail_run(run.pk, f"bench: {type(exc).__name__}: {exc}")
        raise
    finally:
        clock.stop()
        ProgressWriter.stage = original_stage
    total = time.perf_counter() - t_all
    runs.finish_run(run.pk)
    run.refresh_from_db()
    return run, ModelVersion.objects.get(pk=version_id), total


def _refit_once(clock: StageClock, version, scale: float, trace_mb: int = 0) -> float | None:
    """The final refit a promoted version gets (``refit.refit_version``: its config, its whole window, held-out
    slice included) as its own stage, in a process of its own: the promote task runs on the training queue,
    whose worker child serves one task (README, ``--max-tasks-per-child 1``), so it starts without the measured
    run's leftovers. The stage's peak RSS is that process's high-water mark. None when TRAINING_FINAL_REFIT is
    off."""
    import subprocess

    from django.conf import settings

    if not settings.TRAINING_FINAL_REFIT:
        return None
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--refit-only",
        str(version.pk),
        "--scale-label",
        str(scale),
    ]
    if trace_mb:
        cmd += ["--trace-memory", str(trace_mb)]
    t = time.perf_counter()
    lines = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()
    print("\n".join(lines[:-1]), flush=True)  # the child's memory trace, if asked for
    got = json.loads(lines[-1])
    clock.stages["refit"] = {
        "seconds": got["seconds"],
        "peak_mb": round(got["peak_rss_mb"] - got["start_rss_mb"], 1),
        "peak_rss_mb": got["peak_rss_mb"],
        "process_s": round(time.perf_counter() - t, 1),  # with the child's interpreter start and imports
    }
    version.refresh_from_db()
    return got["seconds"]


def _refit_only(version_id: int, scale: str) -> None:
    """The child of ``_refit_once``: the refit of one version; one JSON line (seconds, start and peak RSS)."""
    from matching import encoders
    from matching.models import ModelVersion
    from matching.training import refit
    from ml.network import train

    encoders._encoder = RandomUnitEncoder()  # as in the measured run

    def train_fn(data, config, *, cache: object = None, progress=None, **kw):  # kw: init (warm), previous
        def on_progress(p):
            if p.stage == "train":
                print(f"[scale {scale}]   refit epoch {p.epoch}/{p.epochs}", file=sys.stderr, flush=True)
            progress(p)

        return train(data, config, cache=cache, progress=on_progress, **kw)

    start_rss = (_status_kb("VmRSS") or 0) / 1024
    t = time.perf_counter()
    refit.refit_version(ModelVersion.objects.get(pk=version_id), train_fn=train_fn)
    seconds = round(time.perf_counter() - t, 1)
    peak = (_status_kb("VmHWM") or 0) / 1024
    print(
        json.dumps({"seconds": seconds, "start_rss_mb": round(start_rss, 1), "peak_rss_mb": round(peak, 1)})
    )


def _seconds_per_epoch(epoch_seconds: list[float], clock: StageClock) -> float | None:
    per_epoch = None
    if len(epoch_seconds) >= 2:
        per_epoch = (epoch_seconds[-1] - epoch_seconds[0]) / (len(epoch_seconds) - 1)
    elif epoch_seconds and "training" in clock.stages:
        per_epoch = clock.stages["training"]["seconds"] / max(1, len(epoch_seconds))
    return round(per_epoch, 1) if per_epoch else None


STAGE_ORDER = ("snapshot", "encode", "graph", "training", "calibration", "evaluation", "artifact", "refit")


def write_markdown(results: list[dict], meta: dict) -> None:
    out = io.StringIO()
    out.write(f"{SECTION}\n\n")
    out.write(
        "Written by `bench/training_scale.py` (raw figures: `bench/results/training_scale.json`). The real training "
        "service (`matching.training.runs.train_run`, what the `train_model` task runs) on a synthetic platform in "
        "PostgreSQL; section vectors stored in SectionVectors beforehand (random unit vectors, as the embedding "
        "worker writes them at write time) and read back by the service, so the encoder never runs in the retrain. Peak = growth of the resident set above its level at "
        "the start of the stage; peak RSS = the process's high-water mark in that stage. Each scale runs in a process of its own "
        "and its final refit in another (a training worker's child serves one task: README), as in production; the "
        "measured run is a nightly retrain, distilled from an active version trained beforehand in a child process. "
        f"Machine: {meta['cpus']} CPUs shared with other work, {meta['python']}, torch {meta['torch']}; "
        f"{meta['date']}.\n\n"
    )
    out.write("| scale | jobs | resumes | interactions | stage | wall s | peak MB | peak RSS MB |\n")
    out.write("|---|---:|---:|---:|---|---:|---:|---:|\n")
    for r in results:
        s = r["sizes"]
        for name in STAGE_ORDER:
            if name in r["stages"]:
                st = r["stages"][name]
                out.write(
                    f"| {r['scale']} | {s['jobs']:,} | {s['resumes']:,} | {s['interactions']:,} | {name} | "
                    f"{st['seconds']} | {st['peak_mb']} | {st['peak_rss_mb']} |\n"
                )
        nightly = r.get("nightly_s", r["total_s"])
        out.write(
            f"| {r['scale']} | | | | **total (with the refit)** | **{nightly}** | | **{r['peak_rss_mb']}** |\n"
        )
    out.write(
        "\n| scale | epochs run | observed pairs (per epoch) | s / epoch | capped by max_minutes | held-out NDCG@10 | "
        "AUC | queries | artifact MB |\n"
    )
    out.write("|---|---:|---:|---:|---|---:|---:|---:|---:|\n")
    for r in results:
        h = r["holdout"]
        out.write(
            f"| {r['scale']} | {r['epochs_done']} of {r['config']['epochs']} | {r.get('observed_pairs') or '?'} "
            f"({r.get('observed_pairs_per_epoch') or '?'}) | {r['seconds_per_epoch']} | "
            f"{'yes (' + str(r['config']['max_minutes']) + ' min)' if r['stopped_early'] else 'no'} | "
            f"{h['ndcg_at_10'] and round(h['ndcg_at_10'], 3)} | {h['auc'] and round(h['auc'], 3)} | {h['n_queries']} | "
            f"{round((r['artifact_bytes'] or 0) / 2**20, 1)} |\n"
        )
    for note in meta.get("notes", []):
        out.write(f"\n{note}\n")
    out.write("\n" + "".join(f"- {v}\n" for v in training_scale_verdicts(results)))
    write_section(out.getvalue(), SECTION)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="0.01,0.1", help="comma-separated fractions of the full platform")
    parser.add_argument("--max-minutes", type=float, default=None, help="cap on the epochs' wall time")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--note", action="append", default=[], help="a line added under the table")
    parser.add_argument(
        "--config", action="append", default=[], help="a TrainConfig override as key=JSON value (repeatable)"
    )
    parser.add_argument(
        "--trace-memory",
        type=int,
        default=0,
        metavar="MB",
        help="diagnostic: print the stack each time the resident set grows this many MB past its last print",
    )
    parser.add_argument("--load-only", type=float, default=None, help=argparse.SUPPRESS)  # _load_in_child
    parser.add_argument("--refit-only", type=int, default=None, help=argparse.SUPPRESS)  # _refit_once's child
    parser.add_argument("--scale-label", default="", help=argparse.SUPPRESS)
    parser.add_argument(
        "--first-version-only", default=None, help=argparse.SUPPRESS
    )  # _first_version_in_child
    parser.add_argument("--one-scale", nargs=2, default=None, help=argparse.SUPPRESS)  # _scale_in_child
    parser.add_argument(
        "--no-first-version",
        action="store_true",
        help="measure the platform's first training (no active version to distil from) instead of a nightly retrain",
    )
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    import torch
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.load_only is not None:
        _load_only(args.load_only)
        return
    if args.trace_memory:
        trace_memory_highs(args.trace_memory)
    if args.refit_only is not None:
        _refit_only(args.refit_only, args.scale_label)
        return
    if args.first_version_only is not None:
        _first_version_only(json.loads(args.first_version_only))
        return
    config = {k: json.loads(v) for k, v in (c.split("=", 1) for c in args.config)}
    options = {
        "max_minutes": args.max_minutes,
        "epochs": args.epochs,
        "config": config,
        "trace_mb": args.trace_memory,
        "nightly": not args.no_first_version,
    }
    if args.one_scale is not None:  # the child of _scale_in_child
        scale, out = args.one_scale
        Path(out).write_text(json.dumps(run_scale(float(scale), **options)))
        return
    results = [_scale_in_child(float(s), options) for s in args.scales.split(",")]
    # keep earlier runs of other scales (read now: another invocation may have written meanwhile)
    previous = json.loads(RESULTS_JSON.read_text()).get("results", []) if RESULTS_JSON.exists() else []
    done = {r["scale"] for r in results}
    merged = sorted([r for r in previous if r["scale"] not in done] + results, key=lambda r: r["scale"])
    meta = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "notes": args.note,
    }
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    verdicts = training_scale_verdicts(merged)
    RESULTS_JSON.write_text(json.dumps({"meta": meta, "results": merged, "verdicts": verdicts}, indent=1))
    write_markdown(merged, meta)


if __name__ == "__main__":
    main()
