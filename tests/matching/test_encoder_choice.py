"""TANDEM_ENCODER=minilm-onnx-int8: the embedding worker and the backfill both encode with the INT8 path, and the
vectors they store name it in their space."""

from __future__ import annotations

import numpy as np
import pytest

from matching import documents, embedding, encoders
from matching.models import DocumentVector
from ml.onnx_encoder import ONNX_INT8_SUFFIX, OnnxInt8Encoder
from recruiting import services
from workers.tasks.embedding import embed_dirty_documents

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def int8_configured(settings, monkeypatch, celery_eager):
    """The INT8 path chosen by configuration (built once into ENCODER_CACHE_DIR, then reused by every run)."""
    settings.EMBEDDING_ENCODER = "minilm-onnx-int8"
    monkeypatch.setattr(encoders, "_encoder", None)  # loaded from settings on first use, like a fresh worker
    queued = []

    def request():
        queued.append(1)
        embed_dirty_documents.apply()

    monkeypatch.setattr(embedding, "request_embedding", request)
    return queued


@pytest.mark.timeout(900)
def test_worker_and_backfill_store_int8_vectors_that_name_their_path(int8_configured, make_org):
    org = make_org()
    cand = services.candidate_create(organization=org, data={"full_name": "Ada"})
    resume = services.resume_create(
        candidate=cand, data={"headline": "Backend engineer", "skills": ["python", "django", "postgresql"]}
    )
    enc = encoders.current_encoder()
    assert isinstance(enc, OnnxInt8Encoder) and enc.version.endswith(ONNX_INT8_SUFFIX)
    assert len(int8_configured) == 1  # the worker's task ran on save
    row = DocumentVector.objects.get(resume_id=resume.pk)
    assert row.space == f"encoder:{enc.version}"

    # the backfill (manage.py embed_documents) writes a job it finds without a vector in the same space
    job = services.job_create(
        organization=org, data={"title": "Python developer", "required_skills": ["python"]}, notify=False
    )
    assert not DocumentVector.objects.filter(job_id=job.pk).exists()
    total = embedding.backfill()
    assert total.embedded >= 1
    job_row = DocumentVector.objects.get(job_id=job.pk)
    assert job_row.space == f"encoder:{enc.version}"

    # what was stored is the INT8 encoding of the document (not the float one), close to the float model's;
    # activations are quantised per batch, so a text encoded among others moves a little, never far
    from ml.embedding import get_encoder

    text = documents.resume_doc(resume).full_text()
    stored, alone, ref = row.as_array(), enc.encode([text])[0], get_encoder().encode([text])[0]
    assert float(stored @ alone) >= 0.99
    assert float(stored @ ref) >= 0.98 and not np.allclose(stored, ref, atol=1e-3)
