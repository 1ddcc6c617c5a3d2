"""Model registry, training runs, stored vectors and the nearest-neighbour indexes over them."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from recruiting.models import Job, Resume


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        TRAINING = "training"
        CANDIDATE = "candidate"
        ACTIVE = "active"
        RETIRED = "retired"
        FAILED = "failed"

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.TRAINING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    config = models.JSONField(default=dict, blank=True)
    # {"start": iso, "end": iso, "jobs": n, "resumes": n, "interactions": n, "holdout_start": iso}
    data_window = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    artifact_name = models.CharField(max_length=500, blank=True, default="")
    artifact_sha256 = models.CharField(max_length=64, blank=True, default="")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    encoder_version = models.CharField(max_length=200, blank=True, default="")
    # A version trained on a fine-tuned encoder (an encoder upgrade) stores that encoder beside its artifact: a
    # tar of the sentence-transformers directory, verified against its sha256 when serving loads it. Empty: the
    # deployment's own encoder.
    encoder_artifact_name = models.CharField(max_length=500, blank=True, default="")
    encoder_artifact_sha256 = models.CharField(max_length=64, blank=True, default="")
    # The version this one displaced when it was activated; rollback walks back along this chain.
    replaced = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_by"
    )
    # Why it was not promoted, or why it failed.
    notes = models.TextField(blank=True, default="")
    # Every job and resume has a vector in this version's own retrieval space (`model:<version>`) and its
    # indexes are built: only then does retrieval search that space (never a half-written one).
    space_ready = models.BooleanField(default=False)
    # Compatible update (matching/compat): activated before its own space was written, it serves against the
    # space of `base` (an older version whose space is complete) through a query projection, while a backfill
    # writes its own. {"base": n, "method": ..., "projections": {target kind: DriftProjection state}, ...};
    # emptied (the projection dropped) once its own space is complete.
    compat = models.JSONField(default=dict, blank=True)
    # The backfill of its own space: {"state": "running" | "paused" | "done", "base": n, "batches": n,
    # "started_at", "finished_at", "deleted_vectors": n}; the counts come from the stored vectors.
    backfill = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="one_active_model_version"
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.status})"


class TrainingRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_runs"
    )
    # Live progress: stage (snapshot, graph, train, evaluate, artifact, promote), epoch, losses, kept fraction.
    stage = models.CharField(max_length=30, blank=True, default="")
    epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    progress = models.JSONField(default=dict, blank=True)
    history = models.JSONField(default=list, blank=True)
    config = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    celery_task_id = models.CharField(max_length=64, blank=True, default="")
    # Rises each time a worker (re)starts the run; a redelivered task restarts cleanly under a new attempt,
    # and an older attempt that is still alive notices it was superseded at its next progress write.
    attempt = models.PositiveIntegerField(default=0)
    trigger = models.CharField(max_length=20, blank=True, default="api")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class DocumentVector(models.Model):
    """One vector per (document, space). PostgreSQL is the source of truth; indexes are rebuilt from here.

    A space names what made the vector: `encoder:<encoder version>` for zero-shot vectors, or
    `model:<version>` for a trained model's retrieval vectors.
    """

    class Kind(models.TextChoices):
        JOB = "job"
        RESUME = "resume"

    kind = models.CharField(max_length=6, choices=Kind.choices)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.CASCADE, related_name="vectors")
    resume = models.ForeignKey(
        Resume, null=True, blank=True, on_delete=models.CASCADE, related_name="vectors"
    )
    space = models.CharField(max_length=200, db_index=True)
    content_hash = models.CharField(max_length=64)
    dim = models.PositiveSmallIntegerField()
    vector = models.BinaryField()  # float32, little-endian, L2-normalised
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "space"], condition=Q(job__isnull=False), name="uniq_job_vector"
            ),
            models.UniqueConstraint(
                fields=["resume", "space"], condition=Q(resume__isnull=False), name="uniq_resume_vector"
            ),
            models.CheckConstraint(
                condition=(Q(kind="job", job__isnull=False, resume__isnull=True))
                | (Q(kind="resume", resume__isnull=False, job__isnull=True)),
                name="vector_kind_matches_target",
            ),
        ]
        indexes = [models.Index(fields=["space", "kind", "id"])]

    @property
    def object_id(self) -> int:
        return self.job_id if self.kind == self.Kind.JOB else self.resume_id

    def as_array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.vector), dtype="<f4").copy()

    @staticmethod
    def to_bytes(vector: np.ndarray) -> bytes:
        return np.asarray(vector, dtype="<f4").tobytes()


class VectorIndex(models.Model):
    """A nearest-neighbour index over the vectors of one (space, kind), saved as an artifact.

    `generation` rises on every change (build, addition, deletion); API processes compare it with
    the generation they hold and reload without a restart.
    """

    class Backend(models.TextChoices):
        EXACT = "exact"
        FAISS = "faiss"

    space = models.CharField(max_length=200)
    kind = models.CharField(max_length=6, choices=DocumentVector.Kind.choices)
    backend = models.CharField(max_length=10, choices=Backend.choices, default=Backend.EXACT)
    generation = models.PositiveBigIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    artifact_name = models.CharField(max_length=500, blank=True, default="")
    artifact_sha256 = models.CharField(max_length=64, blank=True, default="")
    built_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["space", "kind"], name="uniq_vector_index")]


class EmbeddingMark(models.Model):
    """Dirty flag for embedding work, one row per document (kind, object id).

    Marking sets `dirty` and a new `marked_at`. A worker takes a fixed batch in primary-key order, embeds it,
    then clears the flag only where it is still dirty with the SAME `marked_at` (row locks): a document edited
    while its batch was being processed stays dirty and is embedded again.
    """

    kind = models.CharField(max_length=6, choices=DocumentVector.Kind.choices)
    object_id = models.BigIntegerField()
    dirty = models.BooleanField(default=True)
    marked_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="uniq_embedding_mark")]
        indexes = [
            models.Index(fields=["id"], condition=Q(dirty=True), name="embedding_mark_dirty_idx"),
        ]


class SectionVectors(models.Model):
    """The frozen encoder's section vectors of one document (``ml.textview``: the peer sections and the whole
    text), written when the document is embedded, so a request reranking stored documents never runs the
    encoder. ``text_hashes`` (``ml.embedding.text_hash`` of each section text, comma-separated) key them into
    the section cache; a document edited since is encoded on demand, as before.
    """

    kind = models.CharField(max_length=6, choices=DocumentVector.Kind.choices)
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.CASCADE, related_name="section_vectors"
    )
    resume = models.ForeignKey(
        Resume, null=True, blank=True, on_delete=models.CASCADE, related_name="section_vectors"
    )
    encoder_version = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64)
    text_hashes = models.TextField()
    dim = models.PositiveSmallIntegerField()
    vectors = models.BinaryField()  # float32, little-endian, (sections, dim)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "encoder_version"], condition=Q(job__isnull=False), name="uniq_job_sections"
            ),
            models.UniqueConstraint(
                fields=["resume", "encoder_version"],
                condition=Q(resume__isnull=False),
                name="uniq_resume_sections",
            ),
            models.CheckConstraint(
                condition=(Q(kind="job", job__isnull=False, resume__isnull=True))
                | (Q(kind="resume", resume__isnull=False, job__isnull=True)),
                name="sections_kind_matches_target",
            ),
        ]
        # the projection fit samples stored documents by random row ids of one encoder (matching.compat)
        indexes = [models.Index(fields=["kind", "encoder_version", "id"], name="sections_sample_idx")]
