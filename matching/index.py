"""Nearest-neighbour indexes over the stored vectors of one (space, kind).

PostgreSQL (`DocumentVector`) is the source of truth; an index is derived from it and can always be
rebuilt from it.

Back-ends
    * ``exact``: a NumPy float32 matrix and one matrix-vector product per query. Used below
      ``settings.ANN_MIN_SIZE`` (default 20 000) vectors, where it is as fast as any ANN index and
      exact.
    * ``faiss``: at and above ``ANN_MIN_SIZE``. The FAISS structure is ``settings.ANN_FAISS_KIND``:
      ``ivf_sq8`` (default: inverted lists over 8-bit scalar-quantised vectors, 2*sqrt(n) lists,
      nprobe 16), ``hnsw`` (HNSW over float vectors) or ``flat`` (brute force in FAISS). IVF-SQ8 is the
      default because it is the one that builds 1M vectors within 5 minutes on 2 cores at recall@20
      >= 0.95 and p95 < 1 ms; HNSW searches a little better but builds ~10x slower. bench/serving.py measures all three at
      10k / 100k / 1M; see docs/results.md, "Serving".

Slots and incremental updates
    Every vector lives in a *slot* (its position in the index). ``slot_ids[slot]`` is the document id,
    ``alive[slot]`` says whether the slot still counts. Adding a document appends a slot; updating it
    appends a new slot and tombstones the old one; removing it tombstones its slot. Tombstoned slots
    are filtered at query time (the search over-fetches by the number of tombstones, or hands FAISS an
    ID selector when there are many), and disappear when the index is rebuilt. This works for every
    back-end, HNSW included (which cannot remove vectors).

Artifacts and generations
    ``build_index`` writes the whole index as one artifact through ``storages["models"]``
    (``indexes/<space>/<kind>/g<generation>.idx``; sha256 recorded in ``VectorIndex``).
    ``apply_changes`` writes one small *delta* file per change
    (``indexes/<space>/<kind>/g<base>.d<generation>.npz``) and raises ``VectorIndex.generation`` in the
    same transaction, under a row lock, so writers in different processes serialise.

    ``IndexRegistry`` (one per process, ``registry``) holds the loaded indexes. On every ``get`` it
    reads the row's generation (one indexed query); when it is newer it applies the missing delta
    files in order, or reloads the artifact when the base changed (a rebuild) or a delta is gone. No
    restart is needed anywhere.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from matching.models import DocumentVector, VectorIndex

log = logging.getLogger(__name__)

EXACT = VectorIndex.Backend.EXACT.value
FAISS = VectorIndex.Backend.FAISS.value
FAISS_KINDS = ("hnsw", "ivf_sq8", "flat")


# --------------------------------------------------------------------------------------- settings
def ann_min_size() -> int:
    return int(getattr(settings, "ANN_MIN_SIZE", 20_000))


def ann_params() -> dict:
    """FAISS parameters; every one can be set in Django settings (`ANN_...`)."""
    return {
        "kind": getattr(settings, "ANN_FAISS_KIND", "ivf_sq8"),
        "hnsw_m": int(getattr(settings, "ANN_HNSW_M", 32)),
        "hnsw_ef_construction": int(getattr(settings, "ANN_HNSW_EF_CONSTRUCTION", 80)),
        "hnsw_ef_search": int(getattr(settings, "ANN_HNSW_EF_SEARCH", 96)),
        "ivf_nlist": int(getattr(settings, "ANN_IVF_NLIST", 0)),  # 0: 2 * sqrt(n)
        "ivf_nprobe": int(getattr(settings, "ANN_IVF_NPROBE", 16)),
    }


def _threads(kind: str) -> int:
    """FAISS OpenMP threads: one per search (a serving process runs many searches side by side, and
    OpenMP spinning on a busy 2-core machine costs tens of milliseconds), all cores for a build."""
    if kind == "search":
        return int(getattr(settings, "ANN_SEARCH_THREADS", 1))
    return int(getattr(settings, "ANN_BUILD_THREADS", 0)) or (os.cpu_count() or 1)


def max_deltas() -> int:
    """Deltas on top of one base before `needs_rebuild` says the index should be rebuilt."""
    return int(getattr(settings, "INDEX_MAX_DELTAS", 500))


def choose_backend(size: int) -> str:
    return FAISS if size >= ann_min_size() and size > 0 else EXACT


# --------------------------------------------------------------------------------------- engines
class _ExactEngine:
    """A growable float32 matrix; search is one BLAS product over the live rows."""

    def __init__(self, dim: int):
        self.dim = dim
        self._mat = np.zeros((0, dim), dtype=np.float32)
        self.n = 0

    def add(self, vecs: np.ndarray) -> None:
        m = len(vecs)
        if self.n + m > len(self._mat):
            cap = max(1024, self.n + m, 2 * len(self._mat))
            grown = np.zeros((cap, self.dim), dtype=np.float32)
            grown[: self.n] = self._mat[: self.n]
            self._mat = grown
        self._mat[self.n : self.n + m] = vecs
        self.n += m

    def matrix(self) -> np.ndarray:
        return self._mat[: self.n]

    def search(self, q: np.ndarray, k: int, alive: np.ndarray, n_dead: int) -> tuple[np.ndarray, np.ndarray]:
        mat = self._mat[: self.n]
        scores = q @ mat.T  # (m, n)
        if n_dead:
            scores[:, ~alive[: self.n]] = -np.inf
        k = min(k, self.n)
        if k <= 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        if k < self.n:
            part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(self.n), (len(q), self.n)).copy()
        top = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        slots = np.take_along_axis(part, order, axis=1)
        return np.take_along_axis(top, order, axis=1), slots.astype(np.int64)

    def reconstruct(self, slots: np.ndarray) -> np.ndarray:
        return self._mat[slots]

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"vectors": self._mat[: self.n]}

    @classmethod
    def from_arrays(cls, dim: int, arrays) -> _ExactEngine:
        eng = cls(dim)
        eng.add(np.asarray(arrays["vectors"], dtype=np.float32))
        return eng


class _FaissEngine:
    """A FAISS index whose sequential internal ids are our slots."""

    def __init__(self, dim: int, params: dict, index=None):
        import faiss

        self.dim = dim
        self.params = dict(params)
        self.kind = self.params["kind"]
        if self.kind not in FAISS_KINDS:
            raise ValueError(f"unknown ANN_FAISS_KIND {self.kind!r}; one of {FAISS_KINDS}")
        if index is None:
            if self.kind == "hnsw":
                index = faiss.IndexHNSWFlat(dim, self.params["hnsw_m"], faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = self.params["hnsw_ef_construction"]
            elif self.kind == "flat":
                index = faiss.IndexFlatIP(dim)
            else:
                index = None  # IVF: created on the first add, when nlist can be sized to the data
        self.index = index

    @property
    def n(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)

    def _make_ivf(self, train: np.ndarray):
        import faiss

        nlist = self.params["ivf_nlist"] or int(2 * np.sqrt(max(len(train), 1)))
        nlist = max(1, min(nlist, len(train) // 39 or 1))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, self.dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        rng = np.random.default_rng(0)
        sample = (
            train if len(train) <= 40 * nlist else train[rng.choice(len(train), 40 * nlist, replace=False)]
        )
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        self.params["ivf_nlist"] = nlist
        return index

    def add(self, vecs: np.ndarray) -> None:
        import faiss

        faiss.omp_set_num_threads(_threads("build"))
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        if self.index is None:
            if len(vecs) == 0:
                return
            self.index = self._make_ivf(vecs)
        self.index.add(vecs)

    def search(self, q: np.ndarray, k: int, alive: np.ndarray, n_dead: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        n = self.n
        if n == 0 or k <= 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        faiss.omp_set_num_threads(_threads("search"))
        sel = None
        kk = k
        if n_dead:
            if n_dead <= 4 * k:
                kk = k + n_dead  # over-fetch and drop the tombstones afterwards
            else:
                dead = np.flatnonzero(~alive[:n]).astype(np.int64)
                sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(dead))
        kk = min(kk, n)
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.params["hnsw_ef_search"], kk))
        elif self.kind == "ivf_sq8":
            params = faiss.SearchParametersIVF(nprobe=self.params["ivf_nprobe"])
        else:
            params = faiss.SearchParameters()
        if sel is not None:
            params.sel = sel
        scores, slots = self.index.search(np.ascontiguousarray(q, dtype=np.float32), kk, params=params)
        if n_dead and sel is None:
            keep = (slots >= 0) & alive[np.maximum(slots, 0)]
            out_s = np.full((len(q), k), -np.inf, np.float32)
            out_i = np.full((len(q), k), -1, np.int64)
            for row in range(len(q)):
                s, i = scores[row][keep[row]][:k], slots[row][keep[row]][:k]
                out_s[row, : len(s)], out_i[row, : len(i)] = s, i
            return out_s, out_i
        return scores, slots

    def reconstruct(self, slots: np.ndarray) -> np.ndarray:
        if len(slots) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.kind == "ivf_sq8" and not self.index.direct_map.type:
            self.index.make_direct_map()
        return np.stack([self.index.reconstruct(int(s)) for s in slots])

    def to_arrays(self) -> dict[str, np.ndarray]:
        import faiss

        if self.index is None:
            return {"faiss": np.zeros(0, dtype=np.uint8)}
        return {"faiss": faiss.serialize_index(self.index)}

    @classmethod
    def from_arrays(cls, dim: int, arrays, params: dict) -> _FaissEngine:
        import faiss

        blob = arrays["faiss"]
        index = faiss.deserialize_index(np.asarray(blob, dtype=np.uint8)) if len(blob) else None
        return cls(dim, params, index=index)


# --------------------------------------------------------------------------------------- the index
def _normalise(vecs: np.ndarray) -> np.ndarray:
    vecs = np.asarray(vecs, dtype=np.float32)
    if vecs.ndim == 1:
        vecs = vecs[None, :]
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return np.where(norms > 0, vecs / np.maximum(norms, 1e-12), 0.0).astype(np.float32)


class Index:
    """An in-memory index of document ids -> unit vectors, searched by inner product (= cosine).

    Thread-safe: one lock per index around mutation and search (a search takes about a millisecond).
    """

    def __init__(self, backend: str = EXACT, dim: int | None = None, params: dict | None = None):
        if backend not in (EXACT, FAISS):
            raise ValueError(f"unknown backend {backend!r}")
        self.backend = backend
        self.dim = dim
        self.params = dict(params or ann_params())
        self._engine = None
        self._slot_ids = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._slot_of: dict[int, int] = {}
        self._n_dead = 0
        self._lock = threading.RLock()
        if dim:
            self._engine = self._new_engine(dim)

    def _new_engine(self, dim: int):
        return _ExactEngine(dim) if self.backend == EXACT else _FaissEngine(dim, self.params)

    # ---- size
    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, doc_id: int) -> bool:
        return int(doc_id) in self._slot_of

    @property
    def n_slots(self) -> int:
        return 0 if self._engine is None else self._engine.n

    @property
    def n_dead(self) -> int:
        return self._n_dead

    @property
    def kind_label(self) -> str:
        """The back-end as measured: ``exact`` or ``faiss-hnsw`` / ``faiss-ivf_sq8`` / ``faiss-flat``."""
        return EXACT if self.backend == EXACT else f"faiss-{self.params['kind']}"

    def ids(self) -> np.ndarray:
        return np.fromiter(self._slot_of.keys(), dtype=np.int64, count=len(self._slot_of))

    # ---- mutation
    def add(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray) -> None:
        """Insert or replace: a document already present gets a new slot, its old one a tombstone."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) == 0:
            return
        vecs = _normalise(vecs)
        if len(vecs) != len(ids):
            raise ValueError("ids and vectors differ in length")
        # Within one batch the last vector of a repeated id wins.
        if len(np.unique(ids)) != len(ids):
            last = {int(i): p for p, i in enumerate(ids)}
            keep = np.array(sorted(last.values()), dtype=np.int64)
            ids, vecs = ids[keep], vecs[keep]
        with self._lock:
            if self._engine is None:
                self.dim = vecs.shape[1]
                self._engine = self._new_engine(self.dim)
            if vecs.shape[1] != self.dim:
                raise ValueError(f"vector dimension {vecs.shape[1]} != index dimension {self.dim}")
            self._tombstone(ids)
            start = self._engine.n
            self._engine.add(vecs)
            self._slot_ids = np.concatenate([self._slot_ids, ids])
            self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
            for off, doc_id in enumerate(ids.tolist()):
                self._slot_of[doc_id] = start + off

    def remove(self, ids: Iterable[int]) -> int:
        """Tombstone documents; returns how many were present."""
        ids = np.asarray(list(ids), dtype=np.int64).reshape(-1)
        with self._lock:
            return self._tombstone(ids)

    def _tombstone(self, ids: np.ndarray) -> int:
        n = 0
        for doc_id in ids.tolist():
            slot = self._slot_of.pop(doc_id, None)
            if slot is not None:
                self._alive[slot] = False
                self._n_dead += 1
                n += 1
        return n

    # ---- search
    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (document id, cosine) for one query vector, best first, tombstones excluded."""
        return self.search_batch(np.asarray(query)[None, :] if np.ndim(query) == 1 else query, k)[0]

    def search_batch(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        q = _normalise(queries)
        with self._lock:
            if self._engine is None or not self._slot_of:
                return [[] for _ in range(len(q))]
            k = min(int(k), len(self._slot_of))
            scores, slots = self._engine.search(q, k, self._alive, self._n_dead)
            out = []
            for srow, irow in zip(scores, slots, strict=True):
                ok = irow >= 0
                ok &= self._alive[np.maximum(irow, 0)]
                out.append(
                    list(zip(self._slot_ids[irow[ok]].tolist(), srow[ok].astype(float).tolist(), strict=True))
                )
            return out

    def vectors_of(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors of the given documents that are in the index (quantised for ivf_sq8)."""
        with self._lock:
            present = [(int(i), self._slot_of[int(i)]) for i in ids if int(i) in self._slot_of]
            if not present:
                return {}
            vecs = self._engine.reconstruct(np.array([s for _, s in present], dtype=np.int64))
            return {
                doc_id: np.asarray(v, dtype=np.float32) for (doc_id, _), v in zip(present, vecs, strict=True)
            }

    # ---- persistence
    def to_bytes(self) -> bytes:
        with self._lock:
            meta = {
                "format": 1,
                "backend": self.backend,
                "dim": self.dim,
                "params": self.params if self.backend == FAISS else {},
                "engine_params": self._engine.params if isinstance(self._engine, _FaissEngine) else {},
                "n_dead": self._n_dead,
            }
            arrays = {
                "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
                "slot_ids": self._slot_ids,
                "alive": self._alive,
            }
            if self._engine is not None:
                arrays.update(self._engine.to_arrays())
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Index:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            if meta.get("format") != 1:
                raise ValueError(f"unknown index format {meta.get('format')!r}")
            idx = cls(meta["backend"], None, meta.get("params") or None)
            idx.dim = meta["dim"]
            if idx.dim:
                if idx.backend == EXACT:
                    idx._engine = _ExactEngine.from_arrays(idx.dim, z)
                else:
                    params = {**idx.params, **(meta.get("engine_params") or {})}
                    idx._engine = _FaissEngine.from_arrays(idx.dim, z, params)
            idx._slot_ids = z["slot_ids"].astype(np.int64)
            idx._alive = z["alive"].astype(bool)
        idx._slot_of = {int(d): int(s) for s, d in enumerate(idx._slot_ids.tolist()) if idx._alive[s]}
        idx._n_dead = int((~idx._alive).sum())
        return idx

    @classmethod
    def build(cls, ids, vecs, *, backend: str | None = None, params: dict | None = None) -> Index:
        ids = np.asarray(ids, dtype=np.int64)
        backend = backend or choose_backend(len(ids))
        dim = vecs.shape[1] if len(ids) else None
        idx = cls(backend, dim, params)
        idx.add(ids, vecs)
        return idx


