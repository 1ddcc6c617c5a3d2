"""Model registry and training services: snapshot -> train -> evaluate -> artifact -> candidate -> promote.

Invariants
- Exactly one active ModelVersion (DB constraint); activation switches it in one transaction with row locks,
  after verifying the artifact's sha256 as read back from storages["models"]. A missing or corrupt artifact
  is refused (`ArtifactUnavailable`) and the current version stays active.
- A version only becomes `candidate` after its artifact is complete in storage and verified; a failed or
  killed training leaves its version `training` (then `failed`), never active. Artifacts are written under a
  temporary name and moved/saved to the final name only when complete.
- One training at a time: a Redis lock (redis-py Lock) whose value is the run id, with an expiry
  (TRAINING_LOCK_TTL) that progress writes extend. A second start while one runs returns the running run.
- Idempotent on run id: a redelivered training task (worker killed; acks_late + reject_on_worker_lost)
  restarts the run under a new `attempt`, reusing the run's `training` version (no duplicate version) and
  deleting the dead attempt's temporary files. A finished run is never re-run.

Evaluation (time-aware holdout): interactions up to the snapshot time are ordered by time; the most recent
TRAINING_HOLDOUT_FRACTION is held out. The model trains on the rest (its relation graph never sees held-out
pairs). Per job in the held-out slice, the candidate list is the resumes it interacted with in the slice plus
EVAL_RANDOM_NEGATIVES random resumes (seeded); a pair's label follows ml.network: the latest event's polarity
decides, the gain is the strongest event of that polarity. Metrics: NDCG@10 (graded), MRR, Recall@50, GAUC
(per-job AUC, size-weighted) and pooled AUC, all from ml.metrics, averaged over jobs with a relevant resume.

Promotion: PROMOTION_METRIC (default NDCG@10: it rewards putting the strongest outcomes at the top of a
recruiter's first screen, which is what the product shows) on the CANDIDATE's held-out slice, rebuilt from
the database, for the candidate and for the active version (or zero-shot cosine of MiniLM whole-document
vectors when no version is active, FIRST_MODEL_POLICY="baseline"; "always" promotes the first model
unconditionally). Promoted only if candidate - baseline > PROMOTION_MARGIN; otherwise the reason goes to
candidate.notes and the numbers to candidate.metrics["promotion"].
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.dispatch import Signal
from django.utils import timezone

from config.celery import runs_eagerly
from matching.conversion import iter_job_docs, iter_resume_docs, jobs_by_id, resumes_by_id
from matching.models import ModelVersion, TrainingRun
from ml.types import InteractionEvent, MatchingData
from recruiting.models import Interaction, Job, Resume

log = logging.getLogger(__name__)

# sender: ModelVersion; kwargs: version_id, previous_id, rollback (bool). Sent after the switch commits.
model_activated = Signal()

ARTIFACT_DIR = "models"
TEMP_DIR = "tmp"
METRIC_KEYS = ("ndcg_at_10", "mrr", "recall_at_50", "gauc", "auc")


# ================================================================================================ errors
class RegistryError(Exception):
    code = "registry_error"


class ArtifactUnavailable(RegistryError):
    """The artifact is missing from storage or its bytes do not match the recorded sha256."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class ActivationRefused(RegistryError):
    code = "activation_refused"


class NothingToRollBack(RegistryError):
    code = "nothing_to_roll_back"


class Superseded(RegistryError):
    """A newer attempt of the same run took over (the task was redelivered while this one still ran)."""

    code = "superseded"


class TrainingBusy(RegistryError):
    code = "training_busy"


class NotEnoughData(RegistryError):
    code = "not_enough_data"


# ================================================================================================ redis lock
_redis = None


def redis_client():
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=10, socket_connect_timeout=5)
    return _redis


class TrainingLock:
    """redis-py Lock whose token is the run id, so any process can tell who holds it and extend/release it."""

    def __init__(self, client=None):
        self.client = client or redis_client()
        self.key = settings.TRAINING_LOCK_KEY
        self.ttl = settings.TRAINING_LOCK_TTL

    def _lock(self, run_id: int):
        lock = self.client.lock(self.key, timeout=self.ttl, blocking=False)
        lock.local.token = str(run_id).encode()
        return lock

    def holder(self) -> int | None:
        value = self.client.get(self.key)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def acquire(self, run_id: int) -> bool:
        """Take the lock for `run_id`, or keep (and extend) it when `run_id` already holds it."""
        lock = self.client.lock(self.key, timeout=self.ttl, blocking=False)
        if lock.acquire(blocking=False, token=str(run_id)):
            return True
        return self.extend(run_id)

    def extend(self, run_id: int) -> bool:
        from redis.exceptions import LockError

        try:
            return bool(self._lock(run_id).reacquire())
        except LockError:
            return False

    def release(self, run_id: int) -> bool:
        from redis.exceptions import LockError

        try:
            self._lock(run_id).release()
            return True
        except LockError:
            return False


