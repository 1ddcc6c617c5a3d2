"""Compatible model updates (no Django): a new version's query vectors searched against an older version's index.

See /work/shared/design/compatibility.md (Stationary Representations, CVPR 2024; Query Drift Compensation, 2025).

Modules:
  simplex   the fixed d-simplex classifier (regular simplex vertices, frozen, pre-allocated beyond the classes)
  classes   the classes the data gives: occupation clusters of the documents' whole-text embeddings
  distill   cosine distillation from the previous version's retrieval vectors (query and document side)
  terms     the extra training losses (stationary head + distillation) the epoch loop adds per batch
  drift     query drift compensation: mean shift and least-squares linear map, fitted on documents embedded
            by both versions; serialisable to plain JSON
  criteria  compatibility matrix figures: empirical criterion, AC, AM, share of the re-index gain recovered
"""

from .criteria import compatibility_report, gain_recovered
from .drift import DriftProjection, fit_projection
from .simplex import SimplexClassifier, simplex_vertices

__all__ = [
    "DriftProjection",
    "SimplexClassifier",
    "compatibility_report",
    "fit_projection",
    "gain_recovered",
    "simplex_vertices",
]
