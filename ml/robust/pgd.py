"""The embedding-space attack: projected gradient ascent on a resume's section embeddings, within an L2 or L-inf
ball of radius epsilon, maximising the network's score for a job the resume does not fit.

Only the text view is attacked: it is the part of the network that reads the section embeddings through
differentiable operations (the relation view attaches a resume through nearest-neighbour edges, a discrete step).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

ScoreFn = Callable[[torch.Tensor], torch.Tensor]


def _project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-eps, eps)
    flat = delta.reshape(delta.shape[0], -1)
    scale = (eps / flat.norm(dim=1).clamp_min(1e-12)).clamp(max=1.0)
    return (flat * scale[:, None]).reshape(delta.shape)


def pgd_attack(
    er: torch.Tensor,
    score_fn: ScoreFn,
    *,
    eps: float,
    norm: str = "l2",
    steps: int = 10,
    step_size: float | None = None,
) -> torch.Tensor:
    """Adversarial section embeddings ``er + delta`` with ``||delta|| <= eps`` (per resume: L2 over all of its
    sections, or L-inf per coordinate) that raise ``score_fn`` (one score per resume, higher = better match).
    Empty sections (zero rows) stay empty: an attacker adds text where there is some."""
    if norm not in ("l2", "linf"):
        raise ValueError(f"norm must be 'l2' or 'linf', not {norm!r}")
    er = er.detach()
    mask = (er.abs().sum(-1, keepdim=True) > 0).float()
    alpha = step_size if step_size is not None else 2.5 * eps / max(1, steps)
    delta = torch.zeros_like(er)
    for _ in range(steps):
        delta.requires_grad_(True)
        score = score_fn(er + delta * mask).sum()
        (grad,) = torch.autograd.grad(score, delta)
        with torch.no_grad():
            if norm == "linf":
                step = alpha * grad.sign()
            else:
                g = grad.reshape(grad.shape[0], -1)
                step = (alpha * g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)).reshape(grad.shape)
            delta = _project(delta + step, eps, norm).detach()
    return (er + delta * mask).detach()
