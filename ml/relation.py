"""Relation view of MV-CoN: a typed job/resume/skill/category/location graph encoded with an R-GCN.

Why plain ``torch.sparse`` and not torch-geometric / DGL: neither is installed (and the CPU torch pin makes
adding them costly), and at Tandem's size (10^3-10^5 nodes, 10^5-10^6 edges) one sparse-dense matmul per layer
is all an R-GCN needs. All relations are packed into ONE block matrix ``A`` of shape (N, R*N) so that a layer is
``H' = act(H W_0 + A @ stack_r(H W_r))``: a single ``torch.sparse.mm`` per layer.

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
Adjacency rows are normalised per relation (weighted mean over neighbours, R-GCN's 1/|N_r(i)|).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .embedding import EmbeddingCache
from .types import JobDoc, ResumeDoc

NODE_TYPES = ("job", "resume", "skill", "category", "location")
JOB, RESUME, SKILL, CATEGORY, LOCATION = range(5)

RELATIONS = (
    "job<-skill", "skill<-job", "resume<-skill", "skill<-resume",
    "job<-category", "category<-job", "resume<-category", "category<-resume",
    "job<-location", "location<-job", "resume<-location", "location<-resume",
    "job<-resume+", "resume<-job+", "job<-resume-", "resume<-job-",
    "job<-job~", "resume<-resume~", "job<-resume~", "resume<-job~",
)  # fmt: skip
REL = {name: i for i, name in enumerate(RELATIONS)}
INTERACTION_RELATIONS = [REL[k] for k in ("job<-resume+", "resume<-job+", "job<-resume-", "resume<-job-")]
N_REL = len(RELATIONS)


def norm_key(s: str) -> str:
    return " ".join(s.lower().strip().split())


def doc_keys(doc: JobDoc | ResumeDoc) -> dict[str, list[str]]:
    """Keyword nodes a document attaches to: skills, category, location (normalised, de-duplicated)."""
    return {
        "skill": sorted({norm_key(s) for s in doc.skills if norm_key(s)}),
        "category": [norm_key(doc.category)] if norm_key(doc.category) else [],
        "location": [norm_key(doc.location)] if norm_key(doc.location) else [],
    }


def topk_cosine(q: np.ndarray, base: np.ndarray, k: int, exclude_self: bool = False, chunk: int = 2048):
    """Indices (n_q, k') and similarities of the k most cosine-similar rows of base (rows L2-normalised)."""
    k = min(k, base.shape[0] - (1 if exclude_self else 0))
    if k <= 0 or q.shape[0] == 0:
        return np.zeros((q.shape[0], 0), dtype=np.int64), np.zeros((q.shape[0], 0), dtype=np.float32)
    idx_out, sim_out = [], []
    for s in range(0, q.shape[0], chunk):
        sims = q[s : s + chunk] @ base.T
        if exclude_self:
            rows = np.arange(sims.shape[0])
            sims[rows, rows + s] = -np.inf
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        ps = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-ps, axis=1)
        idx_out.append(np.take_along_axis(part, order, axis=1))
        sim_out.append(np.take_along_axis(ps, order, axis=1))
    return np.concatenate(idx_out), np.concatenate(sim_out).astype(np.float32)


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
        return types, relation_adjacency(np.concatenate(parts), len(docs), self.n_nodes)

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


def block_adjacency(edges: np.ndarray, n_rows: int, n_cols: int) -> torch.Tensor:
    """Row-normalised per relation; returns a sparse CSR (n_rows, R*n_cols) float32 tensor."""
    if len(edges) == 0:
        return torch.sparse_csr_tensor(
            torch.zeros(n_rows + 1, dtype=torch.int64),
            torch.zeros(0, dtype=torch.int64),
            torch.zeros(0),
            size=(n_rows, N_REL * n_cols),
        )
    row = edges[:, 0].astype(np.int64)
    col = edges[:, 1].astype(np.int64)
    rel = edges[:, 2].astype(np.int64)
    w = edges[:, 3].astype(np.float64)
    deg = np.zeros(n_rows * N_REL)
    np.add.at(deg, row * N_REL + rel, w)
    val = w / np.maximum(deg[row * N_REL + rel], 1e-12)
    t = torch.sparse_coo_tensor(
        torch.from_numpy(np.stack([row, rel * n_cols + col])),
        torch.from_numpy(val.astype(np.float32)),
        size=(n_rows, N_REL * n_cols),
        check_invariants=False,
    ).coalesce()
    with warnings.catch_warnings():  # "sparse CSR support is in beta": fine for mm on CPU
        warnings.simplefilter("ignore", UserWarning)
        return t.to_sparse_csr()


def _normalised(edges: np.ndarray, n_rows: int):
    row = edges[:, 0].astype(np.int64)
    col = edges[:, 1].astype(np.int64)
    rel = edges[:, 2].astype(np.int64)
    w = edges[:, 3].astype(np.float64)
    g = row * N_REL + rel
    deg = np.bincount(g, weights=w, minlength=n_rows * N_REL)
    return g, col, (w / np.maximum(deg[g], 1e-12)).astype(np.float32)


