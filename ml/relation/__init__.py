"""Relation view of MV-CoN: a typed job/resume/skill/category/location graph encoded with an R-GCN.

Modules: schema (node types, relations, keyword nodes), graph (``RelationGraph``: build, fold masks, cold-start
attachment), adjacency (sparse per-relation adjacency, ``NeighbourSampler``), model (``RelationView``).
"""

from .adjacency import NeighbourSampler, SampledBlock, block_adjacency, relation_adjacency
from .graph import InteractionArrays, InteractionEdge, RelationGraph, topk_cosine
from .model import RelationView, RGCNLayer
from .schema import (
    CATEGORY,
    INTERACTION_RELATIONS,
    JOB,
    LOCATION,
    N_REL,
    NODE_TYPES,
    REL,
    RELATIONS,
    RESUME,
    SKILL,
    doc_keys,
    norm_key,
)

__all__ = [
    "CATEGORY",
    "JOB",
    "LOCATION",
    "RESUME",
    "SKILL",
    "INTERACTION_RELATIONS",
    "N_REL",
    "NODE_TYPES",
    "REL",
    "RELATIONS",
    "InteractionArrays",
    "InteractionEdge",
    "NeighbourSampler",
    "RGCNLayer",
    "RelationGraph",
    "RelationView",
    "SampledBlock",
    "block_adjacency",
    "doc_keys",
    "norm_key",
    "relation_adjacency",
    "topk_cosine",
]
