"""The epochs of one ``train`` call: fresh negatives, fold-pure batches, and per batch one co-teaching step in
which each view trains on the pairs the other view kept (small loss); after each epoch the noise estimate."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..compat.terms import CompatTerms
from ..features import HistoryFeatures, HistoryHead
from ..relation.graph import RelationGraph
from ..relation.model import RelationView
from ..relation.schema import JOB, RESUME
from ..textview import TextView, section_alignment_loss, similarity_features, softened_contrastive
from ..types import MatchingData
from .config import TrainConfig
from .coteaching import SelectionMemory, after_epoch_noise, exchange_small_loss, keep_fractions
from .model import ScoreMix
from .progress import TrainingLog, TrainProgress
from .sampling import EpochPairs, LabelledPairs, epoch_pairs, pair_keys
from .stale import HistoricalStates, batch_states


@dataclass
class TrainingInputs:
    """What every epoch reads: the observed pairs and the frozen section embeddings of every document."""

    pairs: LabelledPairs
    job_sections: np.ndarray  # (n_jobs, S, d) float32
    resume_sections: np.ndarray  # (n_resumes, S, d)
    clean: np.ndarray | None = None  # per observed pair, whether its label is clean (only when known)

    def __post_init__(self) -> None:
        self.job_tensor = torch.from_numpy(self.job_sections)
        self.resume_tensor = torch.from_numpy(self.resume_sections)

    @property
    def in_dim(self) -> int:
        return self.job_sections.shape[2]


@dataclass
class TrainableViews:
    """The trainable modules and what the relation view runs on."""

    text: TextView | None
    relation: RelationView | None
    graph: RelationGraph | None
    mix: ScoreMix | None = None
    history: HistoryFeatures | None = None
    heads: dict[str, HistoryHead] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.graph is not None:
            self.node_x = torch.from_numpy(self.graph.x)
            self.node_types = torch.from_numpy(self.graph.types)
            self.job_node = np.flatnonzero(self.graph.types == JOB)
            self.resume_node = np.flatnonzero(self.graph.types == RESUME)

    def modules(self) -> list[nn.Module]:
        return [m for m in (self.text, self.relation, self.mix, *self.heads.values()) if m is not None]


@dataclass
class _Epoch:
    """One epoch's pairs, their history features and each view's logit per pair (NaN until scored)."""

    pairs: EpochPairs
    history_features: torch.Tensor | None
    logits: dict[str, np.ndarray]


@dataclass
class _EpochStats:
    """Running sums over an epoch's batches."""

    loss_sums: dict[str, float] = field(default_factory=dict)
    kept_sum: float = 0.0
    batches: int = 0
    clean_kept: list[float] = field(default_factory=list)
    clean_batch: list[float] = field(default_factory=list)

    def add(self, losses: dict[str, float], kept: float) -> None:
        for k, v in losses.items():
            self.loss_sums[k] = self.loss_sums.get(k, 0.0) + v
        self.kept_sum += kept
        self.batches += 1

    def add_clean(
        self, clean: np.ndarray, observed: np.ndarray, selections: tuple[torch.Tensor, ...]
    ) -> None:
        """Clean share of the batch's observed pairs, and of those the views kept (when the truth is known)."""
        is_obs = observed >= 0
        if not is_obs.any():
            return
        self.clean_batch.append(float(clean[observed[is_obs]].mean()))
        fr = []
        for sel in selections:
            so = observed[sel.numpy()]
            so = so[so >= 0]
            if len(so):
                fr.append(float(clean[so].mean()))
        if fr:
            self.clean_kept.append(float(np.mean(fr)))

    def progress(self, epoch: int, epochs: int) -> TrainProgress:
        n = max(self.batches, 1)
        return TrainProgress(
            "train",
            epoch + 1,
            epochs,
            {k: v / n for k, v in self.loss_sums.items()},
            self.kept_sum / n,
            float(np.mean(self.clean_kept)) if self.clean_kept else None,
        )


@dataclass
class _ViewOutput:
    """One view's forward pass on a batch: logits, per-pair BCE, and the vectors its contrastive loss reads."""

    logit: torch.Tensor
    bce: torch.Tensor
    vectors: dict[str, torch.Tensor]  # "j", "r" (and the text view's section outputs)


