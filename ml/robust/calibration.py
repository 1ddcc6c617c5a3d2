"""Calibration heads over the frozen MiniLM section embeddings of resumes (design: ../shared/design/robustness.md).

``h(z) = normalise(z + W2 GELU(W1 z))``, one small residual head per section, ``W2`` zero at the start so the
head begins as the identity. The encoder, the job vectors (the "centers" side) and the trained network stay
frozen; only the heads learn, and only from adversarial examples: the text attacks of ``ml/robust/attacks.py``
(sanitised first, as serving sees them) against mismatched jobs, and PGD on the section embeddings against the
trained network's text view. Objectives (``TrainConfig.calibration``):

* ``center_ce``: cross-entropy of the calibrated whole-resume vector over frozen occupation prototypes (mean job
  vector per job category where the data names categories, else k-means clusters of the jobs), labelled by the
  clean resume's nearest prototype;
* ``l2``: ``||h(f(x_adv)) - f(x)||^2``;
* ``infonce``: clean-adversarial InfoNCE within a batch;
plus the clean regulariser ``||h(f(x)) - f(x)||^2`` that keeps clean vectors, and so the index, where they are.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

OBJECTIVES = ("none", "center_ce", "l2", "infonce")


class CalibrationHead(nn.Module):
    """One residual MLP per section; rows that are empty (all zero) stay empty, the rest are unit length."""

    def __init__(self, dim: int, n_sections: int, hidden: int = 64, objective: str = "l2"):
        super().__init__()
        self.dim, self.n_sections, self.hidden, self.objective = dim, n_sections, hidden, objective
        # the per-section heads as stacked weights (one batched product instead of a loop over sections)
        self.w1 = nn.Parameter(torch.randn(n_sections, dim, hidden) / dim**0.5)
        self.b1 = nn.Parameter(torch.zeros(n_sections, hidden))
        self.w2 = nn.Parameter(torch.zeros(n_sections, hidden, dim))  # zero: the head starts as the identity
        self.b2 = nn.Parameter(torch.zeros(n_sections, dim))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """e: (B, S, D) section embeddings -> calibrated (B, S, D)."""
        mask = (e.abs().sum(-1, keepdim=True) > 0).float()
        z = F.gelu(torch.einsum("bsd,sdh->bsh", e, self.w1) + self.b1)
        h = e + torch.einsum("bsh,shd->bsd", z, self.w2) + self.b2
        return F.normalize(h, dim=-1) * mask

    def calibrate(self, e: np.ndarray, *, chunk: int = 32) -> np.ndarray:
        """NumPy in, NumPy out, no gradient (serving). Always in zero-padded chunks of ``chunk`` rows: a resume's
        vectors are then the same bits whichever batch it comes in (the per-document cache and the uncached path
        must agree exactly), at a twentieth of the cost of one resume at a time (a cold rerank of 200 spent
        ~200 ms here)."""
        if len(e) == 0:
            return e
        x = torch.from_numpy(np.ascontiguousarray(e, dtype=np.float32))
        out = torch.empty_like(
            x
        )  # written in place: a list of parts then their concatenation held two copies
        with torch.no_grad():
            for start in range(0, len(x), chunk):
                part = x[start : start + chunk]
                n = len(part)
                if n < chunk:
                    part = torch.cat([part, part.new_zeros((chunk - n, *part.shape[1:]))])
                out[start : start + n] = self(part)[:n]
        return out.numpy()

    def to_state(self) -> dict:
        meta = {"dim": self.dim, "n_sections": self.n_sections, "hidden": self.hidden}
        return {**meta, "objective": self.objective, "weights": self.state_dict()}

    @classmethod
    def from_state(cls, st: dict) -> CalibrationHead:
        head = cls(int(st["dim"]), int(st["n_sections"]), int(st["hidden"]), str(st["objective"]))
        head.load_state_dict(st["weights"])
        head.eval()
        return head


def occupation_centers(job_whole: np.ndarray, categories: list[str], *, seed: int = 0) -> np.ndarray:
    """(K, D) unit prototypes: the mean job vector per category when at least two categories have jobs,
    else k-means (k = n_jobs / 20, 2..32) over the job vectors."""
    x = np.asarray(job_whole, np.float32)
    x = x[np.abs(x).sum(1) > 0]
    named = sorted({c for c in categories if c})
    if len(named) >= 2:
        cats = np.array(categories)[np.abs(job_whole).sum(1) > 0]
        c = np.stack([x[cats == n].mean(0) for n in named if (cats == n).any()])
    else:
        c = _kmeans(x, int(np.clip(len(x) // 20, 2, 32)), seed)
    return (c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _kmeans(x: np.ndarray, k: int, seed: int, iters: int = 15) -> np.ndarray:
    """Spherical k-means (a few iterations; the prototypes only need to separate occupations roughly)."""
    rng = np.random.default_rng(seed)
    k = max(1, min(k, len(x)))
    c = x[rng.choice(len(x), size=k, replace=False)].copy()
    for _ in range(iters):
        assign = np.argmax(x @ c.T, axis=1)
        for j in range(k):
            if (assign == j).any():
                c[j] = x[assign == j].mean(0)
        c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    return c


def calibration_loss(
    head: CalibrationHead,
    adv: torch.Tensor,
    clean: torch.Tensor,
    clean_batch: torch.Tensor,
    *,
    objective: str,
    centers: torch.Tensor | None,
    labels: torch.Tensor | None,
    temperature: float = 0.1,
    reg_weight: float = 1.0,
) -> torch.Tensor:
    """One step's loss: the objective on (adversarial, its clean original) pairs plus the clean regulariser."""
    mask = (clean.abs().sum(-1) > 0).float()
    h = head(adv)
    if objective == "l2":
        obj = (((h - clean) ** 2).sum(-1) * mask).sum() / mask.sum().clamp_min(1)
    elif objective == "infonce":
        a, b = h[:, -1], clean[:, -1]  # the whole-resume section
        logits = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / temperature
        obj = F.cross_entropy(logits, torch.arange(len(a)))
    elif objective == "center_ce":
        logits = h[:, -1] @ centers.T / temperature
        obj = F.cross_entropy(logits, labels)
    else:
        raise ValueError(f"calibration objective must be one of {OBJECTIVES[1:]}, not {objective!r}")
    cmask = (clean_batch.abs().sum(-1) > 0).float()
    reg = (((head(clean_batch) - clean_batch) ** 2).sum(-1) * cmask).sum() / cmask.sum().clamp_min(1)
    return obj + reg_weight * reg