# --------------------------------------------------------------------------------------- storage
def _storage():
    return storages["models"]


def _space_dir(space: str, kind: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", space)[:80]
    digest = hashlib.sha256(space.encode("utf-8")).hexdigest()[:8]
    return f"indexes/{slug}-{digest}/{kind}"


def artifact_name_for(space: str, kind: str, generation: int) -> str:
    return f"{_space_dir(space, kind)}/g{generation:010d}.idx"


def delta_name_for(artifact_name: str, generation: int) -> str:
    return f"{artifact_name.removesuffix('.idx')}.d{generation:010d}.npz"


def base_generation(artifact_name: str) -> int:
    m = re.search(r"/g(\d+)\.idx$", artifact_name or "")
    return int(m.group(1)) if m else 0


def _write(name: str, data: bytes) -> str:
    storage = _storage()
    if storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, ContentFile(data))
    if saved != name:  # a storage that renamed it anyway; keep what it wrote
        log.warning("index artifact %s was stored as %s", name, saved)
    return saved


def _read(name: str) -> bytes:
    with _storage().open(name, "rb") as f:
        return f.read()


def _delete_quietly(names: Iterable[str]) -> None:
    storage = _storage()
    for name in names:
        try:
            if storage.exists(name):
                storage.delete(name)
        except Exception:  # noqa: BLE001 - cleanup only
            log.warning("could not delete index artifact %s", name, exc_info=True)