class LocalTrainingLock:
    """The training lock for eager mode (`make demo`): tasks run inside this one process, so a dict is the
    whole story and no Redis server has to be running."""

    _holders: dict[str, int] = {}
    _mutex = threading.Lock()

    def __init__(self):
        self.key = settings.TRAINING_LOCK_KEY

    def holder(self) -> int | None:
        return self._holders.get(self.key)

    def acquire(self, run_id: int) -> bool:
        with self._mutex:
            current = self._holders.setdefault(self.key, run_id)
        return current == run_id

    def extend(self, run_id: int) -> bool:
        return self.holder() == run_id

    def release(self, run_id: int) -> bool:
        with self._mutex:
            if self._holders.get(self.key) != run_id:
                return False
            del self._holders[self.key]
        return True


def training_lock() -> TrainingLock | LocalTrainingLock:
    return LocalTrainingLock() if runs_eagerly() else TrainingLock()


# ================================================================================================ storage
def model_storage():
    return storages["models"]


def write_artifact(data: bytes, final_name: str, *, temp_prefix: str) -> tuple[str, str]:
    """Write `data` so that `final_name` never holds a partial file; returns (stored name, sha256).

    Filesystem storage: bytes go to a temporary name, are fsync'ed, then os.replace'd onto the final name
    (atomic rename). Other storages (object stores): one save() of the complete bytes, which such stores
    publish atomically. Either way the bytes are read back and checked before the name is returned.
    """
    storage = model_storage()
    sha = hashlib.sha256(data).hexdigest()
    temp_name = f"{TEMP_DIR}/{temp_prefix}-{uuid.uuid4().hex[:8]}.partial"
    try:
        local_final = storage.path(final_name)
    except NotImplementedError:
        local_final = None
    if local_final is not None:
        temp_name = storage.save(temp_name, ContentFile(data))
        local_temp = storage.path(temp_name)
        try:
            with open(local_temp, "rb+") as f:
                os.fsync(f.fileno())
            os.makedirs(os.path.dirname(local_final), exist_ok=True)
            if os.path.exists(local_final) and _sha256_of(final_name) != sha:
                raise FileExistsError(f"artifact {final_name} already exists with other contents")
            os.replace(local_temp, local_final)
        except BaseException:
            if os.path.exists(local_temp):
                os.unlink(local_temp)
            raise
        name = final_name
    else:
        name = storage.save(final_name, ContentFile(data))
    got = _sha256_of(name)
    if got != sha:
        storage.delete(name)
        raise ArtifactUnavailable(
            "artifact_corrupt", f"artifact {name} read back with sha256 {got}, wrote {sha}"
        )
    return name, sha


