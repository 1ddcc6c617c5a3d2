"""The R-GCN of the relation view: node states over the typed graph (full, sampled subgraph, or cold-start
extension) and the pair head that scores a job/resume pair from its two graph vectors.

All relations are packed so that a layer is ``H' = act(H W_0 + sum_r A_r H W_r)``: one sparse-dense matmul per
layer over the (N*R, N) ``relation_adjacency`` layout.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..textview import N_SIM_FEATURES, pair_mlp
from .adjacency import SampledBlock
from .schema import N_REL, NODE_TYPES


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

    def node_states_in_chunks(
        self,
        x: torch.Tensor,
        types: torch.Tensor,
        adjacency_rows: Callable[[int, int], torch.Tensor],
        *,
        layers: int | None = None,
        rows: int = 8192,
    ) -> list[torch.Tensor]:
        """``node_states`` (the first ``layers`` layers; all by default) with each layer's aggregate taken ``rows``
        destination nodes at a time: ``adjacency_rows(a, b)`` gives nodes a:b's in-edges in ``relation_adjacency``
        layout. At 110k nodes the whole graph's aggregate and adjacency held ~0.5 GB at once. For no-grad passes."""
        h = self._h0(x, types)
        states = [h]
        for layer, norm in list(zip(self.layers, self.norms, strict=True))[:layers]:
            out = torch.empty_like(h)
            for a in range(0, len(h), rows):
                b = min(len(h), a + rows)
                out[a:b] = norm(h[a:b] + self.drop(self.act(layer(h[a:b], adjacency_rows(a, b), h))))
            h = out
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

    def historical_states(
        self, x: torch.Tensor, types: torch.Tensor, nodes: np.ndarray, block: SampledBlock, history: list
    ) -> torch.Tensor:
        """Output states of a one-hop block's targets, every layer over the SAME sampled neighbours: the targets'
        own states are computed fresh (with gradients) at every layer, the neighbours' from ``history`` (each
        layer's states of every node from a recent no-grad full-graph pass, ``history[l]`` for l >= 1), except
        layer 0's input projection, which is fresh and cheap. Per batch this costs one hop, whatever the graph's
        size; the staleness is bounded by how often the caller refreshes ``history`` (GNNAutoScale, Fey et al.
        2021)."""
        idx = torch.from_numpy(nodes)
        h_src = self._h0(x[idx], types[idx])
        h = h_src[block.self_index]
        for i, (layer, norm) in enumerate(zip(self.layers, self.norms, strict=True)):
            if i > 0:
                h_src = history[i][idx]
            h = norm(h + self.drop(self.act(layer(h, block.adj, h_src))))
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