def _csr(crow: np.ndarray, col: np.ndarray, val: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    with warnings.catch_warnings():  # "sparse CSR support is in beta": fine for mm on CPU
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(np.ascontiguousarray(crow, dtype=np.int64)),
            torch.from_numpy(np.ascontiguousarray(col, dtype=np.int64)),
            torch.from_numpy(np.ascontiguousarray(val, dtype=np.float32)),
            size=size,
        )


def relation_adjacency(edges: np.ndarray, n_rows: int, n_cols: int) -> torch.Tensor:
    """Row-normalised per relation; sparse CSR (n_rows*R, n_cols) float32, row i*R + r = node i, relation r.

    Duplicate (row, col, rel) entries are summed, as in ``block_adjacency``."""
    edges = np.asarray(edges, dtype=np.float64).reshape(-1, 5)
    g, col, val = _normalised(edges, n_rows)
    order = np.lexsort((col, g))
    g, col, val = g[order], col[order], val[order]
    crow = np.zeros(n_rows * N_REL + 1, dtype=np.int64)
    np.cumsum(np.bincount(g, minlength=n_rows * N_REL), out=crow[1:])
    return _csr(crow, col, val, (n_rows * N_REL, n_cols))


@dataclass
class SampledBlock:
    """One R-GCN layer's computation on a sampled subgraph: ``adj`` (n_dst*R, n_src) in relation_adjacency
    layout over local node ids; ``self_index``: position of each dst node among the src nodes."""

    adj: torch.Tensor
    self_index: torch.Tensor


class NeighbourSampler:
    """GraphSAGE-style computational subgraphs with a per-(node, relation) fan-out cap.

    Edges are grouped by (destination row, relation) in CSR form. ``blocks(targets, n_layers, fanout)`` walks
    ``n_layers`` hops down from the targets; in every (node, relation) group with more than ``fanout`` edges,
    ``fanout`` of them are drawn uniformly (with replacement) and re-normalised, so a popular skill/location
    node costs ``fanout`` messages per relation instead of its whole degree. ``fanout=None`` keeps every edge:
    the targets' states then equal a full-graph pass exactly (same normalisation), at a fraction of the cost
    when the targets are few. Everything is vectorised numpy.
    """

    def __init__(self, edges: np.ndarray, n_nodes: int):
        self.n_nodes = n_nodes
        g, col, val = _normalised(edges, n_nodes)
        order = np.argsort(g, kind="stable")
        self.col = col[order]
        self.w = edges[order, 3].astype(np.float32)
        self.full_val = val[order]
        self.gptr = np.zeros(n_nodes * N_REL + 1, dtype=np.int64)
        np.cumsum(np.bincount(g, minlength=n_nodes * N_REL), out=self.gptr[1:])

    def sample(self, dst: np.ndarray, fanout: int | None, rng: np.random.Generator):
        """For dst nodes (global ids): (crow (len(dst)*R + 1,), src global ids, normalised weights)."""
        grp = (dst[:, None] * N_REL + np.arange(N_REL)).ravel()
        start = self.gptr[grp]
        deg = self.gptr[grp + 1] - start
        take = deg if fanout is None else np.minimum(deg, fanout)
        crow = np.zeros(len(grp) + 1, dtype=np.int64)
        np.cumsum(take, out=crow[1:])
        total = int(crow[-1])
        gi = np.repeat(np.arange(len(grp)), take)
        k = np.arange(total) - crow[gi]
        if fanout is None:
            pos = start[gi] + k
            return crow, self.col[pos], self.full_val[pos]
        d = deg[gi]
        over = d > fanout
        k[over] = (rng.random(int(over.sum())) * d[over]).astype(np.int64)
        pos = start[gi] + k
        w = self.w[pos]
        s = np.bincount(gi, weights=w, minlength=len(grp))
        return crow, self.col[pos], (w / np.maximum(s[gi], 1e-12)).astype(np.float32)

    def blocks(
        self,
        targets: np.ndarray,
        n_layers: int,
        fanout: int | Sequence[int | None] | None,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, list[SampledBlock]]:
        """targets: sorted unique global node ids. ``fanout``: one cap for every hop, or one per hop starting at
        the targets (the last one repeats). Returns (input node ids (global, sorted), blocks from the input
        layer up to the targets)."""
        caps = list(fanout) if isinstance(fanout, (list, tuple)) else [fanout]
        dst = np.asarray(targets, dtype=np.int64)
        out: list[SampledBlock] = []
        for hop in range(n_layers):
            crow, src, val = self.sample(dst, caps[min(hop, len(caps) - 1)], rng)
            nodes = np.unique(np.concatenate([dst, src]))
            adj = _csr(crow, np.searchsorted(nodes, src), val, (len(dst) * N_REL, len(nodes)))
            out.append(SampledBlock(adj, torch.from_numpy(np.searchsorted(nodes, dst))))
            dst = nodes
        return dst, out[::-1]