def _sha256_of(name: str) -> str:
    h = hashlib.sha256()
    with model_storage().open(name, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_verified_artifact(version: ModelVersion) -> bytes:
    """The artifact's bytes, or ArtifactUnavailable("artifact_missing" | "artifact_corrupt")."""
    if not version.artifact_name or not version.artifact_sha256:
        raise ArtifactUnavailable("artifact_missing", f"v{version.version} has no artifact recorded")
    storage = model_storage()
    try:
        with storage.open(version.artifact_name, "rb") as f:
            data = f.read()
    except (FileNotFoundError, OSError) as exc:
        raise ArtifactUnavailable(
            "artifact_missing", f"artifact {version.artifact_name} of v{version.version} is missing: {exc}"
        ) from exc
    got = hashlib.sha256(data).hexdigest()
    if got != version.artifact_sha256:
        raise ArtifactUnavailable(
            "artifact_corrupt",
            f"artifact {version.artifact_name} of v{version.version} is corrupt: "
            f"sha256 {got[:12]}… does not match the recorded {version.artifact_sha256[:12]}…",
        )
    return data


def load_version_model(version: ModelVersion):
    from ml.artifacts import ArtifactError, load_model_from_bytes

    data = read_verified_artifact(version)
    try:
        model = load_model_from_bytes(data, expected_sha256=version.artifact_sha256)
    except ArtifactError as exc:
        raise ArtifactUnavailable(
            "artifact_corrupt", f"artifact of v{version.version} is unreadable: {exc}"
        ) from exc
    _share_section_cache(model)
    return model


def _share_section_cache(model) -> None:
    """Score with the process-wide section cache, so evaluation and serving reuse what training encoded."""
    from ml.embedding import encoder_for_version, shared_cache

    try:
        encoder = encoder_for_version(model.encoder_version)
    except ValueError:
        return  # another encoder: the model's own cache will say so when it is used
    model.use_cache(shared_cache(encoder, path=settings.TRAINING_EMBEDDING_CACHE or None))


def delete_temp_artifacts(prefix: str) -> int:
    storage = model_storage()
    try:
        _, files = storage.listdir(TEMP_DIR)
    except (FileNotFoundError, NotImplementedError):
        return 0
    n = 0
    for name in files:
        if name.startswith(prefix):
            storage.delete(f"{TEMP_DIR}/{name}")
            n += 1
    return n


# ================================================================================================ snapshot
@dataclass
class Snapshot:
    train: MatchingData
    holdout: list[InteractionEvent]
    window: dict[str, Any]
    resume_ids: np.ndarray  # every resume in the snapshot (negative pool for evaluation)
    jobs: dict[int, Any] = field(default_factory=dict)
    resumes: dict[int, Any] = field(default_factory=dict)


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat() if ts is not None else None


def take_snapshot(*, cutoff: datetime | None = None, holdout_fraction: float | None = None) -> Snapshot:
    """Every document and interaction up to `cutoff` (now); the last `holdout_fraction` by time held out."""
    cutoff = cutoff or timezone.now()
    frac = settings.TRAINING_HOLDOUT_FRACTION if holdout_fraction is None else holdout_fraction
    qs = Interaction.objects.filter(created_at__lte=cutoff)
    max_id = qs.aggregate(m=Max("id"))["m"] or 0
    rows = list(
        qs.filter(id__lte=max_id)
        .order_by("created_at", "id")
        .values_list("job_id", "resume_id", "kind", "created_at")
    )
    n = len(rows)
    if n < 10:
        raise NotEnoughData(f"{n} interactions up to {cutoff.isoformat()}: at least 10 are needed to train")
    n_hold = max(1, int(math.ceil(frac * n)))
    holdout_start = rows[n - n_hold][3]
    events = [InteractionEvent(str(j), str(r), k, t.timestamp()) for j, r, k, t in rows]
    train = [e for e, row in zip(events, rows, strict=True) if row[3] < holdout_start]
    holdout = [e for e, row in zip(events, rows, strict=True) if row[3] >= holdout_start]
    if not train:
        raise NotEnoughData("every interaction falls in the held-out slice (they share one timestamp)")
    jobs = {int(d.id): d for d in iter_job_docs(Job.objects.filter(created_at__lte=cutoff))}
    resumes = {int(d.id): d for d in iter_resume_docs(Resume.objects.filter(created_at__lte=cutoff))}
    window = {
        "start": _iso(events[0].timestamp),
        "end": cutoff.isoformat(),
        "holdout_start": holdout_start.isoformat(),
        "max_interaction_id": max_id,
        "holdout_fraction": frac,
        "jobs": len(jobs),
        "resumes": len(resumes),
        "interactions": n,
        "train_interactions": len(train),
        "holdout_interactions": len(holdout),
    }
    data = MatchingData(jobs=list(jobs.values()), resumes=list(resumes.values()), interactions=train)
    return Snapshot(
        train=data,
        holdout=holdout,
        window=window,
        resume_ids=np.fromiter(resumes.keys(), dtype=np.int64, count=len(resumes)),
        jobs=jobs,
        resumes=resumes,
    )


def holdout_events(window: dict) -> list[InteractionEvent]:
    """The held-out slice recorded in a version's data window, read back from the (append-only) log."""
    rows = (
        Interaction.objects.filter(
            id__lte=window["max_interaction_id"],
            created_at__gte=datetime.fromisoformat(window["holdout_start"]),
            created_at__lte=datetime.fromisoformat(window["end"]),
        )
        .order_by("created_at", "id")
        .values_list("job_id", "resume_id", "kind", "created_at")
    )
    return [InteractionEvent(str(j), str(r), k, t.timestamp()) for j, r, k, t in rows]


# ================================================================================================ evaluation
@dataclass
class EvalSet:
    jobs: list  # JobDoc, one per query
    resumes: list  # ResumeDoc, every candidate that appears
    pairs: np.ndarray  # (m, 2) indices into jobs / resumes
    gains: np.ndarray  # (m,) graded relevance (0 = not relevant)
    query: np.ndarray  # (m,) query index

    @property
    def n_queries(self) -> int:
        return len(self.jobs)


def _pair_labels(events: list[InteractionEvent]) -> dict[tuple[int, int], float]:
    """(job, resume) -> gain, with ml.network's rule: the latest event's polarity decides; gain = the strongest
    event of that polarity (0 for a negative pair)."""
    latest: dict[tuple[int, int], tuple[float, int]] = {}
    best: dict[tuple[int, int, bool], int] = {}
    for ev in events:
        key = (int(ev.job_id), int(ev.resume_id))
        s = ev.strength
        if key not in latest or ev.timestamp >= latest[key][0]:
            latest[key] = (ev.timestamp, s)
        bk = (*key, s > 0)
        best[bk] = max(best.get(bk, 0), abs(s))
    return {k: float(best[(*k, True)]) if s > 0 else 0.0 for k, (_, s) in latest.items()}


def build_eval_set(
    events: list[InteractionEvent],
    resume_pool: np.ndarray,
    *,
    job_docs,
    resume_docs,
    seed: int,
    n_random: int | None = None,
    max_queries: int | None = None,
) -> EvalSet:
    """`job_docs`/`resume_docs`: callables ids -> {id: doc}. Deterministic for a given seed and inputs."""
    n_random = settings.EVAL_RANDOM_NEGATIVES if n_random is None else n_random
    max_queries = settings.EVAL_MAX_QUERIES if max_queries is None else max_queries
    rng = np.random.default_rng(seed)
    labels = _pair_labels(events)
    by_job: dict[int, dict[int, float]] = {}
    for (j, r), g in labels.items():
        by_job.setdefault(j, {})[r] = g
    query_jobs = sorted(j for j, c in by_job.items() if any(g > 0 for g in c.values()))
    if len(query_jobs) > max_queries:
        query_jobs = sorted(rng.choice(query_jobs, size=max_queries, replace=False).tolist())
    jobs = job_docs(query_jobs)
    query_jobs = [j for j in query_jobs if j in jobs]
    pool = np.sort(np.asarray(resume_pool, dtype=np.int64))
    cand_lists: list[dict[int, float]] = []
    for j in query_jobs:
        cands = dict(by_job[j])
        if n_random and len(pool):
            for r in rng.choice(pool, size=min(n_random, len(pool)), replace=False).tolist():
                cands.setdefault(int(r), 0.0)
        cand_lists.append(cands)
    needed = sorted({r for c in cand_lists for r in c})
    resumes = resume_docs(needed)
    r_index = {rid: i for i, rid in enumerate(sorted(resumes))}
    pairs, gains, query = [], [], []
    for qi, cands in enumerate(cand_lists):
        for r, g in sorted(cands.items()):
            if r in r_index:
                pairs.append((qi, r_index[r]))
                gains.append(g)
                query.append(qi)
    return EvalSet(
        jobs=[jobs[j] for j in query_jobs],
        resumes=[resumes[r] for r in sorted(resumes)],
        pairs=np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
        gains=np.asarray(gains, dtype=np.float64),
        query=np.asarray(query, dtype=np.int64),
    )


def evaluate_scores(es: EvalSet, scores: np.ndarray) -> dict[str, float]:
    from ml import metrics as M

    scores = np.asarray(scores, dtype=np.float64)
    per: dict[str, list[float]] = {"ndcg_at_10": [], "mrr": [], "recall_at_50": []}
    for q in range(es.n_queries):
        m = es.query == q
        s, g = scores[m], es.gains[m]
        if not (g > 0).any():
            continue
        per["ndcg_at_10"].append(M.ndcg_at_k(s, g, 10))
        per["mrr"].append(M.mrr(s, g > 0))
        per["recall_at_50"].append(M.recall_at_k(s, g > 0, 50))
    out = {k: float(np.nanmean(v)) if v else float("nan") for k, v in per.items()}
    y = (es.gains > 0).astype(np.float64)
    out["gauc"] = M.grouped_auc(scores, y, es.query) if len(y) else float("nan")
    out["auc"] = M.auc(scores, y) if len(y) else float("nan")
    out["n_queries"] = len(per["ndcg_at_10"])
    out["n_pairs"] = len(es.gains)
    return out


def model_scores(model, es: EvalSet) -> np.ndarray:
    if len(es.pairs) == 0:
        return np.zeros(0)
    return model.score_pairs(es.jobs, es.resumes, es.pairs).total


def zero_shot_scores(es: EvalSet, encoder=None) -> np.ndarray:
    """Cosine between encoder vectors of the whole documents (what serving does with no trained model)."""
    from matching.embedding_services import current_encoder

    if len(es.pairs) == 0:
        return np.zeros(0)
    encoder = encoder or current_encoder()
    vj = encoder.encode([d.full_text() for d in es.jobs], batch_size=settings.EMBEDDING_BATCH_SIZE)
    vr = encoder.encode([d.full_text() for d in es.resumes], batch_size=settings.EMBEDDING_BATCH_SIZE)
    return (vj[es.pairs[:, 0]] * vr[es.pairs[:, 1]]).sum(1)


def _clean_metrics(m: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in m.items()}


def eval_set_for_version(version: ModelVersion) -> EvalSet:
    w = version.data_window
    events = holdout_events(w)
    cutoff = datetime.fromisoformat(w["end"])
    pool = np.fromiter(
        Resume.objects.filter(created_at__lte=cutoff).values_list("id", flat=True).iterator(chunk_size=20000),
        dtype=np.int64,
    )
    return build_eval_set(
        events,
        pool,
        job_docs=jobs_by_id,
        resume_docs=resumes_by_id,
        seed=int(w.get("eval_seed", version.version)),
    )


# ================================================================================================ training
def effective_train_config(overrides: dict | None = None) -> dict:
    from ml.network import TrainConfig

    cfg = TrainConfig().to_dict()
    cfg.update(settings.TRAINING_CONFIG)
    cfg.update(overrides or {})
    return TrainConfig.from_dict(cfg).to_dict()


# Sent on every progress write, in the training process: a command-line bar listens (manage.py train_model).
training_progress = Signal()


class ProgressWriter:
    """ml.network progress callback -> TrainingRun row, throttled; epoch ends and stage changes always written.

    Every write is conditional on the run still being on this attempt (else `Superseded`), and extends the lock.
    """

    def __init__(self, run_id: int, attempt: int, lock: TrainingLock | None):
        self.run_id, self.attempt, self.lock = run_id, attempt, lock
        self.interval = settings.TRAINING_PROGRESS_INTERVAL
        self.last_write = 0.0
        self.last_key: tuple = ()
        self.history: list[dict] = []
        self.progress: dict = {}

    def stage(self, stage: str, **progress) -> None:
        """A stage of ours begins (snapshot, encode, evaluate, artifact): the last losses stay visible."""
        self.progress = {**self.progress, "stage_started_at": timezone.now().isoformat(), **progress}
        self._write({"stage": stage, "progress": self.progress})

    def __call__(self, p) -> None:
        now = time.monotonic()
        key = (p.stage, p.epoch)
        if p.stage == "train":
            self.history.append(
                {
                    "epoch": p.epoch,
                    "losses": {k: round(float(v), 6) for k, v in p.losses.items()},
                    "kept_fraction": p.kept_fraction,
                    "clean_kept_fraction": p.clean_kept_fraction,
                    "at": timezone.now().isoformat(),
                }
            )
        if key == self.last_key and now - self.last_write < self.interval:
            return
        self.last_key = key
        if p.stage == "train" or "losses" not in self.progress:
            self.progress = {
                **self.progress,
                "losses": {k: float(v) for k, v in p.losses.items()},
                "kept_fraction": p.kept_fraction,
                "clean_kept_fraction": p.clean_kept_fraction,
            }
        self.progress["updated_at"] = timezone.now().isoformat()
        fields = {
            "stage": p.stage,
            "epoch": p.epoch,
            "epochs": p.epochs,
            "progress": self.progress,
            "history": self.history,
        }
        self._write(fields)

    def _write(self, fields: dict) -> None:
        self.last_write = time.monotonic()
        n = TrainingRun.objects.filter(
            pk=self.run_id, attempt=self.attempt, status=TrainingRun.Status.RUNNING
        ).update(**fields)
        if n == 0:
            raise Superseded(f"run {self.run_id} attempt {self.attempt} is no longer current")
        training_progress.send(sender=TrainingRun, run_id=self.run_id, fields=fields)
        if self.lock is not None and not self.lock.extend(self.run_id):
            # Expired (e.g. Redis restarted): take it again unless another run holds it now.
            if not self.lock.acquire(self.run_id):
                raise TrainingBusy(f"run {self.run_id} lost the training lock to run {self.lock.holder()}")


def _next_version_number() -> int:
    return (ModelVersion.objects.aggregate(m=Max("version"))["m"] or 0) + 1


def _new_training_version(run: TrainingRun) -> ModelVersion:
    parent = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    for _ in range(5):
        try:
            with transaction.atomic():
                return ModelVersion.objects.create(
                    version=_next_version_number(), status=ModelVersion.Status.TRAINING, parent=parent
                )
        except IntegrityError:
            continue
    raise RegistryError("could not allocate a version number")


def start_training_run(
    *, requested_by=None, trigger: str = "api", enqueue: bool = True
) -> tuple[TrainingRun, bool]:
    """Start a training run, or return the one in progress. Returns (run, created)."""
    lock = training_lock()
    for _ in range(20):
        holder = lock.holder()
        if holder is not None:
            run = TrainingRun.objects.filter(pk=holder).first()
            if run is not None and run.status in (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING):
                return run, False
            if run is None:
                # The holder's transaction may not be committed yet: look again shortly.
                time.sleep(0.1)
                if TrainingRun.objects.filter(pk=holder).exists():
                    continue
            # The holder finished or never existed (its creation rolled back) but the lock was not released.
            lock.release(holder)
            continue
        # The lock is free: runs still marked queued/running have lost their lock (expired): orphans.
        TrainingRun.objects.filter(status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]).update(
            status=TrainingRun.Status.FAILED,
            error="abandoned: its training lock expired without the run finishing",
            finished_at=timezone.now(),
        )
        ModelVersion.objects.filter(
            status=ModelVersion.Status.TRAINING, training_runs__status="failed"
        ).update(status=ModelVersion.Status.FAILED, notes="training abandoned (lock expired)")
        acquired_for = None
        try:
            with transaction.atomic():
                run = TrainingRun.objects.create(
                    status=TrainingRun.Status.QUEUED,
                    requested_by=requested_by,
                    trigger=trigger,
                    config=effective_train_config(),
                )
                if not lock.acquire(run.pk):
                    raise TrainingBusy("lost the race for the training lock")
                acquired_for = run.pk
                if enqueue:
                    transaction.on_commit(lambda run_id=run.pk: _enqueue_or_fail(run_id))
        except TrainingBusy:
            continue
        except BaseException:
            if acquired_for is not None:
                lock.release(acquired_for)
            raise
        return run, True
    raise TrainingBusy("could not start a training run: the training lock is contended")


