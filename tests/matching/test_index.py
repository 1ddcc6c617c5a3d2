"""matching.index: exact and FAISS back-ends behind one interface, artifacts, deltas, generations."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.storage import storages

from matching import index as mindex
from matching.index import Index, LoadedIndexes, apply_changes, build_index, loaded_indexes
from matching.models import DocumentVector, VectorIndex
from recruiting.models import Candidate, Organization, Resume

SPACE = "encoder:test-index"
DIM = 32


@pytest.fixture
def index_storage(tmp_path, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "models": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "models")},
        },
    }
    storages._storages.pop("models", None)
    loaded_indexes.clear()
    yield storages["models"]
    storages._storages.pop("models", None)
    loaded_indexes.clear()


@pytest.fixture(params=["exact", "faiss-ivf_sq8", "faiss-ivf_sq8+hnsw", "faiss-ivf_pq_sq8", "faiss-hnsw"])
def backend(request, settings):
    """The same tests on both back-ends: ANN_MIN_SIZE=0 puts every index on FAISS (the default
    IVF-SQ8, IVF-SQ8 finding its lists through an HNSW quantizer, IVF over 4-bit PQ codes re-scored from 8-bit
    codes, and HNSW)."""
    backend, _, kind = request.param.partition("-")
    kind, _, quantizer = kind.partition("+")
    settings.ANN_MIN_SIZE = 0 if backend == "faiss" else 10**9
    settings.ANN_FAISS_KIND = kind or "ivf_sq8"
    settings.ANN_IVF_QUANTIZER = quantizer or "flat"
    return backend


def clustered(n: int, dim: int = DIM, clusters: int = 16, seed: int = 0, spread: float = 0.35) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    x = centres[rng.integers(0, clusters, n)] + spread * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make_resumes(n: int) -> list[int]:
    org = Organization.objects.create(name="Index org", slug=f"index-org-{n}-{Organization.objects.count()}")
    cands = Candidate.objects.bulk_create([Candidate(organization=org, full_name=f"P{i}") for i in range(n)])
    resumes = Resume.objects.bulk_create([Resume(candidate=c, headline=f"R{i}") for i, c in enumerate(cands)])
    return [r.pk for r in resumes]


def store_vectors(ids, vecs, space: str = SPACE) -> None:
    DocumentVector.objects.bulk_create(
        [
            DocumentVector(
                kind="resume", resume_id=i, space=space, content_hash="h", dim=v.shape[0], vector=v.tobytes()
            )
            for i, v in zip(ids, vecs, strict=True)
        ]
    )


def exact_top(vecs: np.ndarray, ids, q: np.ndarray, k: int) -> list[int]:
    order = np.argsort(-(vecs @ q), kind="stable")[:k]
    return [ids[i] for i in order]


# --------------------------------------------------------------------------------------- in memory
def test_ivf_searches_enough_lists_for_a_large_k():
    """A filtered search over-fetches (k up to MATCH_MAX_FETCH): nprobe grows with k, so such a search gets
    k results, not the few hundred that ANN_IVF_NPROBE lists hold."""
    vecs = clustered(4000)
    idx = Index.build(
        np.arange(4000),
        vecs,
        backend="faiss",
        params={**mindex.ann_params(), "kind": "ivf_sq8", "ivf_nprobe": 2},
    )
    engine = idx._engine
    assert engine.index.nlist > 20 and engine.nprobe_for(5) == 2
    assert len(idx.search(vecs[0], 1500)) == 1500
    assert engine.nprobe_for(1500) >= 2 * 1500 * engine.index.nlist // 4000


@pytest.mark.parametrize("kind", ["exact", "hnsw", "ivf_sq8", "ivf_pq_sq8", "flat"])
def test_in_memory_add_update_remove_roundtrip(kind):
    vecs = clustered(600)
    ids = np.arange(1000, 1600)
    backend = "exact" if kind == "exact" else "faiss"
    idx = Index.build(
        ids, vecs, backend=backend, params={**mindex.ann_params(), "kind": kind, "ivf_nprobe": 64}
    )
    assert len(idx) == 600
    top = idx.search(vecs[5], 1)
    assert top[0][0] == 1005 and top[0][1] == pytest.approx(1.0, abs=0.02)

    # update: the same id with a new vector takes a new slot; the old one is tombstoned
    idx.add([1005], vecs[7:8])
    assert len(idx) == 600 and idx.n_dead == 1
    hits = dict(idx.search(vecs[7], 3))
    assert 1005 in hits and 1007 in hits
    # remove: gone at once
    assert idx.remove([1007, 99999]) == 1
    assert 1007 not in dict(idx.search(vecs[7], 10))
    assert 1007 not in idx and len(idx) == 599

    restored = Index.from_bytes(idx.to_bytes())
    assert len(restored) == 599 and restored.n_dead == idx.n_dead
    q = vecs[100]
    assert [i for i, _ in restored.search(q, 10)] == [i for i, _ in idx.search(q, 10)]


def test_many_tombstones_use_the_id_selector():
    vecs = clustered(2000, seed=3)
    ids = np.arange(2000)
    params = {**mindex.ann_params(), "kind": "hnsw"}
    idx = Index.build(ids, vecs, backend="faiss", params=params)
    idx.remove(range(0, 2000, 2))  # 1000 tombstones > 4k: the FAISS selector path
    hits = idx.search(vecs[1], 20)
    assert len(hits) == 20 and all(i % 2 == 1 for i, _ in hits)
    assert hits[0][0] == 1


def test_vectors_of_and_empty_index():
    idx = Index("exact")
    assert idx.search(np.ones(DIM, np.float32), 5) == []
    vecs = clustered(10)
    idx.add(range(10), vecs)
    got = idx.vectors_of([3, 42])
    assert list(got) == [3] and np.allclose(got[3], vecs[3], atol=1e-6)


@pytest.mark.parametrize("kind,min_recall", [("hnsw", 0.95), ("ivf_sq8", 0.9), ("ivf_pq_sq8", 0.9)])
def test_ann_recall_against_exact(kind, min_recall):
    """ANN vs exact on a few thousand clustered vectors: recall@10 >= 0.9 (HNSW >= 0.95)."""
    n, dim = 4000, 64
    vecs = clustered(n, dim=dim, clusters=40, seed=1, spread=0.6)
    queries = clustered(100, dim=dim, clusters=40, seed=2, spread=0.6)
    ids = np.arange(n)
    params = {**mindex.ann_params(), "kind": kind}
    ann = Index.build(ids, vecs, backend="faiss", params=params)
    exact = Index.build(ids, vecs, backend="exact")
    k = 10
    recalls = []
    for q in queries:
        truth = {i for i, _ in exact.search(q, k)}
        got = {i for i, _ in ann.search(q, k)}
        recalls.append(len(truth & got) / k)
    assert np.mean(recalls) >= min_recall


def test_choose_backend(settings):
    settings.ANN_MIN_SIZE = 100
    assert mindex.choose_backend(99) == "exact"
    assert mindex.choose_backend(100) == "faiss"
    assert mindex.choose_backend(0) == "exact"


# --------------------------------------------------------------------------------------- persisted
@pytest.mark.django_db
def test_build_search_and_incremental_changes(backend, index_storage):
    ids = make_resumes(120)
    vecs = clustered(120)
    store_vectors(ids[:100], vecs[:100])

    row, idx = build_index(SPACE, "resume")
    assert row.backend == backend and row.size == 100 and row.generation == 1
    assert index_storage.exists(row.artifact_name) and len(row.artifact_sha256) == 64
    loaded = loaded_indexes.get(SPACE, "resume")
    assert loaded.generation == 1 and len(loaded.index) == 100
    assert [i for i, _ in loaded.index.search(vecs[3], 5)] == exact_top(vecs[:100], ids[:100], vecs[3], 5)

    # an addition, published as a delta: the next get() sees generation 2 and applies it
    store_vectors(ids[100:110], vecs[100:110])
    gen = apply_changes(SPACE, "resume", upsert_ids=ids[100:110], upsert_vectors=vecs[100:110])
    assert gen == 2
    loaded = loaded_indexes.get(SPACE, "resume")
    assert loaded.generation == 2 and len(loaded.index) == 110
    assert loaded.index.search(vecs[105], 1)[0][0] == ids[105]

    # a removal is gone at once
    apply_changes(SPACE, "resume", remove_ids=[ids[3]])
    loaded = loaded_indexes.get(SPACE, "resume")
    assert ids[3] not in [i for i, _ in loaded.index.search(vecs[3], 20)]

    # another process (a fresh registry) loads the artifact plus the deltas
    other = LoadedIndexes()
    fresh = other.get(SPACE, "resume")
    assert fresh.generation == 3 and len(fresh.index) == 109
    q = vecs[50]
    assert [i for i, _ in fresh.index.search(q, 10)] == [i for i, _ in loaded.index.search(q, 10)]

    # a rebuild publishes a new base; the old artifact and its deltas are deleted on commit
    old_name = VectorIndex.objects.get(space=SPACE, kind="resume").artifact_name
    DocumentVector.objects.filter(resume_id=ids[3]).delete()
    row, _ = build_index(SPACE, "resume")
    assert row.generation == 4 and row.size == 109 and row.artifact_name != old_name
    again = other.get(SPACE, "resume")
    assert again.generation == 4 and again.artifact_name == row.artifact_name and len(again.index) == 109


@pytest.mark.django_db
def test_missing_index_is_built_on_first_use_and_corrupt_artifact_is_rebuilt(backend, index_storage):
    ids = make_resumes(40)
    vecs = clustered(40)
    store_vectors(ids, vecs)
    assert not VectorIndex.objects.filter(space=SPACE).exists()
    loaded = loaded_indexes.get(SPACE, "resume")
    assert len(loaded.index) == 40 and loaded.generation == 1
    assert apply_changes(SPACE, "job", remove_ids=[1]) is None  # never built: nothing to publish

    row = VectorIndex.objects.get(space=SPACE, kind="resume")
    with index_storage.open(row.artifact_name, "wb") as f:
        f.write(b"garbage")
    other = LoadedIndexes()
    fixed = other.get(SPACE, "resume")
    assert len(fixed.index) == 40 and fixed.generation == 2


@pytest.mark.django_db
def test_missing_delta_falls_back_to_full_reload(index_storage, settings):
    settings.ANN_MIN_SIZE = 10**9
    ids = make_resumes(30)
    vecs = clustered(30)
    store_vectors(ids, vecs)
    build_index(SPACE, "resume")
    other = LoadedIndexes()
    other.get(SPACE, "resume")
    apply_changes(SPACE, "resume", remove_ids=[ids[0]])
    row = VectorIndex.objects.get(space=SPACE, kind="resume")
    index_storage.delete(mindex.delta_name_for(row.artifact_name, row.generation))
    # the delta is gone: the process falls back to a rebuild from PostgreSQL (which still has ids[0])
    got = other.get(SPACE, "resume")
    assert got.generation >= row.generation and len(got.index) == 30
