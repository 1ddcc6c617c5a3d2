"""Distillation from the previous version (QDC's embedding distillation): L = mean(1 - cos(new, old)) on the
retrieval vectors of the batch's jobs (document side when ranking candidates, query side when ranking jobs) and
resumes (the other way round), the previous model frozen. The previous vectors are computed once before
training (``previous_vectors``), so a batch costs one cosine per document."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class PreviousVectors:
    """The previous version's retrieval vectors of the training documents, row-aligned with data.jobs/resumes."""

    jobs: torch.Tensor  # (n_jobs, D)
    resumes: torch.Tensor  # (n_resumes, D)

    @classmethod
    def of(cls, previous, jobs, resumes, *, block: int = 8192) -> PreviousVectors:
        """Embed the documents with ``previous`` (a MatchingModel: its text and relation views, trained state),
        ``block`` at a time: a retrain's 100k resumes at once held ~2 GB of section arrays while the retrain's own
        data was loaded (bench/training_scale.py). A document's vector does not depend on its batch."""

        def embed(fn, docs) -> torch.Tensor:
            docs = list(docs)
            out = np.zeros((len(docs), previous.retrieval_dim), np.float32)
            for a in range(0, len(docs), block):
                out[a : a + block] = fn(docs[a : a + block])
            return torch.from_numpy(out)

        return cls(embed(previous.embed_jobs, jobs), embed(previous.embed_resumes, resumes))

    @property
    def dim(self) -> int:
        return int(self.jobs.shape[1])


def cosine_distillation(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """mean(1 - cos(new_i, old_i)); rows where the old vector is zero (no text, no history) are skipped."""
    keep = old.norm(dim=1) > 1e-8
    if not bool(keep.any()):
        return new.sum() * 0.0
    return (1.0 - F.cosine_similarity(new[keep], old[keep], dim=1)).mean()