# --------------------------------------------------------------------------------------- PostgreSQL
def _fk(kind: str) -> str:
    if kind not in (DocumentVector.Kind.JOB, DocumentVector.Kind.RESUME):
        raise ValueError(f"unknown kind {kind!r}")
    return "job_id" if kind == DocumentVector.Kind.JOB else "resume_id"


def load_vectors(space: str, kind: str, *, ids: Iterable[int] | None = None, chunk: int = 5000):
    """(object ids int64 (n,), vectors float32 (n, dim)) of one (space, kind) from PostgreSQL.

    With `ids`, the rows are found through the document foreign key alone and the space is checked
    here: given `space` too, PostgreSQL may walk the (space, kind, id) index over the whole space.
    """
    fk = _fk(kind)
    if ids is not None:
        ids = list(ids)
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        rows = (
            DocumentVector.objects.filter(**{f"{fk}__in": ids})
            .order_by()
            .values_list(fk, "dim", "vector", "space")
            .iterator(chunk_size=chunk)
        )
        rows = ((oid, d, vec) for oid, d, vec, sp in rows if sp == space)
    else:
        rows = (
            DocumentVector.objects.filter(space=space, kind=kind)
            .order_by()
            .values_list(fk, "dim", "vector")
            .iterator(chunk_size=chunk)
        )
    out_ids: list[int] = []
    bufs: list[bytes] = []
    dim = None
    for oid, d, vec in rows:
        if dim is None:
            dim = d
        elif d != dim:
            raise ValueError(f"space {space!r} mixes dimensions {dim} and {d}")
        out_ids.append(oid)
        bufs.append(bytes(vec))
    if not out_ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    mat = np.frombuffer(b"".join(bufs), dtype="<f4").reshape(len(out_ids), dim).astype(np.float32)
    return np.asarray(out_ids, dtype=np.int64), mat


