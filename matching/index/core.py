"""``Index``: document ids -> unit vectors in slots over one engine; updates append, removals tombstone."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterable, Sequence

import numpy as np

from matching.index.engines import EXACT, FAISS, ExactEngine, FaissEngine, ann_params, choose_backend


def normalise(vecs: np.ndarray) -> np.ndarray:
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
        return ExactEngine(dim) if self.backend == EXACT else FaissEngine(dim, self.params)

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
        vecs = normalise(vecs)
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
        q = normalise(queries)
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
        """The stored vectors of the given documents that are in the index (quantised for the IVF kinds)."""
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
                "engine_params": self._engine.params if isinstance(self._engine, FaissEngine) else {},
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
                    idx._engine = ExactEngine.from_arrays(idx.dim, z)
                else:
                    params = {**idx.params, **(meta.get("engine_params") or {})}
                    idx._engine = FaissEngine.from_arrays(idx.dim, z, params)
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
