"""The two index back-ends behind one interface (add, search over live slots, reconstruct, arrays), and the
settings that choose and tune them."""

from __future__ import annotations

import os

import numpy as np
from django.conf import settings

from matching.models import VectorIndex

EXACT = VectorIndex.Backend.EXACT.value
FAISS = VectorIndex.Backend.FAISS.value
FAISS_KINDS = ("hnsw", "ivf_sq8", "ivf_pq_sq8", "flat")
IVF_KINDS = ("ivf_sq8", "ivf_pq_sq8")
# kinds whose search scores are quantised (retrieval re-scores their hits with the stored float vectors)
QUANTISED_KINDS = IVF_KINDS
TRAIN_ALL_BELOW = 10_000  # an IVF index over fewer vectors trains on every one


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
        "ivf_quantizer": getattr(settings, "ANN_IVF_QUANTIZER", "flat"),
        "refine_candidates": int(getattr(settings, "ANN_REFINE_CANDIDATES", 160)),
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


class ExactEngine:
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
    def from_arrays(cls, dim: int, arrays) -> ExactEngine:
        eng = cls(dim)
        eng.add(np.asarray(arrays["vectors"], dtype=np.float32))
        return eng


class FaissEngine:
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
        # the lists' centroids in an HNSW graph (ANN_IVF_QUANTIZER=hnsw): a flat quantizer reads every centroid
        # per query (2,000 x 384 floats at 1M vectors), as many bytes as the 8 lists it then scans
        lists = f"IVF{nlist}_HNSW32" if self.params.get("ivf_quantizer", "flat") == "hnsw" else f"IVF{nlist}"
        codes = "SQ8"
        per_code = int(self.params.get("pq_dims_per_code", 2))
        if self.kind == "ivf_pq_sq8" and self.dim % per_code == 0:
            # the lists hold 4-bit PQ codes (a code per 2 dimensions: 96 bytes at 384-d, a quarter of SQ8's)
            # scanned with SIMD table lookups ("fast scan"); the best max(k, ANN_REFINE_CANDIDATES) are re-scored
            # from 8-bit codes, so the final order is an 8-bit one as in IVF-SQ8, after a quarter of its bytes
            # scanned (bench/serving.py at 1M: a code per 4 dimensions reached recall@20 0.923, not 0.972)
            codes = f"PQ{self.dim // per_code}x4fs,Refine(SQ8)"
        index = faiss.index_factory(self.dim, f"{lists},{codes}", faiss.METRIC_INNER_PRODUCT)
        # k-means needs ~40 points a list; the codes' ranges are learnt from the same sample, so a small index
        # trains on all of it (a sampled-out vector outside the learnt range would be clipped)
        rng = np.random.default_rng(0)
        n_train = max(40 * nlist, TRAIN_ALL_BELOW)
        sample = train if len(train) <= n_train else train[rng.choice(len(train), n_train, replace=False)]
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
        elif self.kind in IVF_KINDS:
            nprobe = self.nprobe_for(kk)
            params = faiss.SearchParametersIVF(nprobe=nprobe)
            if self.params.get("ivf_quantizer", "flat") == "hnsw":
                params.quantizer_params = faiss.SearchParametersHNSW(efSearch=max(64, 2 * nprobe))
        else:
            params = faiss.SearchParameters()
        if sel is not None:
            params.sel = sel  # (on the lists' scan, under a refine step)
        if isinstance(self.index, faiss.IndexRefine):
            # a count, not a factor of k: a top-20 needs ~160 re-scored to keep IVF-SQ8's recall, and serving's
            # k = MATCH_RETRIEVE_K (600) hits are re-scored exactly afterwards anyway (retrieval)
            wanted = max(kk, int(self.params.get("refine_candidates", 160)))
            params = faiss.IndexRefineSearchParameters(k_factor=wanted / kk, base_index_params=params)
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

    def nprobe_for(self, k: int) -> int:
        """ANN_IVF_NPROBE lists, or as many as hold about twice k codes when k is large (a filtered search
        over-fetches up to MATCH_MAX_FETCH): a fixed nprobe would cap how many results such a search can get.
        8 by default: on bench/serving.py's clustered synthetic vectors recall@20 is 0.990 at 100k and 0.980 at
        1M with 8 lists (1M: 0.980 with 16 too, at 1.6x the p95)."""
        import faiss

        nlist = int(faiss.extract_index_ivf(self.index).nlist)
        wanted = int(np.ceil(2 * k * nlist / max(self.n, 1)))
        return max(1, min(nlist, max(int(self.params["ivf_nprobe"]), wanted)))

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
    def from_arrays(cls, dim: int, arrays, params: dict) -> FaissEngine:
        import faiss

        blob = arrays["faiss"]
        index = faiss.deserialize_index(np.asarray(blob, dtype=np.uint8)) if len(blob) else None
        return cls(dim, params, index=index)