def _enqueue_or_fail(run_id: int) -> None:
    try:
        enqueue_training(run_id)
    except Exception as exc:  # broker down: do not leave a queued run holding the lock for its whole TTL
        log.exception("could not queue training run %s", run_id)
        fail_run(run_id, f"could not queue the training task: {type(exc).__name__}: {exc}")


def enqueue_training(run_id: int) -> str:
    """The chain train -> evaluate -> promote for one run. Returns the train task's id."""
    from celery import chain

    from workers.tasks.training import evaluate_model, promote_model, train_model

    result = chain(train_model.s(run_id), evaluate_model.s(), promote_model.s()).apply_async()
    task_id = result.parent.parent.id if result.parent and result.parent.parent else result.id
    TrainingRun.objects.filter(pk=run_id).update(celery_task_id=task_id or "")
    return task_id


def _begin_attempt(run_id: int, lock: TrainingLock) -> TrainingRun | None:
    """Claim the run for a new attempt. None when there is nothing to do (finished, or past training)."""
    with transaction.atomic():
        run = (
            TrainingRun.objects.select_for_update(of=("self",)).select_related("model_version").get(pk=run_id)
        )
        if run.status in (TrainingRun.Status.SUCCEEDED, TrainingRun.Status.FAILED):
            log.info("run %s already %s: nothing to do", run_id, run.status)
            return None
        holder = lock.holder()
        if holder not in (None, run_id):
            raise TrainingBusy(f"run {holder} holds the training lock")
        if not lock.acquire(run_id):
            raise TrainingBusy(f"run {lock.holder()} holds the training lock")
        version = run.model_version
        if version is not None and version.status not in (ModelVersion.Status.TRAINING,):
            if version.status == ModelVersion.Status.FAILED:
                version = None  # a failed version is never reused; a fresh one below
            else:
                # Training finished in an earlier attempt (the candidate exists): only evaluation is left.
                return run
        if version is None:
            version = _new_training_version(run)
        else:
            version.metrics, version.notes = {}, f"restarted by attempt {run.attempt + 1}"
            version.artifact_name = version.artifact_sha256 = ""
            version.save(update_fields=["metrics", "notes", "artifact_name", "artifact_sha256"])
        run.attempt += 1
        run.status = TrainingRun.Status.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.stage, run.epoch, run.epochs, run.progress, run.history, run.error = "snapshot", 0, 0, {}, [], ""
        run.config = effective_train_config()
        run.model_version = version
        run.save()
    return run


