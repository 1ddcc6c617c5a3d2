"""Sparse adjacency of typed edges for the R-GCN, and neighbour sampling for subgraph training.

Edges are (m, 5) float64 rows [row, col, rel, weight, fold]; adjacency rows are normalised per relation
(weighted mean over neighbours, R-GCN's 1/|N_r(i)|). Why plain ``torch.sparse`` and not torch-geometric / DGL:
neither is installed (and the CPU torch pin makes adding them costly), and at Tandem's size (10^3-10^5 nodes,
10^5-10^6 edges) one sparse-dense matmul per layer is all an R-GCN needs.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .schema import N_REL


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

    def full_adjacency(self, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Every edge into nodes ``start:stop`` (default all), normalised, in ``relation_adjacency`` layout, sharing
        this sampler's arrays (no copy of the edges): for the no-grad full-graph passes that refresh historical
        node states, in row chunks so that their (rows x relations x hidden) aggregate stays bounded."""
        stop = self.n_nodes if stop is None else stop
        lo, hi = self.gptr[start * N_REL], self.gptr[stop * N_REL]
        crow = self.gptr[start * N_REL : stop * N_REL + 1] - lo
        return _csr(crow, self.col[lo:hi], self.full_val[lo:hi], ((stop - start) * N_REL, self.n_nodes))

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