# --------------------------------------------------------------------------------------- writers
def build_index(
    space: str, kind: str, *, backend: str | None = None, into: IndexRegistry | None = None
) -> tuple[VectorIndex, Index]:
    """(Re)build the index of (space, kind) from PostgreSQL and publish it as a new generation.

    Changes published while the vectors were being read are replayed on top before publishing, so a
    concurrent `apply_changes` is never lost.
    """
    row0 = VectorIndex.objects.filter(space=space, kind=kind).values("generation", "artifact_name").first()
    g0 = row0["generation"] if row0 else 0
    t0 = time.monotonic()
    ids, vecs = load_vectors(space, kind)
    idx = Index.build(ids, vecs, backend=backend)
    with transaction.atomic():
        row, _ = VectorIndex.objects.select_for_update().get_or_create(space=space, kind=kind)
        old_name = row.artifact_name
        if old_name and row.generation > g0:
            for g in range(g0 + 1, row.generation + 1):
                try:
                    _apply_delta_bytes(idx, _read(delta_name_for(old_name, g)))
                except FileNotFoundError:
                    pass
        gen = row.generation + 1
        name = artifact_name_for(space, kind, gen)
        blob = idx.to_bytes()
        name = _write(name, blob)
        row.backend = idx.backend
        row.generation = gen
        row.size = len(idx)
        row.artifact_name = name
        row.artifact_sha256 = hashlib.sha256(blob).hexdigest()
        row.built_at = timezone.now()
        row.save()
        if old_name and old_name != name:
            stale = [old_name] + [
                delta_name_for(old_name, g) for g in range(base_generation(old_name) + 1, gen + 1)
            ]
            transaction.on_commit(lambda: _delete_quietly(stale))
    log.info(
        "built %s index %s/%s: %d vectors, generation %d, %.2fs",
        idx.kind_label,
        space,
        kind,
        len(idx),
        gen,
        time.monotonic() - t0,
    )
    (into or registry).put(space, kind, idx, gen, name)
    return row, idx


