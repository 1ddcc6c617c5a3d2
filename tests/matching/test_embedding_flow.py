"""Zero-shot embedding after commit, only when content changed; dirty-flag batches."""

from __future__ import annotations

import pytest

from matching import documents, embedding
from matching.models import DocumentVector, EmbeddingMark
from matching.section_store import section_texts
from recruiting import services
from workers.tasks.embedding import embed_dirty_documents

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def eager(monkeypatch, hashing_encoder, celery_eager):
    """Run the embedding task in process when the signal handler queues it (no Redis debounce involved)."""
    queued = []

    def request():
        queued.append(1)
        embed_dirty_documents.apply()

    monkeypatch.setattr(embedding, "request_embedding", request)
    return queued


@pytest.fixture
def candidate(make_org):
    return services.candidate_create(organization=make_org(), data={"full_name": "Grace"})


def _vector(resume):
    return DocumentVector.objects.get(resume_id=resume.pk)


def _texts(resume) -> set[str]:
    return {t for t in section_texts(documents.resume_doc(resume)) if t.strip()}


def test_edit_re_embeds_once_and_unchanged_save_does_not(eager, hashing_encoder, candidate):
    resume = services.resume_create(
        candidate=candidate, data={"headline": "Data engineer", "skills": ["python", "spark"]}
    )
    vector = _vector(resume)
    before = _texts(resume)
    created = hashing_encoder.calls  # each distinct section text once: headline, skills, the whole text
    assert created == len(before) and len(eager) == 1
    assert vector.space == f"encoder:{hashing_encoder.version}" and vector.content_hash == resume.content_hash
    assert vector.dim == 384 and abs(float((vector.as_array() ** 2).sum()) - 1.0) < 1e-5

    # saved unchanged: no task queued, nothing encoded, the row untouched
    services.resume_update(resume=resume, data={"headline": "Data engineer"})
    assert hashing_encoder.calls == created and len(eager) == 1
    assert _vector(resume).updated_at == vector.updated_at

    # edited: embedded exactly once more, same row
    services.resume_update(resume=resume, data={"skills": ["python", "spark", "airflow"]})
    resume.refresh_from_db()
    changed = len(_texts(resume) - before)  # only the section texts the edit changed
    assert changed > 0 and hashing_encoder.calls == created + changed and len(eager) == 2
    again = _vector(resume)
    assert again.pk == vector.pk and again.content_hash == resume.content_hash != vector.content_hash
    assert DocumentVector.objects.filter(resume_id=resume.pk).count() == 1
    assert not EmbeddingMark.objects.filter(dirty=True).exists()

    # flagged again without a content change (e.g. the sweep): the hash guard skips the encoder
    embedding.mark_dirty("resume", [resume.pk])
    result = embedding.process_dirty_batch()
    assert (result.embedded, result.unchanged, result.cleared) == (0, 1, 1)
    assert hashing_encoder.calls == created + changed


def test_jobs_are_embedded_and_erasure_drops_flags(eager, hashing_encoder, make_org):
    org = make_org()
    job = services.job_create(organization=org, data={"title": "SRE", "description": "Kubernetes, on call."})
    assert DocumentVector.objects.get(job_id=job.pk).kind == "job"
    embedding.mark_dirty("job", [job.pk])
    services.job_delete(job=job)
    assert not DocumentVector.objects.filter(job_id=job.pk).exists()
    assert not EmbeddingMark.objects.filter(kind="job", object_id=job.pk).exists()


def test_batches_in_pk_order_and_requeue_until_done(
    monkeypatch, hashing_encoder, celery_eager, make_org, make_resume
):
    monkeypatch.setattr(embedding, "request_embedding", lambda: None)  # marks only
    org = make_org()
    resumes = [make_resume(org=org, headline=f"Engineer {i}") for i in range(5)]  # model save: no signal
    embedding.mark_dirty("resume", [r.pk for r in resumes])
    first = embedding.process_dirty_batch(2)
    assert (first.taken, first.embedded, first.remaining) == (2, 2, True)
    done = set(DocumentVector.objects.values_list("resume_id", flat=True))
    assert done == {resumes[0].pk, resumes[1].pk}  # lowest primary keys first
    embed_dirty_documents.apply(kwargs={"batch_size": 2})  # re-queues itself until none is left
    assert DocumentVector.objects.count() == 5
    assert not EmbeddingMark.objects.filter(dirty=True).exists()


def test_a_mark_set_while_the_batch_runs_survives_the_batch(
    monkeypatch, hashing_encoder, make_org, make_resume
):
    resume = make_resume(org=make_org())
    embedding.mark_dirty("resume", [resume.pk])
    real_encode = hashing_encoder.encode

    def encode_and_edit(texts, **kw):
        # the document is edited (and re-marked) while its batch is being embedded
        embedding.mark_dirty("resume", [resume.pk])
        return real_encode(texts, **kw)

    monkeypatch.setattr(hashing_encoder, "encode", encode_and_edit)
    result = embedding.process_dirty_batch()
    assert result.embedded == 1 and result.cleared == 0 and result.remaining
    assert EmbeddingMark.objects.get(object_id=resume.pk).dirty  # still flagged for the next batch
    monkeypatch.setattr(hashing_encoder, "encode", real_encode)
    again = embedding.process_dirty_batch()
    assert again.cleared == 1 and not again.remaining


def test_mark_missing_flags_documents_without_a_vector(monkeypatch, hashing_encoder, make_org, make_resume):
    monkeypatch.setattr(embedding, "request_embedding", lambda: None)
    org = make_org()
    a, b = make_resume(org=org), make_resume(org=org, headline="Other")
    embedding.embed_documents("resume", [a.pk])
    assert embedding.mark_missing() == 1
    assert list(EmbeddingMark.objects.filter(dirty=True).values_list("object_id", flat=True)) == [b.pk]


def test_request_embedding_is_debounced(monkeypatch, settings):
    from matching.redis_client import redis_client

    sent = []
    monkeypatch.setattr(embed_dirty_documents, "delay", lambda *a, **k: sent.append(1))
    monkeypatch.setattr(embedding, "QUEUED_FLAG_KEY", "tandem:test:embedding:queued:debounce")
    redis_client().delete(embedding.QUEUED_FLAG_KEY)
    embedding.request_embedding()
    embedding.request_embedding()
    assert sent == [1]
    embedding.clear_request_flag()  # what the task does when it starts
    embedding.request_embedding()
    assert sent == [1, 1]
    redis_client().delete(embedding.QUEUED_FLAG_KEY)
