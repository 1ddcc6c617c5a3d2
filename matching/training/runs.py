"""The training run lifecycle: start (one at a time) -> train (idempotent on the run id) -> finish or fail.

- One training at a time: the training lock (matching.training.lock). A second start while one runs
  returns the running run.
- Idempotent on run id: a redelivered training task (worker killed; acks_late + reject_on_worker_lost)
  restarts the run under a new `attempt`, reusing the run's `training` version (no duplicate version) and
  deleting the dead attempt's temporary files. A finished run is never re-run.
- A failed or killed training leaves its version `training` (then `failed`), never active.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from matching.encoders import current_encoder
from matching.erasure import model_artifact
from matching.models import ModelVersion, TrainingRun
from matching.section_store import prime_cache_for_training
from matching.selectors import active_model_version
from matching.training import encoder_upgrade
from matching.training.artifacts import (
    ARTIFACT_DIR,
    delete_temp_artifacts,
    load_version_model,
    model_storage,
    write_artifact,
)
from matching.training.dispatch import LOCK_DOWN, pending_runs, queue_without_lock, send_run
from matching.training.errors import RegistryError, Superseded, TrainingBusy
from matching.training.evaluation import (
    build_eval_set,
    clean_metrics,
    evaluate_scores,
    model_scores,
    zero_shot_scores,
)
from matching.training.lock import TrainingLock, training_lock
from matching.training.progress import ProgressWriter
from matching.training.snapshot import Snapshot, take_snapshot
from ml.compat.distill import PreviousVectors
from ml.embedding import EmbeddingCache, shared_cache
from ml.network import TrainConfig, train
from ml.types import MatchingData

log = logging.getLogger(__name__)


def effective_train_config(overrides: dict | None = None) -> dict:
    cfg = TrainConfig().to_dict()
    cfg.update(settings.TRAINING_CONFIG)
    cfg.update(overrides or {})
    return TrainConfig.from_dict(cfg).to_dict()


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
    *, requested_by=None, trigger: str = "api", enqueue: bool = True, finetune_encoder: bool | None = None
) -> tuple[TrainingRun, bool]:
    """Start a training run, or return the one in progress. Returns (run, created).

    The run commits queued before its chain is sent; with the broker or Redis down it stays queued for the
    dispatcher (matching.training.dispatch), never failed and never waited on.
    ``finetune_encoder``: an encoder upgrade first (encoder_upgrade; None: settings.TRAINING_ENCODER_FINETUNE)."""
    config = {**effective_train_config(), **encoder_upgrade.run_option(finetune_encoder)}
    lock = training_lock(quick=True)
    try:
        return _start_with_lock(lock, requested_by, trigger, enqueue, config)
    except LOCK_DOWN as exc:
        log.warning("training lock unreachable (%s)", exc)
        return queue_without_lock(requested_by=requested_by, trigger=trigger, config=config)


def _start_with_lock(
    lock, requested_by, trigger: str, enqueue: bool, config: dict
) -> tuple[TrainingRun, bool]:
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
        pending = pending_runs().first()  # committed while Redis was down, never sent: it is the run
        if pending is not None and lock.acquire(pending.pk):
            if enqueue:
                send_run(pending.pk)
            return pending, False
        _fail_orphans()
        acquired_for = None
        try:
            with transaction.atomic():
                run = TrainingRun.objects.create(
                    status=TrainingRun.Status.QUEUED,
                    requested_by=requested_by,
                    trigger=trigger,
                    config=config,
                )
                if not lock.acquire(run.pk):
                    raise TrainingBusy("lost the race for the training lock")
                acquired_for = run.pk
                if enqueue:
                    transaction.on_commit(lambda run_id=run.pk: send_run(run_id))
        except TrainingBusy:
            continue
        except BaseException:
            if acquired_for is not None:
                lock.release(acquired_for)
            raise
        return run, True
    raise TrainingBusy("could not start a training run: the training lock is contended")


def _fail_orphans() -> None:
    """The lock is free: runs still marked queued/running (and sent) have lost their lock (expired)."""
    TrainingRun.objects.filter(status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]).update(
        status=TrainingRun.Status.FAILED,
        error="abandoned: its training lock expired without the run finishing",
        finished_at=timezone.now(),
    )
    ModelVersion.objects.filter(status=ModelVersion.Status.TRAINING, training_runs__status="failed").update(
        status=ModelVersion.Status.FAILED, notes="training abandoned (lock expired)"
    )


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
            version.encoder_artifact_name = version.encoder_artifact_sha256 = ""
            version.save(
                update_fields=[
                    "metrics",
                    "notes",
                    "artifact_name",
                    "artifact_sha256",
                    "encoder_artifact_name",
                    "encoder_artifact_sha256",
                ]
            )
        run.attempt += 1
        run.status = TrainingRun.Status.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.stage, run.epoch, run.epochs, run.progress, run.history, run.error = "snapshot", 0, 0, {}, [], ""
        run.config = {**effective_train_config(), **_option(run.config)}
        run.model_version = version
        run.save()
    return run


def _option(config: dict) -> dict:
    """The run's encoder-upgrade choice, kept across attempts (the train config itself is re-read)."""
    return {k: v for k, v in (config or {}).items() if k == encoder_upgrade.OPTION}