def fit_head(
    adv: np.ndarray,
    clean: np.ndarray,
    clean_pool: np.ndarray,
    *,
    objective: str,
    centers: np.ndarray | None = None,
    hidden: int = 64,
    epochs: int = 20,
    batch_size: int = 128,
    lr: float = 2e-3,
    reg_weight: float = 1.0,
    seed: int = 0,
) -> CalibrationHead:
    """Train a head on (adversarial, clean original) section embeddings (N, S, D) and clean resumes (M, S, D)
    for the regulariser. Only the head's weights move."""
    gen = torch.Generator().manual_seed(seed)
    head = CalibrationHead(adv.shape[-1], adv.shape[1], hidden, objective)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    a_t, c_t, pool = (
        torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for v in (adv, clean, clean_pool)
    )
    cen = torch.from_numpy(centers) if centers is not None else None
    labels = torch.argmax(c_t[:, -1] @ cen.T, dim=1) if cen is not None else None
    head.train()
    for _ in range(epochs):
        order = torch.randperm(len(a_t), generator=gen)
        for s in range(0, len(order), batch_size):
            i = order[s : s + batch_size]
            j = torch.randint(0, len(pool), (len(i),), generator=gen)
            loss = calibration_loss(
                head,
                a_t[i],
                c_t[i],
                pool[j],
                objective=objective,
                centers=cen,
                labels=labels[i] if labels is not None else None,
                reg_weight=reg_weight,
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
    head.eval()
    return head
