"""Section vectors are stored when a document is embedded, and a fresh serving process reranks stored
documents from them without running the encoder."""

from __future__ import annotations

import numpy as np
import pytest

import ml.embedding
from matching import selectors
from matching.encoders import encoder_space
from matching.models import DocumentVector, SectionVectors
from ml.embedding import HashingEncoder
from ml.textview import N_SECTIONS
from recruiting.models import Job, Resume
from tests.matching.test_model_space import _train_and_promote, platform  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def encoded_texts(monkeypatch):
    """Counts the texts any HashingEncoder instance encodes (the model loads its own instance)."""
    seen: list[str] = []
    original = HashingEncoder._encode_nonempty

    def counting(self, texts, **kw):
        seen.extend(texts)
        return original(self, texts, **kw)

    monkeypatch.setattr(HashingEncoder, "_encode_nonempty", counting)
    return seen


def _fresh_serving_process() -> None:
    selectors.clear_model_cache()
    ml.embedding._shared_caches.clear()


def test_embedding_stores_each_documents_section_vectors(platform):  # noqa: F811
    rows = SectionVectors.objects.filter(kind="resume")
    assert rows.count() == Resume.objects.count()
    row = rows.exclude(resume=platform["blank"]).first()
    vecs = np.frombuffer(bytes(row.vectors), dtype="<f4").reshape(-1, row.dim)
    assert vecs.shape[0] == N_SECTIONS and len(row.text_hashes.split(",")) == N_SECTIONS
    whole = DocumentVector.objects.get(space=encoder_space(), resume=row.resume).as_array()
    assert np.allclose(vecs[-1], whole, atol=1e-6)  # the whole-text section is the zero-shot vector
    assert SectionVectors.objects.filter(kind="job").count() == Job.objects.count()


def test_a_fresh_process_reranks_stored_documents_without_the_encoder(platform, encoded_texts):  # noqa: F811
    version = _train_and_promote()
    job = Job.objects.order_by("pk").first()
    url = f"/api/jobs/{job.pk}/candidates/"

    _fresh_serving_process()
    encoded_texts.clear()
    body = platform["client"].get(url, {"k": 50}).json()
    assert body["model_version"] == version.version and len(body["results"]) >= 20
    assert encoded_texts == []  # every reranked section came from SectionVectors

    # the same request without the stored rows must encode: the check above could fail
    SectionVectors.objects.all().delete()
    _fresh_serving_process()
    again = platform["client"].get(url, {"k": 50}).json()
    assert len(encoded_texts) > 0
    assert [r["resume"] for r in again["results"]] == [r["resume"] for r in body["results"]]


def test_zero_shot_reasons_read_stored_sections_too(platform, encoded_texts):  # noqa: F811
    job = Job.objects.order_by("pk").first()
    _fresh_serving_process()
    encoded_texts.clear()
    body = platform["client"].get(f"/api/jobs/{job.pk}/candidates/", {"k": 20}).json()
    assert body["model"] == "zero-shot" and body["results"]
    assert all(r["best_sections"] for r in body["results"] if r["resume"] != platform["blank"].pk)
    assert encoded_texts == []


def test_training_reads_stored_section_vectors_instead_of_encoding(platform, encoded_texts, settings):  # noqa: F811
    """The nightly retrain encodes no section the embedding worker stored (at scale, re-encoding every
    section costs more than training); without the stored rows the same training must encode them."""
    from matching.section_store import section_texts
    from matching.training.snapshot import take_snapshot

    settings.TRAINING_EMBEDDING_CACHE = ""  # no cache file: only SectionVectors can spare the encoder
    snap = take_snapshot()
    stored = {t for d in [*snap.train.jobs, *snap.train.resumes] for t in section_texts(d) if t.strip()}
    assert stored
    _fresh_serving_process()
    encoded_texts.clear()
    _train_once()
    assert not stored & set(encoded_texts)

    SectionVectors.objects.all().delete()
    _fresh_serving_process()
    encoded_texts.clear()
    _train_once()
    assert stored & set(encoded_texts)  # the check above could fail


def _train_once() -> None:
    from matching.training import runs

    run, _ = runs.start_training_run(enqueue=False)
    assert runs.train_run(run.pk) is not None
    runs.finish_run(run.pk)