class RGCNLayer(nn.Module):
    """h_i' = W_0 h_i + sum_r sum_{j in N_r(i)} a_ij W_r h_j  (a_ij: normalised edge weight)."""

    def __init__(self, dim: int, n_rel: int):
        super().__init__()
        self.self_lin = nn.Linear(dim, dim)
        self.w_rel = nn.Parameter(torch.randn(n_rel, dim, dim) * (1.0 / dim**0.5) * 0.5)

    def forward(self, h_self: torch.Tensor, adj: torch.Tensor, h_src: torch.Tensor) -> torch.Tensor:
        """adj: (n_dst*R, n_src) (``relation_adjacency`` layout: aggregate per relation, then one dense
        (n_dst, R*h) @ (R*h, h) matmul) or the older block layout (n_dst, R*n_src)."""
        n_dst, h = h_self.shape
        if adj.shape[1] == h_src.shape[0] and adj.shape[0] == n_dst * self.w_rel.shape[0]:
            agg = torch.sparse.mm(adj, h_src).reshape(n_dst, -1)
            return self.self_lin(h_self) + agg @ self.w_rel.reshape(-1, h)
        msgs = torch.einsum("nh,rhk->rnk", h_src, self.w_rel).reshape(-1, h_src.shape[1])
        return self.self_lin(h_self) + torch.sparse.mm(adj, msgs)


class RelationView(nn.Module):
    """R-GCN node encoder + pair head MLP([hj, hr, hj*hr, |hj-hr|])."""

    def __init__(self, in_dim: int, hidden: int, n_layers: int = 2, dropout: float = 0.1):
        super().__init__()
        from .textview import N_SIM_FEATURES, pair_mlp

        self.inp = nn.Linear(in_dim, hidden)
        self.in_norm = nn.LayerNorm(hidden)
        self.type_emb = nn.Embedding(len(NODE_TYPES), hidden)
        nn.init.normal_(self.type_emb.weight, std=0.1)  # small: node content, not node type, should dominate
        self.layers = nn.ModuleList([RGCNLayer(hidden, N_REL) for _ in range(n_layers)])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in range(n_layers)])
        self.drop = nn.Dropout(dropout)
        self.act = nn.GELU()
        self.feat_scale = nn.Linear(N_SIM_FEATURES, N_SIM_FEATURES)
        self.head = pair_mlp(4 * hidden + N_SIM_FEATURES, hidden, dropout)
        self.dot_scale = nn.Parameter(torch.tensor(5.0))

    def _h0(self, x: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        # LayerNorm on the projected content: a unit-norm 384-d embedding projects to tiny values, and without
        # it every node's state collapses to its type embedding (observed: near-identical vectors per type)
        return self.in_norm(self.inp(x)) + self.type_emb(types)

    def node_states(self, x: torch.Tensor, types: torch.Tensor, adj: torch.Tensor) -> list[torch.Tensor]:
        """Per-layer node states on a graph (list of L+1 tensors (N, hidden)); the last one is the output."""
        h = self._h0(x, types)
        states = [h]
        for layer, norm in zip(self.layers, self.norms, strict=True):
            h = norm(h + self.drop(self.act(layer(h, adj, h))))
            states.append(h)
        return states

    def sampled_states(
        self, x: torch.Tensor, types: torch.Tensor, nodes: np.ndarray, blocks: list[SampledBlock]
    ) -> torch.Tensor:
        """Output states of a NeighbourSampler's targets; x/types are the whole graph's (only ``nodes`` rows
        are read)."""
        idx = torch.from_numpy(nodes)
        h = self._h0(x[idx], types[idx])
        for layer, norm, b in zip(self.layers, self.norms, blocks, strict=True):
            h_self = h[b.self_index]
            h = norm(h_self + self.drop(self.act(layer(h_self, b.adj, h))))
        return h

    def extend(self, x_new, types_new, adj_new, states: list[torch.Tensor]) -> torch.Tensor:
        """Output states of new nodes that receive messages from the (fixed) graph's per-layer states."""
        h = self._h0(x_new, types_new)
        for i, (layer, norm) in enumerate(zip(self.layers, self.norms, strict=True)):
            h = norm(h + self.drop(self.act(layer(h, adj_new, states[i]))))
        return h

    def score(self, hj: torch.Tensor, hr: torch.Tensor, sim_feats: torch.Tensor) -> torch.Tensor:
        """MLP([hj, hr, hj*hr, |hj-hr|, sim_feats]) + a scaled cosine of the graph vectors.

        DEPARTURE (representation sharing at the score): ``sim_feats`` are the text view's FROZEN peer/cross
        section cosines (textview.similarity_features), not its trainable towers; without them a 32-64-d graph
        vector loses the content similarity the frozen 384-d embeddings carry and the view falls below
        zero-shot cosine on sparse data. The cosine term is the one the contrastive loss trains and retrieval
        uses, which gives the head a strong, easy-to-learn start."""
        cos = torch.nn.functional.cosine_similarity(hj, hr, dim=1)
        x = torch.cat([hj, hr, hj * hr, (hj - hr).abs(), self.feat_scale(sim_feats)], dim=1)
        return self.head(x).squeeze(-1) + self.dot_scale * cos