def _initial_forget_rates(config: TrainConfig) -> tuple[float, float]:
    """tau for positives and negatives in the first epoch: "auto" selects nothing until an epoch has been
    scored (then each epoch's estimate); a number is used throughout."""
    auto_tau = config.forget_rate == "auto"
    if not auto_tau and not 0 <= float(config.forget_rate) < 1:
        raise ValueError(f"forget_rate must be 'auto' or a number in [0, 1), not {config.forget_rate!r}")
    tau = 0.0 if auto_tau else float(config.forget_rate)
    return tau, tau


class EpochRunner:
    """The epochs of one ``train`` call: negatives, batches, co-teaching steps, the noise estimate per epoch."""

    def __init__(
        self,
        data: MatchingData,
        config: TrainConfig,
        inputs: TrainingInputs,
        views: TrainableViews,
        rng: np.random.Generator,
        log: TrainingLog,
        t_start: float,
        deadline: float | None,
        compat: CompatTerms | None = None,
    ):
        self.data, self.config, self.inputs, self.views = data, config, inputs, views
        self.compat = compat  # stationary head and distillation (ml/compat), when configured
        self.rng, self.log, self.t_start, self.deadline = rng, log, t_start, deadline
        self.params = [p for m in views.modules() for p in m.parameters()]
        self.opt = torch.optim.AdamW(self.params, lr=config.lr, weight_decay=config.weight_decay)
        self.coteach = config.coteaching and views.text is not None and views.relation is not None
        pairs = inputs.pairs
        self.taken = np.unique(pair_keys(pairs.job, pairs.resume, len(data.resumes)))
        # hard job negatives come from the positive job's state
        self.job_group = views.history.jobs.state if views.history is not None else None
        self.stopped_early = False
        both = views.text is not None and views.relation is not None
        self.memory = (
            SelectionMemory(len(pairs.job), config.memory_decay)
            if self.coteach and config.selection in ("memory", "known")
            else None
        )
        # without co-teaching, the noise figures are still recorded when the truth is known (nothing changes)
        self.noise_figures = self.coteach or (both and inputs.clean is not None)
        self.stale = HistoricalStates.for_training(views.graph, views.relation, config)
        self.resume_tfidf = None  # every resume's own-text TF-IDF row (history features), from epoch 0

    def run(self, bars: bool) -> None:
        config = self.config
        epochs_iter = range(config.epochs)
        if bars:
            from tqdm.auto import tqdm

            epochs_iter = tqdm(epochs_iter, desc="train", unit="epoch")
        tau_pos, tau_neg = _initial_forget_rates(config)
        for epoch in epochs_iter:
            for m in self.views.modules():
                m.train()
            ep = self._epoch_pairs(epoch)
            stats = self._run_batches(ep, epoch, tau_pos, tau_neg)
            noise_extra: dict = {}
            if self.noise_figures:
                noise_extra = after_epoch_noise(
                    config,
                    ep.logits,
                    ep.pairs,
                    self.inputs.pairs,
                    self.views.graph,
                    self.views.history,
                    self.inputs.clean,
                    self.memory,
                    apply=self.coteach,
                )
                if self.coteach and config.forget_rate == "auto":
                    tau_pos, tau_neg = (
                        noise_extra["forget_rate_positive"],
                        noise_extra["forget_rate_negative"],
                    )
            if self.memory is not None:
                noise_extra.update(self._memory_step(epoch, tau_pos))
            self.log.report(
                stats.progress(epoch, config.epochs),
                {
                    "batch_clean_fraction": float(np.mean(stats.clean_batch)) if stats.clean_batch else None,
                    "seconds": time.monotonic() - self.t_start,
                    **noise_extra,
                },
            )
            if self.stopped_early:
                break

    def _memory_keep(self, view: str, small_loss: torch.Tensor, observed: np.ndarray) -> torch.Tensor:
        """Batch rows ``view`` learns from under memory selection: observed pairs its peer does not suspect
        (observed negatives also by the small-loss rule), and EVERY sampled negative: a sampled job is a false
        negative about once in thousands, and the high-loss ones the small-loss rule drops are the hard
        negatives a ranking needs."""
        rows = np.union1d(small_loss.numpy(), np.flatnonzero(observed < 0))
        return torch.from_numpy(rows[self.memory.keep_for(view, observed[rows])])

    def _memory_step(self, epoch: int, tau: float) -> dict:
        v = self.views
        return self.memory.after_epoch(
            self.config, epoch, tau, self.inputs.pairs, v.graph, v.history, self.inputs.clean
        )

    def _epoch_pairs(self, epoch: int) -> _Epoch:
        """Observed pairs plus fresh negatives, and their history features, each computed WITHOUT its own
        fold's edges (no own-edge leakage); the heads' standardisation is set from the first epoch."""
        views, data = self.views, self.data
        pairs = epoch_pairs(
            self.inputs.pairs,
            len(data.jobs),
            len(data.resumes),
            self.config,
            self.job_group,
            self.rng,
            self.taken,
        )
        hf = None
        if views.heads:
            hist = views.history
            if self.resume_tfidf is None:  # the same resumes every epoch: tokenised once
                self.resume_tfidf = hist.resume_tfidf_rows(data.resumes)
            hf_np = hist.pair_features(
                hist.jobs, data.resumes, pairs.job, pairs.resume, pairs.fold, resume_tfidf=self.resume_tfidf
            )
            if epoch == 0:
                for h in views.heads.values():
                    h.set_stats(hf_np)
            hf = torch.from_numpy(hf_np)
        logits = {name: np.full(len(pairs.label), np.nan, np.float32) for name in ("text", "relation")}
        return _Epoch(pairs, hf, logits)

    def _batches(self, fold: np.ndarray) -> list[np.ndarray]:
        """Batches of one fold each (so a batch's graph can leave out that fold's edges), in random order."""
        config = self.config
        batches = []
        for f in range(max(1, config.n_folds)):
            idx = self.rng.permutation(np.flatnonzero(fold == f))
            batches += [idx[s : s + config.batch_size] for s in range(0, len(idx), config.batch_size)]
        order = self.rng.permutation(len(batches))
        return [batches[b] for b in order]

    def _run_batches(self, ep: _Epoch, epoch: int, tau_pos: float, tau_neg: float) -> _EpochStats:
        """Every batch of the epoch, unless the deadline (``max_minutes``) passes first."""
        config = self.config
        stats = _EpochStats()
        batches = self._batches(ep.pairs.fold)
        for bi, idx in enumerate(batches):
            if len(idx) < 2:
                continue
            t = epoch + bi / max(1, len(batches))
            keep = keep_fractions(t, config.warmup_epochs, tau_pos, tau_neg, self.coteach)
            if self.stale is not None:
                self.stale.step(bi, len(batches))
            losses, for_text, for_rel = self._step(ep, idx, *keep)
            stats.add(losses, 0.5 * (len(for_text) + len(for_rel)) / len(idx))
            if self.inputs.clean is not None:
                stats.add_clean(self.inputs.clean, ep.pairs.observed[idx], (for_text, for_rel))
            if self.deadline is not None and time.monotonic() > self.deadline:
                self.stopped_early = True
                break
        return stats

    def _step(
        self, ep: _Epoch, idx: np.ndarray, keep: float, keep_neg: float
    ) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
        """One optimiser step on one batch; each view trains on the pairs the other view kept."""
        views, config, inputs = self.views, self.config, self.inputs
        y = torch.from_numpy(ep.pairs.label[idx])
        bj = torch.from_numpy(ep.pairs.job[idx])
        br = torch.from_numpy(ep.pairs.resume[idx])
        ej, er = inputs.job_tensor[bj], inputs.resume_tensor[br]  # frozen section embeddings of the batch
        hf = ep.history_features[idx] if ep.history_features is not None else None
        text = self._text_forward(ej, er, y, hf) if views.text is not None else None
        rel = self._relation_forward(ep, idx, ej, er, y, hf) if views.relation is not None else None
        if text is not None:
            ep.logits["text"][idx] = text.logit.detach().numpy()
        if rel is not None:
            ep.logits["relation"][idx] = rel.logit.detach().numpy()
        if self.coteach:
            # memory selection: positives by the peer's running rank, negatives by the batch's small loss
            keep_pos = 1.0 if self.memory is not None else keep
            for_text, for_rel = exchange_small_loss(
                text.bce, rel.bce, y, keep_pos, keep_neg, config.select_per_class
            )
            if self.memory is not None:
                obs = ep.pairs.observed[idx]
                for_text = self._memory_keep("text", for_text, obs)
                for_rel = self._memory_keep("relation", for_rel, obs)
        else:
            for_rel = for_text = torch.arange(len(idx))
        losses: dict[str, float] = {}
        total = torch.zeros(())
        if text is not None:
            total = _text_loss(total, losses, text, for_text, y, ej, er, config)
        if rel is not None:
            total = _relation_loss(total, losses, rel, for_rel, y, config)
        if views.mix is not None:
            total = _mix_loss(total, losses, views.mix, text, rel, for_text, for_rel, y, len(idx))
        if self.compat is not None:
            extra, extra_logs = self.compat.loss(
                bj, br, text.vectors if text else None, rel.vectors if rel else None
            )
            total = total + extra
            losses.update(extra_logs)
        self.opt.zero_grad()
        total.backward()
        nn.utils.clip_grad_norm_(self.params, 5.0)
        self.opt.step()
        return losses, for_text, for_rel

    def _text_forward(
        self, ej: torch.Tensor, er: torch.Tensor, y: torch.Tensor, hf: torch.Tensor | None
    ) -> _ViewOutput:
        views = self.views
        out = views.text(ej, er)
        logit = out["logit"]
        head = views.heads.get("text")
        if head is not None:
            logit = logit + head(hf)
        bce = F.binary_cross_entropy_with_logits(logit, y, reduction="none")
        return _ViewOutput(logit, bce, out)

    def _relation_forward(
        self,
        ep: _Epoch,
        idx: np.ndarray,
        ej: torch.Tensor,
        er: torch.Tensor,
        y: torch.Tensor,
        hf: torch.Tensor | None,
    ) -> _ViewOutput:
        """The batch's computational subgraph, on the graph without this fold's interaction edges."""
        views, config = self.views, self.config
        fold = int(ep.pairs.fold[idx[0]])
        jn, rn = views.job_node[ep.pairs.job[idx]], views.resume_node[ep.pairs.resume[idx]]
        targets = np.unique(np.concatenate([jn, rn]))
        h_out = batch_states(views, config, self.stale, fold, targets, self.rng)
        hj = h_out[torch.from_numpy(np.searchsorted(targets, jn))]
        hr = h_out[torch.from_numpy(np.searchsorted(targets, rn))]
        logit = views.relation.score(hj, hr, similarity_features(ej, er))
        head = views.heads.get("relation")
        if head is not None:
            logit = logit + head(hf)
        bce = F.binary_cross_entropy_with_logits(logit, y, reduction="none")
        return _ViewOutput(logit, bce, {"j": hj, "r": hr})


