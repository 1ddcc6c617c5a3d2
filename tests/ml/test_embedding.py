"""Embedding module: real MiniLM (loaded once per session), cache hits/misses, versioning, persistence."""

from __future__ import annotations

import re

import numpy as np

from ml.embedding import EmbeddingCache, HashingEncoder, get_encoder, text_hash


def test_minilm_loads_offline_and_encodes(minilm):
    assert get_encoder() is minilm  # process-wide singleton
    assert re.fullmatch(r"all-MiniLM-L6-v2:[0-9a-f]{12}", minilm.version)
    assert minilm.dim == 384
    v = minilm.encode(["Senior Python backend developer", "", "Registered nurse on a busy ward", "  "])
    assert v.dtype == np.float32 and v.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(v[[0, 2]], axis=1), 1.0, atol=1e-5)
    assert not v[1].any() and not v[3].any()  # empty text -> zero vector
    q = minilm.encode(["Backend Engineer: Django, PostgreSQL, REST APIs"])[0]
    assert q @ v[0] > q @ v[2] + 0.2


def test_cache_never_reencodes_unchanged_text_and_records_version(minilm):
    cache = EmbeddingCache(minilm)
    texts = ["python developer", "nurse", "python developer", ""]
    a = cache.encode(texts)
    assert (cache.hits, cache.misses) == (1, 3)  # the duplicate inside the call is a hit
    b = cache.encode(list(reversed(texts)))
    assert (cache.hits, cache.misses) == (5, 3)
    np.testing.assert_array_equal(a, b[::-1])
    np.testing.assert_allclose(a[0], minilm.encode(["python developer"])[0], atol=1e-6)
    assert cache.version == minilm.version


def test_cache_counts_real_encoder_calls_and_persists(tmp_path):
    enc = HashingEncoder()
    path = str(tmp_path / "emb.npz")
    cache = EmbeddingCache(enc, path)
    v = cache.encode(["a b c", "d e f"])
    cache.encode(["a b c"])
    assert enc.calls == 2
    cache.save()
    enc2 = HashingEncoder()
    warm = EmbeddingCache(enc2, path)
    assert len(warm) == 2 and "a b c" in warm
    np.testing.assert_array_equal(warm.encode(["d e f", "a b c"]), v[::-1])
    assert enc2.calls == 0 and warm.misses == 0
    # a different encoder version ignores vectors it did not make
    other = EmbeddingCache(HashingEncoder(dim=128), path)
    assert len(other) == 0
    assert other.encode(["a b c"]).shape == (1, 128)


def test_text_hash_is_sha256():
    assert text_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_end_to_end_with_real_minilm(minilm):
    """Small train on real MiniLM vectors: the model records the encoder version and serves explanations."""
    from ml.data.synthetic import make_synthetic
    from ml.network import TrainConfig, train

    syn = make_synthetic(40, 100, 600, label_noise=0.1, seed=3)
    cache = EmbeddingCache(minilm)
    model = train(syn.data, TrainConfig(epochs=3, seed=0), cache=cache)
    assert model.encoder_version == minilm.version
    assert model.metrics["train_auc_total"] > 0.6
    job = syn.data.jobs[0]
    s = model.rank_resumes(job, syn.data.resumes)
    assert s.total.shape == (100,) and np.isfinite(s.total).all()
    sims = model.section_similarities(job, syn.data.resumes[0])
    assert set(sims) == {"title:headline", "skills:skills", "description:experience", "whole:whole"}
    assert all(-1.0 <= v <= 1.0 for v in sims.values())
    batch = model.section_similarities_many(job, syn.data.resumes[:40])  # the reasons' batched path
    for resume, got in zip(syn.data.resumes[:40], batch, strict=True):
        want = model.section_similarities(job, resume)
        assert got.keys() == want.keys() and all(abs(got[k] - want[k]) < 1e-6 for k in want)
    ej, er = model.embed_jobs(syn.data.jobs[:3]), model.embed_resumes(syn.data.resumes[:4])
    np.testing.assert_allclose(np.linalg.norm(ej, axis=1), 1.0, atol=1e-5)
    assert ej.shape[1] == er.shape[1] == model.retrieval_dim
    # a second training pass over the same documents encodes nothing new
    misses = cache.misses
    train(syn.data, TrainConfig(epochs=1, seed=0), cache=cache)
    assert cache.misses == misses
