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

    # ---------------------------------------------------------------- build
    @classmethod
    def build(
        cls,
        jobs: Sequence[JobDoc],
        resumes: Sequence[ResumeDoc],
        interactions: Sequence[InteractionEdge],
        job_x: np.ndarray,
        resume_x: np.ndarray,
        cache: EmbeddingCache,
        *,
        n_folds: int = 3,
        knn: int = 5,
    ) -> RelationGraph:
        """job_x/resume_x: frozen whole-document embeddings (L2-normalised) in jobs/resumes order."""
        g = cls()
        g.n_folds, g.knn = n_folds, knn
        keys: list[str] = [f"job:{j.id}" for j in jobs] + [f"resume:{r.id}" for r in resumes]
        types = [JOB] * len(jobs) + [RESUME] * len(resumes)
        texts: list[str] = []
        index = {k: i for i, k in enumerate(keys)}
        if len(index) != len(keys):
            raise ValueError("duplicate job or resume ids")
        edges: list[tuple[int, int, int, float, int]] = []
        type_of = {"skill": SKILL, "category": CATEGORY, "location": LOCATION}

        def node(kind: str, name: str) -> int:
            key = f"{kind}:{name}"
            if key not in index:
                index[key] = len(keys)
                keys.append(key)
                types.append(type_of[kind])
                texts.append(name)
            return index[key]

        for side, docs, off in (("job", jobs, 0), ("resume", resumes, len(jobs))):
            for i, d in enumerate(docs):
                for kind, names in doc_keys(d).items():
                    for name in names:
                        k = node(kind, name)
                        edges.append((off + i, k, REL[f"{side}<-{kind}"], 1.0, -1))
                        edges.append((k, off + i, REL[f"{kind}<-{side}"], 1.0, -1))
        nj = len(jobs)
        for e in interactions:
            sign = "+" if e.positive else "-"
            edges.append((e.job, nj + e.resume, REL[f"job<-resume{sign}"], e.weight, e.fold))
            edges.append((nj + e.resume, e.job, REL[f"resume<-job{sign}"], e.weight, e.fold))
        edges += g._knn_edges(job_x, resume_x, job_x, resume_x, nj, self_rows=True)

        extra_x = cache.encode(texts) if texts else np.zeros((0, job_x.shape[1]), dtype=np.float32)
        g.keys = keys
        g.index = index
        g.types = np.asarray(types, dtype=np.int64)
        g.x = np.concatenate([job_x, resume_x, extra_x]).astype(np.float32)
        g.edges = np.asarray(edges, dtype=np.float64).reshape(-1, 5)
        return g

    def _knn_edges(self, qj, qr, base_j, base_r, nj, self_rows: bool, row_offset: int = 0):
        """Content-neighbour edges from base nodes into query nodes (rows = query positions + row_offset)."""
        out = []
        n_qj = qj.shape[0]
        for q, q_side, off in ((qj, "job", 0), (qr, "resume", n_qj)):
            for base, b_side, b_off in ((base_j, "job", 0), (base_r, "resume", nj)):
                excl = self_rows and q_side == b_side
                idx, sims = topk_cosine(q, base, self.knn, exclude_self=excl)
                rel = REL[f"{q_side}<-{b_side}~"]
                for i in range(idx.shape[0]):
                    for c, s in zip(idx[i], sims[i], strict=True):
                        if s > 0:
                            out.append((row_offset + off + i, b_off + int(c), rel, float(s), -1))
        return out

    # ---------------------------------------------------------------- views
    @property
    def n_nodes(self) -> int:
        return len(self.keys)

    def node_of(self, kind: str, ident: str) -> int | None:
        return self.index.get(f"{kind}:{ident}")

    def interaction_pairs(self) -> set[tuple[str, str]]:
        """(job_id, resume_id) of every job-resume edge in the graph (for leakage checks)."""
        out = set()
        for row, col, rel, _, _ in self.edges:
            if int(rel) in (REL["job<-resume+"], REL["job<-resume-"]):
                out.add((self.keys[int(row)][4:], self.keys[int(col)][7:]))
        return out

    def adjacency(self, fold: int | None = None) -> torch.Tensor:
        """Sparse (N, R*N) block adjacency; ``fold=k`` drops fold-k interaction edges (training anti-leak)."""
        key = ("adj", fold)
        if key not in self._adj_cache:
            e = self.edges
            keep = np.ones(len(e), dtype=bool) if fold is None else e[:, 4] != fold
            self._adj_cache[key] = block_adjacency(e[keep], self.n_nodes, self.n_nodes)
        return self._adj_cache[key]

    # ---------------------------------------------------------------- cold start
    def attach(
        self,
        docs: Sequence[JobDoc | ResumeDoc],
        x: np.ndarray,
    ) -> tuple[np.ndarray, torch.Tensor]:
        """Edges INTO new nodes (one per doc) from existing nodes: skills/category/location it shares with the
        graph and its content neighbours. Existing nodes get no edges from new ones, so their vectors are
        unchanged. Returns (types of new nodes, sparse (n_new, R*N) adjacency)."""
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
        # knn: compute separately for new jobs and new resumes, then map rows back
        for side_mask in (is_job, ~is_job):
            rows = np.flatnonzero(side_mask)
            if len(rows) == 0:
                continue
            q = x[rows]
            empty = np.zeros((0, x.shape[1]), dtype=np.float32)
            qj, qr = (q, empty) if side_mask is is_job else (empty, q)
            for r, c, rel, w, f in self._knn_edges(qj, qr, base_j, base_r, nj, self_rows=False):
                edges.append((int(rows[r]), c, rel, w, f))
        types = np.where(is_job, JOB, RESUME).astype(np.int64)
        arr = np.asarray(edges, dtype=np.float64).reshape(-1, 5)
        return types, block_adjacency(arr, len(docs), self.n_nodes)

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


class RGCNLayer(nn.Module):
    """h_i' = W_0 h_i + sum_r sum_{j in N_r(i)} a_ij W_r h_j  (a_ij: normalised edge weight)."""

    def __init__(self, dim: int, n_rel: int):
        super().__init__()
        self.self_lin = nn.Linear(dim, dim)
        self.w_rel = nn.Parameter(torch.randn(n_rel, dim, dim) * (1.0 / dim**0.5) * 0.5)

    def forward(self, h_self: torch.Tensor, adj: torch.Tensor, h_src: torch.Tensor) -> torch.Tensor:
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