def _text_loss(
    total: torch.Tensor,
    losses: dict[str, float],
    text: _ViewOutput,
    sel: torch.Tensor,
    y: torch.Tensor,
    ej: torch.Tensor,
    er: torch.Tensor,
    config: TrainConfig,
) -> torch.Tensor:
    """BCE on the selected pairs, softened contrastive and section alignment on their positives."""
    l_bce = text.bce[sel].mean()
    pos = sel[y[sel] > 0.5]
    l_con = softened_contrastive(
        text.vectors["j"][pos], text.vectors["r"][pos], config.label_smoothing_alpha, config.temperature
    )
    sub = {k: v[pos] for k, v in text.vectors.items() if k != "logit"}
    l_sec = section_alignment_loss(
        sub,
        ej[pos],
        er[pos],
        config.label_smoothing_alpha,
        config.temperature,
        cross_level=config.cross_level,
    )
    total = total + l_bce + config.contrastive_weight * l_con + config.section_weight * l_sec
    losses.update(text_bce=l_bce.item(), text_contrastive=l_con.item(), text_sections=l_sec.item())
    return total


def _relation_loss(
    total: torch.Tensor,
    losses: dict[str, float],
    rel: _ViewOutput,
    sel: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
) -> torch.Tensor:
    """BCE on the selected pairs, softened contrastive on the graph vectors of their positives."""
    l_bce = rel.bce[sel].mean()
    pos = sel[y[sel] > 0.5]
    l_con = softened_contrastive(
        rel.vectors["j"][pos], rel.vectors["r"][pos], config.label_smoothing_alpha, config.temperature
    )
    total = total + l_bce + config.contrastive_weight * l_con
    losses.update(relation_bce=l_bce.item(), relation_contrastive=l_con.item())
    return total


def _mix_loss(
    total: torch.Tensor,
    losses: dict[str, float],
    mix: ScoreMix,
    text: _ViewOutput,
    rel: _ViewOutput,
    for_text: torch.Tensor,
    for_rel: torch.Tensor,
    y: torch.Tensor,
    n: int,
) -> torch.Tensor:
    """The score mix fits on the pairs both views kept, on detached view logits (it must not move the views)."""
    both_sel = torch.from_numpy(np.intersect1d(for_text.numpy(), for_rel.numpy()))
    if len(both_sel) == 0:
        both_sel = torch.arange(n)
    l_mix = F.binary_cross_entropy_with_logits(
        mix(text.logit.detach()[both_sel], rel.logit.detach()[both_sel]), y[both_sel]
    )
    losses["mix_bce"] = l_mix.item()
    return total + l_mix
