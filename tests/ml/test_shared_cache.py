"""The process-wide section cache: bounded, shared by version, and fed by training runs."""

import numpy as np

from ml.embedding import EmbeddingCache, HashingEncoder, shared_cache


def test_bounded_cache_evicts_least_recently_used():
    encoder = HashingEncoder(dim=32)
    cache = EmbeddingCache(encoder, max_entries=2)
    first = cache.encode(["alpha"])
    cache.encode(["beta"])
    cache.encode(["alpha"])  # alpha is now the most recently used
    cache.encode(["gamma"])  # evicts beta
    assert len(cache) == 2 and "alpha" in cache and "beta" not in cache
    calls = encoder.calls
    again = cache.encode(["alpha"])
    assert encoder.calls == calls and np.array_equal(first, again)
    cache.encode(["beta"])
    assert encoder.calls == calls + 1


def test_shared_cache_is_one_per_version_and_absorbs_a_training_cache(tmp_path):
    encoder = HashingEncoder(dim=48)
    training = EmbeddingCache(encoder)
    vectors = training.encode(["python developer", "nurse, night shifts"])
    training.save(str(tmp_path / "sections.npz"))

    shared = shared_cache(encoder, path=str(tmp_path / "sections.npz"))
    assert shared is shared_cache(HashingEncoder(dim=48))
    assert shared is not shared_cache(HashingEncoder(dim=40))
    calls = encoder.calls
    assert np.array_equal(shared.encode(["python developer", "nurse, night shifts"]), vectors)
    assert encoder.calls == calls  # read from the file, nothing encoded

    later = EmbeddingCache(encoder)
    later.encode(["forklift driver"])
    shared.absorb(later)
    assert "forklift driver" in shared
    shared.absorb(EmbeddingCache(HashingEncoder(dim=40)))  # another version: ignored


def test_shared_rows_keep_one_copy_of_each_vector(hashing_encoder):
    """``share_rows``: the cache's entries become views of the array it returned (a training run's stacked
    section vectors), equal to what it held, and later calls read them unchanged."""
    cache = EmbeddingCache(hashing_encoder)
    before = cache.encode(["python developer", "java"])  # held as arrays of their own
    texts = ["java", "python developer", "java", "go engineer"]
    out = cache.encode(texts, share_rows=True)
    np.testing.assert_array_equal(out[:2], before[::-1])
    assert len(cache) == 3 and all(v.base is out for v in cache._vecs.values())  # what the cache keeps
    np.testing.assert_array_equal(cache.encode(texts), out)
    assert cache.misses == 3 and cache.hits == 7