def _delta_bytes(up_ids: np.ndarray, up_vecs: np.ndarray, rm_ids: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, up_ids=up_ids, up_vecs=up_vecs, rm_ids=rm_ids)
    return buf.getvalue()


def _apply_delta_bytes(idx: Index, data: bytes) -> None:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        rm = z["rm_ids"].astype(np.int64)
        up_ids = z["up_ids"].astype(np.int64)
        up_vecs = z["up_vecs"].astype(np.float32)
    if len(rm):
        idx.remove(rm)
    if len(up_ids):
        idx.add(up_ids, up_vecs)


def apply_changes(
    space: str,
    kind: str,
    *,
    upsert_ids: Sequence[int] = (),
    upsert_vectors: np.ndarray | None = None,
    remove_ids: Sequence[int] = (),
) -> int | None:
    """Publish one change (insertions/updates and removals) as the next generation of the index.

    Returns the new generation, or None when the index has never been built (the first build reads
    PostgreSQL, so it will include the change).
    """
    up_ids = np.asarray(list(upsert_ids), dtype=np.int64)
    rm_ids = np.asarray(list(remove_ids), dtype=np.int64)
    if len(up_ids) == 0 and len(rm_ids) == 0:
        return None
    up_vecs = _normalise(upsert_vectors) if len(up_ids) else np.zeros((0, 0), dtype=np.float32)
    with transaction.atomic():
        row = VectorIndex.objects.select_for_update().filter(space=space, kind=kind).first()
        if row is None or not row.artifact_name:
            return None
        gen = row.generation + 1
        _write(delta_name_for(row.artifact_name, gen), _delta_bytes(up_ids, up_vecs, rm_ids))
        row.generation = gen
        row.save(update_fields=["generation", "updated_at"])
    return gen


