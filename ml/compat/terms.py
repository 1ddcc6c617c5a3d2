"""The compatibility losses the training loop adds per batch (``TrainConfig.stationary_head``, ``distill_weight``):

  simplex_weight * CE(simplex(z), class)   on each tower's feature (text and relation, job and resume side)
  distill_weight * (1 - cos(v_new, v_old)) on the served retrieval vector of the batch's jobs and resumes,
                                            v_old from the previous version (frozen), when one is given.
The retrieval vector is built as ``MatchingModel._embed`` builds it: the views' normalised features,
weighted sqrt(w) / sqrt(1 - w) and concatenated (w: the text view's weight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .classes import occupation_classes
from .distill import PreviousVectors, cosine_distillation
from .simplex import SimplexClassifier


def text_weight(config) -> float:
    """The text view's share of the retrieval vector (``MatchingModel._text_weight``)."""
    if not config.use_relation_view:
        return 1.0
    if not config.use_text_view:
        return 0.0
    return 0.5 if config.view_mix == "learned" else float(config.view_mix)


def retrieval_vectors(text: torch.Tensor | None, rel: torch.Tensor | None, w: float) -> torch.Tensor:
    parts = []
    if text is not None:
        parts.append(math.sqrt(w) * F.normalize(text, dim=1))
    if rel is not None:
        parts.append(math.sqrt(1 - w) * F.normalize(rel, dim=1))
    return F.normalize(torch.cat(parts, dim=1), dim=1)


@dataclass
class CompatTerms:
    simplex: SimplexClassifier | None
    job_class: torch.Tensor  # (n_jobs,) int64, -1: no class
    resume_class: torch.Tensor
    previous: PreviousVectors | None
    simplex_weight: float
    distill_weight: float
    text_weight: float

    def summary(self) -> dict:
        return {
            "stationary_head": self.simplex is not None,
            "simplex_classes": self.simplex.n_classes if self.simplex is not None else 0,
            "simplex_vertices": int(self.simplex.vertices.shape[0]) if self.simplex is not None else 0,
            "simplex_weight": self.simplex_weight,
            "distilled": self.previous is not None,
            "distill_weight": self.distill_weight if self.previous is not None else 0.0,
        }

    def loss(
        self,
        bj: torch.Tensor,
        br: torch.Tensor,
        text: dict | None,
        rel: dict | None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The batch's extra loss: ``text`` / ``rel`` are the views' outputs ({"j": (B, h), "r": (B, h)})."""
        feats = [v for v in (text, rel) if v is not None]
        total = torch.zeros(())
        logs: dict[str, float] = {}
        if self.simplex is not None:
            yj, yr = self.job_class[bj], self.resume_class[br]
            ce = torch.stack(
                [self.simplex.loss(f["j"], yj) + self.simplex.loss(f["r"], yr) for f in feats]
            ).mean()
            total = total + self.simplex_weight * 0.5 * ce
            logs["simplex_ce"] = ce.item()
        if self.previous is not None:
            tj = text["j"] if text is not None else None
            tr = text["r"] if text is not None else None
            hj = rel["j"] if rel is not None else None
            hr = rel["r"] if rel is not None else None
            vj = retrieval_vectors(tj, hj, self.text_weight)
            vr = retrieval_vectors(tr, hr, self.text_weight)
            dist = cosine_distillation(vj, self.previous.jobs[bj]) + cosine_distillation(
                vr, self.previous.resumes[br]
            )
            total = total + self.distill_weight * 0.5 * dist
            logs["distill"] = (0.5 * dist).item()
        return total, logs


def build_terms(
    config, data, job_sections: np.ndarray, resume_sections: np.ndarray, previous
) -> CompatTerms | None:
    """The terms ``config`` asks for (None when neither is on). ``previous``: the version being replaced (a
    MatchingModel, or its ``PreviousVectors`` of data's documents) or None; its retrieval vectors must have this
    model's dimension."""
    use_prev = previous is not None and config.distill_weight > 0
    if not config.stationary_head and not use_prev:
        return None
    w = text_weight(config)
    simplex = None
    jc = np.full(len(data.jobs), -1, np.int64)
    rc = np.full(len(data.resumes), -1, np.int64)
    if config.stationary_head:
        simplex = SimplexClassifier(config.hidden, config.simplex_classes)
        jc, rc = occupation_classes(
            job_sections[:, -1], resume_sections[:, -1], config.simplex_classes, seed=config.seed
        )
    prev = None
    if use_prev:
        prev = (
            previous
            if isinstance(previous, PreviousVectors)
            else PreviousVectors.of(previous, data.jobs, data.resumes)
        )
        dim = config.hidden * (int(config.use_text_view) + int(config.use_relation_view))
        if prev.dim != dim:
            raise ValueError(
                f"the previous version's retrieval vectors have {prev.dim} dimensions, this model's {dim}"
            )
    return CompatTerms(
        simplex,
        torch.from_numpy(jc),
        torch.from_numpy(rc),
        prev,
        config.simplex_weight,
        config.distill_weight,
        w,
    )
