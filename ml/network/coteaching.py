"""Co-teaching (Han et al. 2018) between the two views: small-loss selection, the noise estimate, edge cleaning.

Per batch, each view ranks the batch's pairs by its own BCE loss and hands the OTHER view its R(T) small-loss
fraction, R(T) = 1 - forget_rate * min(T / warmup_epochs, 1), T = epoch progress (fractional). DEPARTURES are
described in ml/network/__init__.py: per-class selection, and ``forget_rate="auto"`` (``estimate_noise`` after
every epoch instead of a hand-set rate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..features import HistoryFeatures
from ..relation.graph import RelationGraph
from .config import TrainConfig
from .sampling import JOB_NEGATIVE, RESUME_NEGATIVE, EpochPairs, LabelledPairs


def keep_fractions(
    epoch_progress: float, warmup_epochs: float, tau_positive: float, tau_negative: float, coteach: bool
) -> tuple[float, float]:
    """R(T) for positives and for negatives: the share of a batch each view passes on at epoch progress T."""
    ramp = min(epoch_progress / max(warmup_epochs, 1e-9), 1.0) if coteach else 0.0
    return 1.0 - tau_positive * ramp, 1.0 - tau_negative * ramp


def select_small_loss(
    loss: torch.Tensor, labels: torch.Tensor, keep: float, per_class: bool, keep_negative: float | None = None
) -> torch.Tensor:
    """Indices of the ``keep`` fraction of samples with the smallest loss (per class when asked; then
    ``keep_negative``, when given, is the negatives' fraction)."""
    kn = keep if keep_negative is None else keep_negative
    if keep >= 1.0 and kn >= 1.0:
        return torch.arange(len(loss))
    groups = (
        [(torch.nonzero(labels > 0.5).flatten(), keep), (torch.nonzero(labels <= 0.5).flatten(), kn)]
        if per_class
        else [(torch.arange(len(loss)), keep)]
    )
    out = []
    for g, k in groups:
        if len(g) == 0:
            continue
        n = max(1, int(math.ceil(k * len(g))))
        out.append(g[torch.argsort(loss[g])[:n]])
    return torch.cat(out)


def exchange_small_loss(
    text_loss: torch.Tensor,
    relation_loss: torch.Tensor,
    labels: torch.Tensor,
    keep: float,
    keep_negative: float,
    per_class: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each view picks its small-loss pairs FOR THE OTHER view. Returns (pairs the text view trains on, pairs
    the relation view trains on)."""
    for_relation = select_small_loss(text_loss.detach(), labels, keep, per_class, keep_negative)
    for_text = select_small_loss(relation_loss.detach(), labels, keep, per_class, keep_negative)
    return for_text, for_relation


@dataclass
class NoiseEstimate:
    """What one view's scores say of the label noise (see ``estimate_noise``)."""

    positive: float  # share of positive labels that look like random pairs
    negative: float  # share of negative labels that look like positives
    positive_rank: (
        np.ndarray
    )  # per positive: share of reference negatives it outscores (noisy ones ~ U(0, 1))


def estimate_noise(
    logits: np.ndarray, labels: np.ndarray, reference: np.ndarray, *, quantile: float = 0.2
) -> NoiseEstimate:
    """Noise rates from the scores of one epoch, with the uniformly drawn negatives as the yardstick.

    A positive label that is noise (a view of a random job) scores like a uniformly drawn negative: its rank
    among them is uniform on [0, 1], so a share ``quantile`` of the noisy positives ranks in the bottom
    ``quantile``, while clean positives that the view has learned rarely do. The noise share is then about
    (share of positives in the bottom ``quantile``) / ``quantile``; likewise for negatives that rank in the top
    ``quantile`` of the positives. The view's own errors count as noise, so a weak view over-estimates; the
    caller takes the lower of the two views' figures. ``reference``: bool mask of the uniformly drawn negatives.
    DEPARTURE: Han et al. set tau by hand to the known noise rate; real interaction data has no such figure.
    """
    pos = labels > 0.5
    neg = ~pos
    ref = np.sort(logits[reference])
    if len(ref) == 0 or not pos.any():
        return NoiseEstimate(0.0, 0.0, np.ones(int(pos.sum())))
    rank = np.searchsorted(ref, logits[pos], side="right") / len(ref)
    positive = float(np.mean(rank < quantile)) / quantile
    negative = 0.0
    if neg.any():
        top = np.quantile(logits[pos], 1 - quantile)
        negative = float(np.mean(logits[neg] > top)) / quantile
    return NoiseEstimate(min(1.0, positive), min(1.0, negative), rank)


def after_epoch_noise(
    config: TrainConfig,
    epoch_logits: dict[str, np.ndarray],
    epoch: EpochPairs,
    pairs: LabelledPairs,
    graph: RelationGraph | None,
    history: HistoryFeatures | None,
    clean: np.ndarray | None,
) -> dict:
    """Estimate the noise from this epoch's scores (the lower of the two views' figures, capped), and, with
    ``clean_edges``, drop the interaction edges of that share of positives which the views rank lowest."""
    seen = ~np.isnan(epoch_logits["text"]) & ~np.isnan(epoch_logits["relation"])
    ref_kind = JOB_NEGATIVE if np.any(seen & (epoch.kind == JOB_NEGATIVE)) else RESUME_NEGATIVE
    rows = np.flatnonzero(seen)
    labels = epoch.label[rows]
    reference = epoch.kind[rows] == ref_kind
    ests = [
        estimate_noise(epoch_logits[v][rows], labels, reference, quantile=config.noise_quantile)
        for v in ("text", "relation")
    ]
    cap = config.max_forget_rate
    out = {
        "noise_positive": min(e.positive for e in ests),
        "noise_negative": min(e.negative for e in ests),
    }
    out["forget_rate_positive"] = float(min(cap, out["noise_positive"]))
    out["forget_rate_negative"] = float(min(cap, out["noise_negative"]))
    if config.clean_edges:
        positive_rows = rows[labels > 0.5]
        out.update(
            _drop_suspect_edges(
                ests, out["forget_rate_positive"], positive_rows, epoch, pairs, graph, history, clean
            )
        )
    return out


def _drop_suspect_edges(
    ests: list[NoiseEstimate],
    forget_rate: float,
    positive_rows: np.ndarray,
    epoch: EpochPairs,
    pairs: LabelledPairs,
    graph: RelationGraph | None,
    history: HistoryFeatures | None,
    clean: np.ndarray | None,
) -> dict:
    """Take the ``forget_rate`` share of observed positives that the views rank lowest on average out of the
    graph and the history features; the set is chosen afresh each epoch from every observed positive."""
    rank = np.mean([e.positive_rank for e in ests], axis=0)
    n_drop = int(round(forget_rate * len(positive_rows)))
    drop = epoch.observed[positive_rows[np.argsort(rank, kind="stable")[:n_drop]]]
    if graph is not None:
        graph.mask_interactions(pairs.job[drop], pairs.resume[drop])
    if history is not None:
        history.mask_edges(pairs.job[drop], pairs.resume[drop])
    out = {"edges_dropped": int(n_drop)}
    if clean is not None and n_drop:
        out["dropped_clean_fraction"] = float(clean[drop].mean())
        out["positive_clean_fraction"] = float(clean[epoch.observed[positive_rows]].mean())
    return out
