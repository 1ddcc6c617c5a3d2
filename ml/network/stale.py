"""The relation view's node states for one training batch: a sampled L-hop subgraph, or one hop over
historical (stale) states of the neighbours.

Why historical states: with an L-hop sampled subgraph per batch, the hop-L frontier of a batch of a few hundred
pairs touches a share of the graph that grows with the graph's density, so an epoch cost ~30x more for 10x the
interactions (bench/training_scale.py). With ``TrainConfig.historical_states`` each batch samples ONE hop and
reads its neighbours' deeper-layer states from a no-grad full-graph pass per fold (its own edges hidden, like
the sampled subgraphs), refreshed ``state_refreshes`` times an epoch: a batch then costs the same at any scale,
and an epoch adds that many passes over the nodes and edges (linear in the graph).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ..relation.graph import RelationGraph
from ..relation.model import RelationView
from .config import TrainConfig

if TYPE_CHECKING:
    from .epochs import TrainableViews


# ``historical_states="auto"`` turns them on from this many graph nodes: where an L-hop subgraph per batch costs
# more with every node added (bench/training_scale.py's platform: ~11k nodes at 1/10, ~115k at full scale). Below
# it the exact L-hop path keeps the quality measured on the small real data (see TrainConfig.historical_states).
AUTO_MIN_NODES = 50_000


class HistoricalStates:
    """Per fold, every node's per-layer states from the last refresh (computed on demand, dropped by ``step``)."""

    def __init__(self, graph: RelationGraph, relation: RelationView, refreshes: int):
        self.graph, self.relation = graph, relation
        self.refreshes = max(1, refreshes)
        self._states: dict[int | None, list[torch.Tensor]] = {}
        self.passes = 0  # full-graph passes run (figures: the cost the refreshes add)

    @classmethod
    def for_training(
        cls, graph: RelationGraph | None, relation: RelationView | None, config: TrainConfig
    ) -> HistoricalStates | None:
        """The states a training run keeps, or None where it samples L-hop subgraphs (or has no relation view)."""
        on = config.historical_states
        if on == "auto":
            on = graph is not None and graph.n_nodes >= AUTO_MIN_NODES
        elif not isinstance(on, bool):
            raise ValueError(f"historical_states must be True, False or 'auto', not {on!r}")
        if relation is None or not on or config.gnn_layers < 2:
            return None
        return cls(graph, relation, config.state_refreshes)

    def step(self, batch: int, n_batches: int) -> None:
        """Called before every batch of an epoch: at ``refreshes`` evenly spaced batches the states go stale."""
        every = max(1, -(-n_batches // self.refreshes))
        if batch % every == 0:
            self._states.clear()

    def states(self, fold: int | None, x: torch.Tensor, types: torch.Tensor) -> list[torch.Tensor]:
        """Per-layer states of every node on the graph without ``fold``'s interaction edges (eval mode: the
        expected state, no dropout; no gradients)."""
        if fold not in self._states:
            was_training = self.relation.training
            self.relation.eval()
            with torch.no_grad():
                self._states[fold] = self._pass(self.graph.sampler(fold), x, types)
            self.relation.train(was_training)
            self.passes += 1
        return self._states[fold]

    def _pass(self, sampler, x: torch.Tensor, types: torch.Tensor, rows: int = 8192) -> list[torch.Tensor]:
        """``RelationView.node_states`` in eval mode up to layer L-1 (the last one is never read), ``rows`` nodes
        at a time: at 110k nodes the whole-graph aggregate held ~0.5 GB at once."""
        rel = self.relation
        return rel.node_states_in_chunks(
            x, types, sampler.full_adjacency, layers=len(rel.layers) - 1, rows=rows
        )


def batch_states(
    views: TrainableViews,
    config: TrainConfig,
    stale: HistoricalStates | None,
    fold: int,
    targets: np.ndarray,
    rng: np.random.Generator,
) -> torch.Tensor:
    """Output states of ``targets`` (sorted unique node ids) on the graph without ``fold``'s interaction edges:
    one hop over historical states when ``stale`` is given, else the sampled L-hop subgraph."""
    relation, x, types = views.relation, views.node_x, views.node_types
    sampler = views.graph.sampler(fold)
    if stale is None:
        nodes, blocks = sampler.blocks(targets, config.gnn_layers, config.fanout, rng)
        return relation.sampled_states(x, types, nodes, blocks)
    fanout = config.fanout[0] if isinstance(config.fanout, (list, tuple)) else config.fanout
    nodes, (block,) = sampler.blocks(targets, 1, fanout, rng)
    return relation.historical_states(x, types, nodes, block, stale.states(fold, x, types))