def needs_rebuild(row: VectorIndex, live_size: int | None = None) -> bool:
    """Too many deltas on one base, or the size crossed ANN_MIN_SIZE in either direction."""
    if not row.artifact_name:
        return True
    if row.generation - base_generation(row.artifact_name) > max_deltas():
        return True
    return live_size is not None and choose_backend(live_size) != row.backend


# --------------------------------------------------------------------------------------- registry
@dataclass
class LoadedIndex:
    space: str
    kind: str
    index: Index
    generation: int
    artifact_name: str

    @property
    def backend(self) -> str:
        return self.index.kind_label


class IndexRegistry:
    """The indexes this process has loaded, kept in step with `VectorIndex.generation`."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], LoadedIndex] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def put(self, space: str, kind: str, index: Index, generation: int, artifact_name: str) -> LoadedIndex:
        entry = LoadedIndex(space, kind, index, generation, artifact_name)
        with self._lock:
            current = self._entries.get((space, kind))
            if current is None or current.generation <= generation:
                self._entries[(space, kind)] = entry
        return entry

    def peek(self, space: str, kind: str) -> LoadedIndex | None:
        return self._entries.get((space, kind))

    def _key_lock(self, key) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def get(self, space: str, kind: str, *, build: bool = True) -> LoadedIndex | None:
        """The index of (space, kind) at the latest generation; builds it when it was never built."""
        key = (space, kind)
        row = (
            VectorIndex.objects.filter(space=space, kind=kind)
            .values("generation", "artifact_name", "artifact_sha256")
            .first()
        )
        entry = self._entries.get(key)
        if (
            row
            and entry
            and row["artifact_name"] == entry.artifact_name
            and row["generation"] == entry.generation
        ):
            return entry
        with self._key_lock(key):
            entry = self._entries.get(key)
            if row is None or not row["artifact_name"]:
                if not build:
                    return None
                build_index(space, kind, into=self)
                return self._entries.get(key)
            if (
                entry
                and entry.artifact_name == row["artifact_name"]
                and entry.generation >= row["generation"]
            ):
                return entry
            if entry and entry.artifact_name == row["artifact_name"]:
                try:
                    for g in range(entry.generation + 1, row["generation"] + 1):
                        _apply_delta_bytes(entry.index, _read(delta_name_for(entry.artifact_name, g)))
                        entry.generation = g
                    return entry
                except FileNotFoundError:
                    log.info("delta missing for %s/%s; reloading the artifact", space, kind)
            return self._load(space, kind, row)

    def _load(self, space: str, kind: str, row: dict) -> LoadedIndex:
        name = row["artifact_name"]
        try:
            data = _read(name)
        except FileNotFoundError:
            log.warning("index artifact %s is missing; rebuilding from PostgreSQL", name)
            build_index(space, kind, into=self)
            return self._entries[(space, kind)]
        if row["artifact_sha256"] and hashlib.sha256(data).hexdigest() != row["artifact_sha256"]:
            log.error("index artifact %s fails its sha256 check; rebuilding from PostgreSQL", name)
            build_index(space, kind, into=self)
            return self._entries[(space, kind)]
        idx = Index.from_bytes(data)
        gen = base_generation(name)
        for g in range(gen + 1, row["generation"] + 1):
            try:
                _apply_delta_bytes(idx, _read(delta_name_for(name, g)))
            except FileNotFoundError:
                log.warning("delta %d of %s missing; rebuilding from PostgreSQL", g, name)
                build_index(space, kind, into=self)
                return self._entries[(space, kind)]
            gen = g
        entry = LoadedIndex(space, kind, idx, gen, name)
        with self._lock:
            self._entries[(space, kind)] = entry
        return entry


registry = IndexRegistry()
