"""The typed job/resume/skill/category/location graph of the relation view: built from documents, training
interactions and frozen embeddings; masked per fold in training, extended by cold-start documents in serving.

Graph contents (``RELATIONS`` lists every directed relation; a message flows from column node to row node):
  * job/resume <-> skill, category, location (content structure; a cold item attaches through these);
  * job <-> resume, typed by interaction polarity (positive kinds vs negative kinds), weighted by |strength|,
    built from TRAINING interactions only (the caller passes only training pairs; tests assert no test pair
    leaks in);
  * content neighbours: each job/resume links to its ``knn`` most similar jobs and resumes (frozen MiniLM
    whole-document cosine). The same relation is used for cold-start items, so it is learned in training.

Leakage during training: if the pair being scored is itself an edge, the GNN can read the label off the graph.
We split the training interaction edges into ``n_folds`` folds; a batch of fold-k pairs is scored on the graph
WITHOUT fold-k interaction edges (``adjacency(fold=k)``). Serving uses all edges (``adjacency(None)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..embedding import EmbeddingCache
from ..types import JobDoc, ResumeDoc
from .adjacency import NeighbourSampler, block_adjacency, relation_adjacency
from .schema import CATEGORY, INTERACTION_RELATIONS, JOB, LOCATION, REL, RESUME, SKILL, doc_keys

EXACT_KNN_MAX = 20_000  # above this many base rows the content-neighbour search is approximate (IVF)
SMALL_QUERY = 512  # up to this many query rows a dense block is cheaper than building an index


def _topk_dense(q: np.ndarray, base: np.ndarray, k: int, exclude_self: bool) -> tuple[np.ndarray, np.ndarray]:
    sims = q @ base.T
    if exclude_self:
        rows = np.arange(sims.shape[0])
        sims[rows, rows] = -np.inf
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    ps = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-ps, axis=1)
    return np.take_along_axis(part, order, axis=1).astype(np.int64), np.take_along_axis(
        ps, order, axis=1
    ).astype(np.float32)


def topk_cosine(q: np.ndarray, base: np.ndarray, k: int, exclude_self: bool = False):
    """Indices (n_q, k') and similarities of the k most cosine-similar rows of base (rows L2-normalised).

    FAISS, not numpy: a dense (chunk x n) similarity block with argpartition took 165 s and ~4 GB at 110k
    documents. Up to ``EXACT_KNN_MAX`` base rows the search is exact (flat inner product); above, an IVF index
    with sqrt(n) lists probed 16 at a time keeps the graph build linear-ish in the corpus, at a small loss of
    recall that content-neighbour edges tolerate (they are one of several edge kinds)."""
    import faiss

    k = min(k, base.shape[0] - (1 if exclude_self else 0))
    if k <= 0 or q.shape[0] == 0:
        return np.zeros((q.shape[0], 0), dtype=np.int64), np.zeros((q.shape[0], 0), dtype=np.float32)
    if q.shape[0] <= SMALL_QUERY:  # serving attaches a few documents: no index to build
        return _topk_dense(q, base, k, exclude_self)
    base = np.ascontiguousarray(base, dtype=np.float32)
    q = np.ascontiguousarray(q, dtype=np.float32)
    dim = base.shape[1]
    if base.shape[0] <= EXACT_KNN_MAX:
        index = faiss.IndexFlatIP(dim)
    else:
        nlist = int(np.sqrt(base.shape[0]))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        index.train(base[rng.choice(base.shape[0], min(base.shape[0], 64 * nlist), replace=False)])
        index.nprobe = 16
    index.add(base)
    kk = k + 1 if exclude_self else k
    sims, idx = index.search(q, kk)
    if exclude_self:  # drop each row's own index (or, when the search missed it, the last neighbour)
        own = idx == np.arange(q.shape[0])[:, None]
        drop = np.where(own.any(1), own.argmax(1), kk - 1)
        keep = np.ones_like(idx, dtype=bool)
        keep[np.arange(q.shape[0]), drop] = False
        idx, sims = idx[keep].reshape(-1, k), sims[keep].reshape(-1, k)
    sims = np.where(idx < 0, -np.inf, sims)  # IVF may return fewer than k: -1 ids, filtered by the caller
    return idx.astype(np.int64), sims.astype(np.float32)


@dataclass
class InteractionEdge:
    job: int  # index into graph jobs (== training data.jobs order)
    resume: int
    weight: float  # |strength|
    positive: bool
    fold: int


@dataclass
class InteractionArrays:
    """Interaction edges as parallel arrays (same fields as InteractionEdge)."""

    job: np.ndarray
    resume: np.ndarray
    weight: np.ndarray
    positive: np.ndarray
    fold: np.ndarray

    @classmethod
    def of(cls, x: Sequence[InteractionEdge] | InteractionArrays) -> InteractionArrays:
        if isinstance(x, InteractionArrays):
            return x
        x = list(x)
        return cls(
            np.array([e.job for e in x], dtype=np.int64),
            np.array([e.resume for e in x], dtype=np.int64),
            np.array([e.weight for e in x], dtype=np.float64),
            np.array([e.positive for e in x], dtype=bool),
            np.array([e.fold for e in x], dtype=np.int64),
        )


def _interleave(both: np.ndarray) -> np.ndarray:
    """(2m, 5) = [forward edges; reverse edges] -> forward/reverse alternating (the order build() always had)."""
    m = len(both) // 2
    return np.stack([both[:m], both[m:]], 1).reshape(-1, 5)


class RelationGraph:
    """Nodes, typed edges and frozen node features. Build with ``RelationGraph.build``; serialisable."""

    def __init__(self):
        self.keys: list[str] = []
        self.types = np.zeros(0, dtype=np.int64)
        self.x = np.zeros((0, 0), dtype=np.float32)
        self.edges = np.zeros((0, 5), dtype=np.float64)  # row, col, rel, weight, fold (-1: always present)
        self.n_folds = 1
        self.knn = 5
        self.index: dict[str, int] = {}
        self._adj_cache: dict = {}
        self._all_edges: np.ndarray | None = None  # every edge, while ``mask_interactions`` hides some

    # ---------------------------------------------------------------- build
    @classmethod
    def build(
        cls,
        jobs: Sequence[JobDoc],
        resumes: Sequence[ResumeDoc],
        interactions: Sequence[InteractionEdge] | InteractionArrays,
        job_x: np.ndarray,
        resume_x: np.ndarray,
        cache: EmbeddingCache,
        *,
        n_folds: int = 3,
        knn: int = 5,
    ) -> RelationGraph:
        """job_x/resume_x: frozen whole-document embeddings (L2-normalised) in jobs/resumes order.
        ``interactions``: InteractionEdge records, or the same as arrays (``InteractionArrays``, much faster at
        10^5-10^6 pairs)."""
        g = cls()
        g.n_folds, g.knn = n_folds, knn
        keys: list[str] = [f"job:{j.id}" for j in jobs] + [f"resume:{r.id}" for r in resumes]
        types = [JOB] * len(jobs) + [RESUME] * len(resumes)
        texts: list[str] = []
        index = {k: i for i, k in enumerate(keys)}
        if len(index) != len(keys):
            raise ValueError("duplicate job or resume ids")
        type_of = {"skill": SKILL, "category": CATEGORY, "location": LOCATION}
        doc_rows: list[int] = []
        key_nodes: list[int] = []
        doc_rels: list[int] = []  # relation doc<-key; the reverse key<-doc is doc_rel + 1 (see RELATIONS)

        for side, docs, off in (("job", jobs, 0), ("resume", resumes, len(jobs))):
            rel_of = {kind: REL[f"{side}<-{kind}"] for kind in type_of}
            for i, d in enumerate(docs):
                for kind, names in doc_keys(d).items():
                    for name in names:
                        key = f"{kind}:{name}"
                        k = index.get(key)
                        if k is None:
                            k = index[key] = len(keys)
                            keys.append(key)
                            types.append(type_of[kind])
                            texts.append(name)
                        doc_rows.append(off + i)
                        key_nodes.append(k)
                        doc_rels.append(rel_of[kind])
        dr, kn, rl = (np.asarray(v, dtype=np.float64) for v in (doc_rows, key_nodes, doc_rels))
        minus1 = np.full(len(dr), -1.0)
        ones = np.ones(len(dr))
        content = np.concatenate(
            [np.stack([dr, kn, rl, ones, minus1], 1), np.stack([kn, dr, rl + 1, ones, minus1], 1)]
        )
        nj = len(jobs)
        ia = InteractionArrays.of(interactions)
        pos = ia.positive.astype(bool)
        jr = np.where(pos, REL["job<-resume+"], REL["job<-resume-"]).astype(np.float64)
        rj = np.where(pos, REL["resume<-job+"], REL["resume<-job-"]).astype(np.float64)
        jcol, rcol = ia.job.astype(np.float64), nj + ia.resume.astype(np.float64)
        w, f = ia.weight.astype(np.float64), ia.fold.astype(np.float64)
        inter = np.stack([np.stack([jcol, rcol, jr, w, f], 1), np.stack([rcol, jcol, rj, w, f], 1)], 1)
        knn_e = g._knn_edges(job_x, resume_x, job_x, resume_x, nj, self_rows=True)

        extra_x = cache.encode(texts) if texts else np.zeros((0, job_x.shape[1]), dtype=np.float32)
        g.keys = keys
        g.index = index
        g.types = np.asarray(types, dtype=np.int64)
        g.x = np.concatenate([job_x, resume_x, extra_x]).astype(np.float32)
        # order: per document its key edges (both directions interleaved per doc), then interactions, then knn
        g.edges = np.concatenate([_interleave(content), inter.reshape(-1, 5), knn_e]).reshape(-1, 5)
        return g

    def _knn_edges(self, qj, qr, base_j, base_r, nj, self_rows: bool, row_offset: int = 0) -> np.ndarray:
        """Content-neighbour edges from base nodes into query nodes (rows = query positions + row_offset).
        Returns an (m, 5) float64 array [row, col, rel, weight, fold=-1] (only positive similarities)."""
        out = [np.zeros((0, 5))]
        n_qj = qj.shape[0]
        for q, q_side, off in ((qj, "job", 0), (qr, "resume", n_qj)):
            for base, b_side, b_off in ((base_j, "job", 0), (base_r, "resume", nj)):
                excl = self_rows and q_side == b_side
                idx, sims = topk_cosine(q, base, self.knn, exclude_self=excl)
                if idx.size == 0:
                    continue
                rows = np.broadcast_to(np.arange(idx.shape[0])[:, None], idx.shape)
                ok = sims > 0
                e = np.empty((int(ok.sum()), 5))
                e[:, 0] = row_offset + off + rows[ok]
                e[:, 1] = b_off + idx[ok]
                e[:, 2] = REL[f"{q_side}<-{b_side}~"]
                e[:, 3] = sims[ok]
                e[:, 4] = -1
                out.append(e)
        return np.concatenate(out)

    # ---------------------------------------------------------------- views
    @property
    def n_nodes(self) -> int:
        return len(self.keys)

    def node_of(self, kind: str, ident: str) -> int | None:
        return self.index.get(f"{kind}:{ident}")

    def interaction_pairs(self) -> set[tuple[str, str]]:
        """(job_id, resume_id) of every job-resume edge in the graph (for leakage checks)."""
        e = self.edges
        sel = e[np.isin(e[:, 2], [REL["job<-resume+"], REL["job<-resume-"]])]
        keys = self.keys
        return {(keys[int(r)][4:], keys[int(c)][7:]) for r, c in zip(sel[:, 0], sel[:, 1], strict=True)}

    def mask_interactions(self, job: np.ndarray, resume: np.ndarray) -> None:
        """Hide the job-resume edges of these pairs (job/resume: indices into the build's jobs/resumes), both
        directions, every kind; the previous mask is replaced, so empty arrays restore every edge. Co-teaching
        uses it to take the pairs both views reject out of the graph."""
        if self._all_edges is None:
            self._all_edges = self.edges
        e = self._all_edges
        n_jobs = int((self.types == JOB).sum())
        inter = np.isin(e[:, 2], INTERACTION_RELATIONS)
        lo, hi = np.minimum(e[:, 0], e[:, 1]).astype(np.int64), np.maximum(e[:, 0], e[:, 1]).astype(np.int64)
        key = lo * self.n_nodes + hi
        drop = np.asarray(job, np.int64) * self.n_nodes + n_jobs + np.asarray(resume, np.int64)
        self.edges = e[~(inter & np.isin(key, drop))]
        self._adj_cache.clear()

    def _edges_without(self, fold: int | None) -> np.ndarray:
        e = self.edges
        return e if fold is None else e[e[:, 4] != fold]

    def adjacency(self, fold: int | None = None) -> torch.Tensor:
        """Sparse (N, R*N) block adjacency; ``fold=k`` drops fold-k interaction edges (training anti-leak)."""
        key = ("adj", fold)
        if key not in self._adj_cache:
            self._adj_cache[key] = block_adjacency(self._edges_without(fold), self.n_nodes, self.n_nodes)
        return self._adj_cache[key]

    def relation_adjacency(self, fold: int | None = None) -> torch.Tensor:
        """Same edges as ``adjacency`` in the (N*R, N) layout (row i*R + r: node i's relation-r neighbours),
        which ``RGCNLayer`` multiplies without materialising R*N messages."""
        key = ("rel_adj", fold)
        if key not in self._adj_cache:
            self._adj_cache[key] = relation_adjacency(self._edges_without(fold), self.n_nodes, self.n_nodes)
        return self._adj_cache[key]

    def adjacency_rows(self) -> Callable[[int, int], torch.Tensor]:
        """``relation_adjacency(None)`` a block of destination rows at a time: ``rows(a, b)`` is nodes a:b's
        in-edges (for ``RelationView.node_states_in_chunks``). Nothing is cached: a served model's full-graph
        pass runs once, and the whole adjacency would stay held beside it."""
        e = self.edges
        dst = e[:, 0].astype(np.int64)
        order = np.argsort(dst, kind="stable")
        ptr = np.zeros(self.n_nodes + 1, np.int64)
        np.cumsum(np.bincount(dst, minlength=self.n_nodes), out=ptr[1:])

        def rows(a: int, b: int) -> torch.Tensor:
            block = e[order[ptr[a] : ptr[b]]]
            block[:, 0] -= a
            return relation_adjacency(block, b - a, self.n_nodes)

        return rows

    def sampler(self, fold: int | None = None) -> NeighbourSampler:
        """Neighbour sampler over the graph without fold-k interaction edges (cached per fold)."""
        key = ("sampler", fold)
        if key not in self._adj_cache:
            self._adj_cache[key] = NeighbourSampler(self._edges_without(fold), self.n_nodes)
        return self._adj_cache[key]

    # ---------------------------------------------------------------- cold start
    def attach(
        self,
        docs: Sequence[JobDoc | ResumeDoc],
        x: np.ndarray,
    ) -> tuple[np.ndarray, torch.Tensor]:
        """Edges INTO new nodes (one per doc) from existing nodes: skills/category/location it shares with the
        graph and its content neighbours. Existing nodes get no edges from new ones, so their vectors are
        unchanged. Returns (types of new nodes, sparse (n_new*R, N) adjacency in ``relation_adjacency``
        layout; ``RGCNLayer`` also accepts the older (n_new, R*N) block layout)."""
        types, edges = self.attach_edges(docs, x)
        return types, relation_adjacency(edges, len(docs), self.n_nodes)

    def attach_edges(
        self, docs: Sequence[JobDoc | ResumeDoc], x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``attach``'s (types of new nodes, (m, 5) edges; row = position in ``docs``)."""
        jmask = self.types == JOB
        rmask = self.types == RESUME
        base_j = self.x[jmask]
        base_r = self.x[rmask]
        nj = int(jmask.sum())
        is_job = np.array([isinstance(d, JobDoc) for d in docs], dtype=bool)
        edges = []
        for i, d in enumerate(docs):
            side = "job" if is_job[i] else "resume"
            for kind, names in doc_keys(d).items():
                for name in names:
                    k = self.index.get(f"{kind}:{name}")
                    if k is not None:
                        edges.append((i, k, REL[f"{side}<-{kind}"], 1.0, -1))
        parts = [np.asarray(edges, dtype=np.float64).reshape(-1, 5)]
        # knn: compute separately for new jobs and new resumes, then map rows back
        for side_mask in (is_job, ~is_job):
            rows = np.flatnonzero(side_mask)
            if len(rows) == 0:
                continue
            q = x[rows]
            empty = np.zeros((0, x.shape[1]), dtype=np.float32)
            qj, qr = (q, empty) if side_mask is is_job else (empty, q)
            ke = self._knn_edges(qj, qr, base_j, base_r, nj, self_rows=False)
            ke[:, 0] = rows[ke[:, 0].astype(np.int64)]
            parts.append(ke)
        types = np.where(is_job, JOB, RESUME).astype(np.int64)
        return types, np.concatenate(parts)

    def in_edges(self, nodes: np.ndarray) -> np.ndarray:
        """Every edge into these existing nodes, as (m, 5) rows [position in ``nodes``, col, rel, weight, fold]
        (serving re-attaches a node with its interaction edges replaced: ``ml/network/fresh.py``)."""
        key = ("in_edges",)
        if key not in self._adj_cache:  # edges grouped by destination row (reset by ``mask_interactions``)
            e = self.edges
            ptr = np.zeros(self.n_nodes + 1, np.int64)
            np.cumsum(np.bincount(e[:, 0].astype(np.int64), minlength=self.n_nodes), out=ptr[1:])
            self._adj_cache[key] = (e[np.argsort(e[:, 0], kind="stable")], ptr)
        e, ptr = self._adj_cache[key]
        nodes = np.asarray(nodes, np.int64)
        start, cnt = ptr[nodes], ptr[nodes + 1] - ptr[nodes]
        out = e[np.repeat(start - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))]
        out[:, 0] = np.repeat(np.arange(len(nodes)), cnt)
        return out

    # ---------------------------------------------------------------- (de)serialisation
    def to_state(self) -> dict:
        return {
            "keys": list(self.keys),
            "types": torch.from_numpy(self.types),
            "x": torch.from_numpy(self.x),
            "edges": torch.from_numpy(self.edges),
            "n_folds": self.n_folds,
            "knn": self.knn,
        }

    @classmethod
    def from_state(cls, st: dict) -> RelationGraph:
        g = cls()
        g.keys = list(st["keys"])
        g.index = {k: i for i, k in enumerate(g.keys)}
        g.types = st["types"].numpy().astype(np.int64)
        g.x = st["x"].numpy().astype(np.float32)
        g.edges = st["edges"].numpy().astype(np.float64)
        g.n_folds = int(st["n_folds"])
        g.knn = int(st["knn"])
        return g
