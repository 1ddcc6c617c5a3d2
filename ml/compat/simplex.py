"""The fixed d-simplex classifier of Stationary Representations (Biondi et al., CVPR 2024).

K unit vectors in d = K - 1 dimensions with pairwise cosine -1/(K - 1): the d x d identity plus one row of
c = (1 - sqrt(d + 1)) / d, centred (column means subtracted), rows L2-normalised. Used as a frozen classifier
(no bias, no gradient) after the trainable feature layer: every version is pulled towards the SAME vertices, so
successive versions' features stay in one space. K is pre-allocated from the feature size (d + 1 vertices), so
classes added later need no new weights; the classes in use are the first ``n_classes`` vertices.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def simplex_vertices(d: int) -> np.ndarray:
    """(d + 1, d) float32: the vertices of a regular simplex centred on the origin, unit norm."""
    if d < 1:
        raise ValueError(f"simplex dimension must be >= 1, not {d}")
    c = (1.0 - np.sqrt(d + 1.0)) / d
    v = np.vstack([np.eye(d), np.full((1, d), c)])
    v = v - v.mean(axis=0, keepdims=True)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32)


class SimplexClassifier(nn.Module):
    """logits = z @ W.T over the first ``n_classes`` of the d + 1 fixed vertices (W is a buffer, not learned)."""

    def __init__(self, dim: int, n_classes: int):
        super().__init__()
        if not 2 <= n_classes <= dim + 1:
            raise ValueError(f"a {dim}-simplex has {dim + 1} vertices; {n_classes} classes do not fit")
        self.n_classes = n_classes
        self.register_buffer("vertices", torch.from_numpy(simplex_vertices(dim)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.vertices[: self.n_classes].T

    def loss(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the features against their class vertex; documents with class -1 are skipped."""
        keep = y >= 0
        if not bool(keep.any()):
            return z.sum() * 0.0
        return F.cross_entropy(self(z[keep]), y[keep])