def train_run(run_id: int, *, train_fn=None) -> int | None:
    """Train for one run; returns the candidate version id (None when the run has nothing left to do).

    Raises on failure; the task layer decides between retrying (transient) and `fail_run`.
    """
    from matching.embedding_services import current_encoder
    from ml.artifacts import save_model_to_bytes
    from ml.embedding import EmbeddingCache, shared_cache
    from ml.network import TrainConfig, train

    lock = training_lock()
    run = _begin_attempt(run_id, lock)
    if run is None:
        return None
    version = run.model_version
    if version.status == ModelVersion.Status.CANDIDATE:
        return version.pk
    attempt = run.attempt
    removed = delete_temp_artifacts(f"run{run_id}-")
    if removed:
        log.info("run %s: removed %d temporary artifact(s) of earlier attempts", run_id, removed)
    progress = ProgressWriter(run_id, attempt, lock)
    timings: dict[str, float] = {}

    t = time.monotonic()
    progress.stage("snapshot")
    snap = take_snapshot()
    snap.window["eval_seed"] = version.version
    timings["snapshot"] = time.monotonic() - t

    t = time.monotonic()
    progress.stage("encode")
    encoder = current_encoder()
    cache_path = settings.TRAINING_EMBEDDING_CACHE or None
    try:
        cache = EmbeddingCache(encoder, path=cache_path)
    except Exception:  # an unreadable cache file only costs time
        log.warning("embedding cache %s unreadable; starting empty", cache_path, exc_info=True)
        cache = EmbeddingCache(encoder)
    config = TrainConfig.from_dict(run.config)
    model = (train_fn or train)(snap.train, config, cache=cache, progress=progress)
    timings["train"] = time.monotonic() - t
    if cache_path:
        try:
            cache.save()
        except Exception:
            log.warning("could not save the embedding cache", exc_info=True)
    shared_cache(encoder).absorb(cache)  # evaluation and serving in this process reuse these vectors

    t = time.monotonic()
    progress.stage("evaluate")
    es = build_eval_set(
        snap.holdout,
        snap.resume_ids,
        job_docs=lambda ids: {i: snap.jobs[i] for i in ids if i in snap.jobs},
        resume_docs=lambda ids: {i: snap.resumes[i] for i in ids if i in snap.resumes},
        seed=version.version,
    )
    holdout = evaluate_scores(es, model_scores(model, es))
    zero_shot = evaluate_scores(es, zero_shot_scores(es, encoder))
    timings["evaluate"] = time.monotonic() - t

    t = time.monotonic()
    progress.stage("artifact")
    blob = save_model_to_bytes(model)
    name, sha = write_artifact(
        blob,
        f"{ARTIFACT_DIR}/v{version.version:05d}-run{run_id}-a{attempt}-{hashlib.sha256(blob).hexdigest()[:12]}.tandem",
        temp_prefix=f"run{run_id}-a{attempt}",
    )
    timings["artifact"] = time.monotonic() - t

    train_metrics = {k: v for k, v in (model.metrics or {}).items() if k != "history"}
    metrics = {
        **_clean_metrics(holdout),
        "zero_shot": _clean_metrics(zero_shot),
        "train": _clean_metrics(train_metrics),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "artifact_bytes": len(blob),
    }
    with transaction.atomic():
        current = TrainingRun.objects.select_for_update().get(pk=run_id)
        if current.attempt != attempt or current.status != TrainingRun.Status.RUNNING:
            model_storage().delete(name)
            raise Superseded(f"run {run_id} attempt {attempt} is no longer current")
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.CANDIDATE,
            config=run.config,
            data_window=snap.window,
            metrics=metrics,
            artifact_name=name,
            artifact_sha256=sha,
            encoder_version=model.encoder_version,
            notes="",
        )
        TrainingRun.objects.filter(pk=run_id).update(stage="compare", history=progress.history)
    return version.pk