def train_run(run_id: int, *, train_fn=None) -> int | None:
    """Train for one run; returns the candidate version id (None when the run has nothing left to do).

    Raises on failure; the task layer decides between retrying (transient) and `fail_run`.
    """
    lock = training_lock()
    run = _begin_attempt(run_id, lock)
    if run is None:
        return None
    version = run.model_version
    if version.status == ModelVersion.Status.CANDIDATE:
        return version.pk
    removed = delete_temp_artifacts(f"run{run_id}-")
    if removed:
        log.info("run %s: removed %d temporary artifact(s) of earlier attempts", run_id, removed)
    progress = ProgressWriter(run_id, run.attempt, lock)
    timings: dict[str, float] = {}

    with _timed(timings, "snapshot"):
        progress.stage("snapshot")
        snap = take_snapshot()
        snap.window["eval_seed"] = version.version
    upgrade = None
    if encoder_upgrade.requested(run.config):
        with _timed(timings, "encoder"):
            progress.stage("encoder")
            upgrade = encoder_upgrade.finetune_for_run(run, version, snap.train, progress.stage)
    with _timed(timings, "train"):
        progress.stage("encode")
        encoder = upgrade.encoder if upgrade is not None else current_encoder()
        model = train_with_cache(
            snap.train, TrainConfig.from_dict(run.config), encoder, progress, train_fn or train
        )
    with _timed(timings, "evaluate"):
        progress.stage("evaluate")
        holdout, zero_shot = _evaluate_on_holdout(model, snap, current_encoder(), seed=version.version)
    window = snap.window
    del snap  # its documents and interactions (~0.8 GB at 1M) go before the artifact is serialised
    with _timed(timings, "artifact"):
        progress.stage("artifact")
        blob = model_artifact(model)  # without the resumes erased since the snapshot
        name, sha = write_artifact(
            blob,
            f"{ARTIFACT_DIR}/v{version.version:05d}-run{run_id}-a{run.attempt}-"
            f"{hashlib.sha256(blob).hexdigest()[:12]}.tandem",
            temp_prefix=f"run{run_id}-a{run.attempt}",
        )

    train_metrics = {k: v for k, v in (model.metrics or {}).items() if k != "history"}
    metrics = {
        **clean_metrics(holdout),
        "zero_shot": clean_metrics(zero_shot),
        "train": clean_metrics(train_metrics),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "artifact_bytes": len(blob),
        **({"encoder": upgrade.record} if upgrade is not None else {}),
    }
    _record_candidate(
        run,
        window=window,
        metrics=metrics,
        artifact=(name, sha),
        encoder_version=model.encoder_version,
        encoder_artifact=upgrade.artifact if upgrade is not None else ("", ""),
        history=progress.history,
    )
    return version.pk


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    t = time.monotonic()
    yield
    timings[stage] = time.monotonic() - t


