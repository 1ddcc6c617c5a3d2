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
    memory: SelectionMemory | None = None,
    *,
    apply: bool = True,
) -> dict:
    """Estimate the noise from this epoch's scores (the lower of the two views' figures, capped), and, with
    ``clean_edges``, drop the interaction edges of that share of positives which the views rank lowest.
    ``memory`` (selection="memory") takes this epoch's ranks; ``apply=False``: figures only (no co-teaching)."""
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
    positive_rows = rows[labels > 0.5]
    if clean is not None:
        out.update(detection_figures(ests, clean[epoch.observed[positive_rows]], out["forget_rate_positive"]))
    if memory is not None and apply:
        obs = epoch.observed[positive_rows]
        for view, est in zip(("text", "relation"), ests, strict=True):
            memory.update(view, obs, est.positive_rank)
    if config.clean_edges and apply and memory is None:
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


def _auc(score: np.ndarray, good: np.ndarray) -> float | None:
    """ROC-AUC of ``score`` for telling ``good`` from the rest (ties count half); None when one side is empty."""
    n_good, n_bad = int(good.sum()), int((~good).sum())
    if n_good == 0 or n_bad == 0:
        return None
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    # average ranks over ties
    _, inv, counts = np.unique(score, return_inverse=True, return_counts=True)
    sums = np.zeros(len(counts))
    np.add.at(sums, inv, ranks)
    ranks = (sums / counts)[inv]
    return float((ranks[good].sum() - n_good * (n_good + 1) / 2) / (n_good * n_bad))


def detection_figures(ests: list[NoiseEstimate], clean: np.ndarray, tau: float) -> dict:
    """How well this epoch's ranks tell the clean observed positives from the noisy ones (when the truth is
    known): AUC per view and of the two views' mean, and the clean share of the tau lowest by the mean."""
    mean_rank = np.mean([e.positive_rank for e in ests], axis=0)
    out = {
        f"detect_auc_{v}": _auc(e.positive_rank, clean)
        for v, e in zip(("text", "relation"), ests, strict=True)
    }
    out["detect_auc_mean"] = _auc(mean_rank, clean)
    n = int(round(tau * len(clean)))
    if n:
        out["lowest_clean_fraction"] = float(clean[np.argsort(mean_rank, kind="stable")[:n]].mean())
    return out


class SelectionMemory:
    """selection="memory": each view's running mean over epochs of every observed positive's rank among the
    uniformly drawn negatives (its own scores); after the warm-up each view names the ``tau`` share it ranks
    lowest, and the OTHER view leaves those out of its losses (co-teaching over the epoch, not the batch).

    Why not per batch: the small-loss rule ranks a positive against the few hundred pairs of its batch at one
    moment of training; the running rank averages the view's judgement over epochs and over fresh negatives."""

    VIEWS = ("text", "relation")

    def __init__(self, n_observed: int, decay: float):
        self.decay = decay
        self.rank = {v: np.full(n_observed, np.nan) for v in self.VIEWS}
        self.suspect = {v: np.zeros(n_observed, dtype=bool) for v in self.VIEWS}
        self.positive = np.zeros(n_observed, dtype=bool)

    def update(self, view: str, observed: np.ndarray, rank: np.ndarray) -> None:
        old = self.rank[view][observed]
        self.rank[view][observed] = np.where(np.isnan(old), rank, self.decay * old + (1 - self.decay) * rank)
        self.positive[observed] = True

    def choose(self, tau: float) -> None:
        """Each view's suspects: the ``tau`` share of the observed positives it ranks lowest."""
        for v in self.VIEWS:
            self.suspect[v][:] = False
            idx = np.flatnonzero(self.positive & ~np.isnan(self.rank[v]))
            n = int(round(tau * len(idx)))
            if n:
                self.suspect[v][idx[np.argsort(self.rank[v][idx], kind="stable")[:n]]] = True

    def keep_for(self, view: str, observed: np.ndarray) -> np.ndarray:
        """Bool per batch row: may ``view`` learn from it (its peer does not suspect it)."""
        peer = "relation" if view == "text" else "text"
        ok = observed >= 0
        keep = np.ones(len(observed), dtype=bool)
        keep[ok] = ~self.suspect[peer][observed[ok]]
        return keep

    def figures(self, clean: np.ndarray) -> dict:
        """Clean share of each view's suspects and of the pairs the views keep (against the truth, when known)."""
        out = {}
        pos = self.positive
        for v in self.VIEWS:
            s = self.suspect[v] & pos
            if s.any():
                out[f"suspect_clean_{v}"] = float(clean[s].mean())
            kept = pos & ~s
            if kept.any():
                out[f"memory_kept_clean_{v}"] = float(clean[kept].mean())
            noisy = pos & ~clean
            if noisy.any():  # recall: the share of the noisy positives this view names
                out[f"noisy_suspected_{v}"] = float(s[noisy].mean())
        return out

    def after_epoch(
        self,
        config: TrainConfig,
        epoch: int,
        tau: float,
        pairs: LabelledPairs,
        graph: RelationGraph | None,
        history: HistoryFeatures | None,
        clean: np.ndarray | None,
    ) -> dict:
        """Once the warm-up is over: choose each view's suspects for the next epoch (and, with ``clean_edges``,
        take the pairs both views suspect out of the graph and the histories); the figures of that choice."""
        if epoch + 1 < config.warmup_epochs:
            return {}
        if config.selection == "known":  # diagnostic (bench only): the truth names the suspects
            if clean is None:
                raise ValueError('selection="known" needs clean_mask_fn (the truth)')
            for v in self.VIEWS:
                self.suspect[v][:] = self.positive & ~clean
        else:
            self.choose(tau)
        out = self.figures(clean) if clean is not None else {}
        if config.clean_edges:
            out.update(self.drop_edges(pairs, graph, history, clean, config.clean_edges_min_jobs))
        return out

    def drop_edges(
        self, pairs: LabelledPairs, graph, history, clean: np.ndarray | None, min_jobs: int = 1
    ) -> dict:
        """Pairs both views suspect leave the relation graph and the history features (for the next epoch),
        except those of resumes with fewer than ``min_jobs`` positive pairs (too little history to judge by)."""
        drop = np.flatnonzero(self.suspect["text"] & self.suspect["relation"])
        if min_jobs > 1 and len(drop):
            n_jobs = np.bincount(pairs.resume[pairs.label > 0.5], minlength=int(pairs.resume.max()) + 1)
            drop = drop[n_jobs[pairs.resume[drop]] >= min_jobs]
        if graph is not None:
            graph.mask_interactions(pairs.job[drop], pairs.resume[drop])
        if history is not None:
            history.mask_edges(pairs.job[drop], pairs.resume[drop])
        out = {"edges_dropped": int(len(drop))}
        if clean is not None and len(drop):
            out["dropped_clean_fraction"] = float(clean[drop].mean())
        return out