def fail_run(run_id: int, error: str) -> None:
    """Mark the run failed (and its unfinished version); release the lock if the run holds it."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            return
        if run.status != TrainingRun.Status.SUCCEEDED:
            run.status = TrainingRun.Status.FAILED
            run.error = error[:5000]
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
        if run.model_version_id:
            ModelVersion.objects.filter(pk=run.model_version_id, status=ModelVersion.Status.TRAINING).update(
                status=ModelVersion.Status.FAILED, notes=f"training failed: {error}"[:5000]
            )
    delete_temp_artifacts(f"run{run_id}-")
    training_lock().release(run_id)


def finish_run(run_id: int) -> None:
    TrainingRun.objects.filter(pk=run_id).exclude(status=TrainingRun.Status.FAILED).update(
        status=TrainingRun.Status.SUCCEEDED, stage="done", finished_at=timezone.now()
    )
    training_lock().release(run_id)


def _run_for(version: ModelVersion) -> TrainingRun | None:
    return version.training_runs.order_by("-created_at").first()


def _set_stage(version: ModelVersion, stage: str) -> None:
    run = _run_for(version)
    if run is not None and run.status == TrainingRun.Status.RUNNING:
        TrainingRun.objects.filter(pk=run.pk).update(stage=stage)
        training_lock().extend(run.pk)


# ================================================================================================ compare / promote
def compare_with_active(version_id: int) -> dict:
    """Evaluate the candidate and the active version (or zero-shot cosine) on the candidate's held-out slice.

    Stored in candidate.metrics["comparison"]; idempotent (recomputed on every call)."""
    from matching.selectors import active_model_version, load_model_cached

    version = ModelVersion.objects.get(pk=version_id)
    _set_stage(version, "compare")
    es = eval_set_for_version(version)
    cand = evaluate_scores(es, model_scores(load_version_model(version), es))
    active = active_model_version()
    if active is not None and active.pk != version.pk:
        base = evaluate_scores(es, model_scores(load_model_cached(active), es))
        baseline = {"kind": "active", "version_id": active.pk, "version": active.version}
    else:
        base = evaluate_scores(es, zero_shot_scores(es))
        baseline = {"kind": "zero_shot", "version_id": None, "version": None}
    comparison = {
        "candidate": _clean_metrics(cand),
        "baseline": {**baseline, "metrics": _clean_metrics(base)},
        "evaluated_at": timezone.now().isoformat(),
    }
    with transaction.atomic():
        v = ModelVersion.objects.select_for_update().get(pk=version_id)
        v.metrics = {**v.metrics, "comparison": comparison}
        v.save(update_fields=["metrics"])
    return comparison


@dataclass
class PromotionDecision:
    promoted: bool
    reason: str
    details: dict


def promote_if_better(version_id: int) -> PromotionDecision:
    version = ModelVersion.objects.get(pk=version_id)
    if version.status == ModelVersion.Status.ACTIVE:
        return PromotionDecision(True, f"v{version.version} is already active", {})
    if version.status != ModelVersion.Status.CANDIDATE:
        return PromotionDecision(False, f"v{version.version} is {version.status}, not a candidate", {})
    _set_stage(version, "promote")
    metric, margin = settings.PROMOTION_METRIC, settings.PROMOTION_MARGIN
    for _ in range(3):
        from matching.selectors import active_model_version

        active = active_model_version()
        comparison = version.metrics.get("comparison")
        active_id = active.pk if active is not None else None
        if comparison is None or comparison["baseline"]["version_id"] != active_id:
            comparison = compare_with_active(version_id)  # the active version changed since `evaluate`
            version.refresh_from_db()
        cand_value = comparison["candidate"].get(metric)
        base = comparison["baseline"]
        base_value = base["metrics"].get(metric)
        base_label = f"active v{base['version']}" if base["kind"] == "active" else "zero-shot cosine"
        n_q = comparison["candidate"].get("n_queries")
        first_always = base["kind"] == "zero_shot" and settings.FIRST_MODEL_POLICY == "always"
        if cand_value is None:
            promoted, reason = (
                False,
                f"not promoted: {metric} is undefined on the held-out slice (no relevant pairs)",
            )
        elif first_always:
            promoted, reason = True, "promoted: first model (FIRST_MODEL_POLICY=always)"
        elif base_value is None or cand_value - base_value > margin:
            promoted = True
            reason = (
                f"promoted: {metric} {cand_value:.4f} vs {base_label} "
                f"{(base_value if base_value is not None else float('nan')):.4f} "
                f"on the candidate's held-out slice ({n_q} jobs), margin {margin:+.4f}"
            )
        else:
            promoted = False
            reason = (
                f"not promoted: {metric} {cand_value:.4f} does not beat {base_label} {base_value:.4f} by more than "
                f"{margin:.4f} on the candidate's held-out slice ({n_q} jobs); {base_label} stays"
            )
        details = {
            "metric": metric,
            "margin": margin,
            "candidate": cand_value,
            "baseline": base_value,
            "baseline_kind": base["kind"],
            "baseline_version": base["version"],
            "promoted": promoted,
            "reason": reason,
            "decided_at": timezone.now().isoformat(),
        }
        with transaction.atomic():
            v = ModelVersion.objects.select_for_update().get(pk=version_id)
            v.metrics = {**v.metrics, "promotion": details}
            v.notes = "" if promoted else reason
            v.save(update_fields=["metrics", "notes"])
        if not promoted:
            return PromotionDecision(False, reason, details)
        try:
            activate(version_id, reason=reason, expected_active_id=active_id)
        except ActiveChanged:
            version.refresh_from_db()
            continue
        return PromotionDecision(True, reason, details)
    raise RegistryError("the active version kept changing during promotion")


# ================================================================================================ activation
class ActiveChanged(RegistryError):
    code = "active_changed"


_UNSET = object()


def activate(
    version_id: int, *, reason: str = "", expected_active_id=_UNSET, rollback: bool = False
) -> ModelVersion:
    """Make `version_id` the one active version. Verifies the artifact first; raises ArtifactUnavailable or
    ActivationRefused, in which case nothing changed."""
    version = ModelVersion.objects.get(pk=version_id)
    if version.status == ModelVersion.Status.ACTIVE:
        return version
    if version.status not in (ModelVersion.Status.CANDIDATE, ModelVersion.Status.RETIRED):
        raise ActivationRefused(
            f"v{version.version} is {version.status}: only candidate or retired versions can be activated"
        )
    read_verified_artifact(version)  # outside the transaction: no row locks held while reading storage
    for _ in range(3):
        try:
            with transaction.atomic():
                rows = list(
                    ModelVersion.objects.select_for_update()
                    .filter(Q(pk=version_id) | Q(status=ModelVersion.Status.ACTIVE))
                    .order_by("pk")
                )
                target = next(r for r in rows if r.pk == version_id)
                current = next(
                    (r for r in rows if r.pk != version_id and r.status == ModelVersion.Status.ACTIVE), None
                )
                if target.status not in (ModelVersion.Status.CANDIDATE, ModelVersion.Status.RETIRED):
                    raise ActivationRefused(f"v{target.version} became {target.status}")
                if (
                    expected_active_id is not _UNSET
                    and (current.pk if current else None) != expected_active_id
                ):
                    raise ActiveChanged("the active version changed")
                if current is not None:
                    current.status = ModelVersion.Status.RETIRED
                    current.save(update_fields=["status"])
                target.status = ModelVersion.Status.ACTIVE
                target.activated_at = timezone.now()
                fields = ["status", "activated_at"]
                if not rollback:
                    target.replaced = current
                    fields.append("replaced")
                if reason:
                    target.notes = reason
                    fields.append("notes")
                target.save(update_fields=fields)
                previous_id = current.pk if current else None
                transaction.on_commit(
                    lambda prev=previous_id: model_activated.send(
                        sender=ModelVersion, version_id=version_id, previous_id=prev, rollback=rollback
                    )
                )
            return target
        except IntegrityError:
            # A concurrent activation committed between our snapshot and our write; try again.
            continue
    raise ActivationRefused("concurrent activations kept conflicting; try again")


def rollback(*, to_version_id: int | None = None) -> ModelVersion:
    """Re-activate the version the current one replaced (or `to_version_id`).

    A rollback does not overwrite the target's own `replaced`, so repeated rollbacks walk back in history
    (v3 -> v2 -> v1) instead of toggling between two versions. The target's artifact is verified first."""
    current = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    if to_version_id is not None:
        target = ModelVersion.objects.filter(pk=to_version_id).first()
        if target is None:
            raise NothingToRollBack(f"no model version {to_version_id}")
    else:
        if current is None:
            raise NothingToRollBack("no version is active")
        target = current.replaced
        if target is None:
            raise NothingToRollBack(f"v{current.version} did not replace an earlier version")
        if target.status != ModelVersion.Status.RETIRED:
            raise NothingToRollBack(
                f"v{target.version}, which v{current.version} replaced, is {target.status}"
            )
    reason = f"rollback from v{current.version}" if current else "rollback"
    return activate(target.pk, reason=reason, rollback=True)