def _distillation_vectors(config: TrainConfig, encoder, data: MatchingData, cache: EmbeddingCache):
    """The active version's retrieval vectors of the training documents (``PreviousVectors``), when COMPAT_DISTILL
    asks for distillation and they fit this config's (same encoder, same views and width); else None.

    The teacher is loaded for this alone, reads the training cache (primed from SectionVectors: it encodes
    nothing the embedding worker stored, where the process-wide cache of a fresh worker child would have had
    MiniLM embed every section again) and is dropped before the epochs (a 1M-interaction model is ~0.5 GB)."""
    if not settings.COMPAT_DISTILL or config.distill_weight <= 0:
        return None
    active = active_model_version()
    if active is None or active.encoder_version != encoder.version:
        return None
    teacher = load_version_model(active)
    width = config.hidden * (int(config.use_text_view) + int(config.use_relation_view))
    if teacher.retrieval_dim != width:
        return None
    teacher.use_cache(cache)
    return PreviousVectors.of(teacher, data.jobs, data.resumes)


def train_with_cache(
    data: MatchingData,
    config: TrainConfig,
    encoder,
    progress: Callable,
    train_fn: Callable,
    init: dict | None = None,
):
    """Train with the section-embedding cache on disk (the deployment encoder's only: a fine-tuned encoder's
    vectors would replace that file's), then share what it encoded. ``init``: weights to start from."""
    cache_path = (settings.TRAINING_EMBEDDING_CACHE or None) if encoder is current_encoder() else None
    try:
        cache = EmbeddingCache(encoder, path=cache_path)
    except Exception:  # an unreadable cache file only costs time
        log.warning("embedding cache %s unreadable; starting empty", cache_path, exc_info=True)
        cache = EmbeddingCache(encoder)
    primed = prime_cache_for_training(cache, data.jobs, data.resumes)  # what the embedding worker stored
    log.info("training cache: %d section vectors read from SectionVectors", primed)
    extra = {"previous": _distillation_vectors(config, encoder, data, cache), "init": init}
    model = train_fn(
        data, config, cache=cache, progress=progress, **{k: v for k, v in extra.items() if v is not None}
    )
    if cache_path:
        try:
            cache.save()
        except Exception:
            log.warning("could not save the embedding cache", exc_info=True)
    shared_cache(encoder).absorb(cache)  # evaluation and serving in this process reuse these vectors
    return model


def _evaluate_on_holdout(model, snap: Snapshot, encoder, *, seed: int) -> tuple[dict, dict]:
    """(the model's, zero-shot cosine's) metrics on the snapshot's held-out slice."""
    es = build_eval_set(
        snap.holdout,
        snap.resume_ids,
        job_docs=lambda ids: {i: snap.jobs[i] for i in ids if i in snap.jobs},
        resume_docs=lambda ids: {i: snap.resumes[i] for i in ids if i in snap.resumes},
        seed=seed,
    )
    zero_shot = zero_shot_scores(es, encoder, model.cache)
    return evaluate_scores(es, model_scores(model, es)), evaluate_scores(es, zero_shot)


def _record_candidate(
    run: TrainingRun,
    *,
    window: dict,
    metrics: dict,
    artifact: tuple[str, str],
    encoder_version: str,
    encoder_artifact: tuple[str, str],
    history: list[dict],
) -> None:
    """The version becomes `candidate`, unless a newer attempt took the run over (then its artifact goes)."""
    name, sha = artifact
    with transaction.atomic():
        current = TrainingRun.objects.select_for_update().get(pk=run.pk)
        if current.attempt != run.attempt or current.status != TrainingRun.Status.RUNNING:
            model_storage().delete(name)
            raise Superseded(f"run {run.pk} attempt {run.attempt} is no longer current")
        ModelVersion.objects.filter(pk=run.model_version_id).update(
            status=ModelVersion.Status.CANDIDATE,
            config=run.config,
            data_window=window,
            metrics=metrics,
            artifact_name=name,
            artifact_sha256=sha,
            encoder_version=encoder_version,
            encoder_artifact_name=encoder_artifact[0],
            encoder_artifact_sha256=encoder_artifact[1],
            notes="",
        )
        TrainingRun.objects.filter(pk=run.pk).update(stage="compare", history=history)


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
