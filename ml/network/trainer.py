"""``train``: MV-CoN's training loop, cut into its steps (encode, build the views, epochs of batches, evaluate).

The order of the steps fixes every draw from the seeded numpy and torch generators (negatives, batch order,
neighbour sampling, weight init, dropout): change it and a seed no longer reproduces a model.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from ..compat.distill import PreviousVectors
from ..compat.terms import build_terms
from ..embedding import EmbeddingCache, get_encoder
from ..features import HistoryFeatures, HistoryHead
from ..metrics import auc as auc_score
from ..relation.graph import InteractionArrays, RelationGraph
from ..relation.model import RelationView
from ..robust.fitting import fit_calibration
from ..robust.selectivity import selective_events
from ..textview import TextView, embed_sections
from ..types import MatchingData
from .config import TrainConfig
from .epochs import EpochRunner, TrainableViews, TrainingInputs
from .model import MatchingModel, ScoreMix, to_jsonable
from .progress import TrainingLog, TrainProgress
from .sampling import LabelledPairs, aggregate_interactions, sample_resume_negatives

NOISE_ESTIMATE_KEYS = (
    "noise_positive",
    "noise_negative",
    "forget_rate_positive",
    "forget_rate_negative",
    "edges_dropped",
)


def train(
    data: MatchingData,
    config: TrainConfig,
    *,
    cache: EmbeddingCache | None = None,
    progress: Callable[[TrainProgress], None] | None = None,
    clean_mask_fn: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    previous: MatchingModel | PreviousVectors | None = None,
    init: dict | None = None,
) -> MatchingModel:
    """Train MV-CoN on ``data`` (its interactions are the TRAINING interactions: the relation graph is built
    from them only).

    cache: embedding cache (defaults to a fresh in-memory cache over ``get_encoder()``); the model keeps it.
    progress: called after encoding, graph building, each epoch and evaluation.
    clean_mask_fn(pairs (m,2) int [job index, resume index into data.jobs/resumes], labels (m,) 0/1) -> bool (m,):
        when the truth is known (synthetic data), marks which training labels are clean; used to record
        ``clean_kept_fraction`` (kept observed pairs that are clean) next to ``batch_clean_fraction``.
    previous: the version this one replaces (or its ``ml.compat.distill.PreviousVectors`` of data's documents);
        with ``config.distill_weight`` > 0 the new retrieval vectors are distilled towards its (ml/compat), so a
        new query stays searchable against the vectors it indexed.
    init: weights to start from instead of a random draw (``warm_start_weights`` of a model trained with the
        same config, e.g. on an older slice of the same data): the platform's final refit
        (``TrainConfig.refit_epochs``). The graph, features and calibration are still built from ``data``.
    """
    if not (config.use_text_view or config.use_relation_view):
        raise ValueError("at least one view must be enabled")
    if config.history_views not in ("both", "text", "relation"):
        raise ValueError(f"history_views must be 'both', 'text' or 'relation', not {config.history_views!r}")
    t_start = time.monotonic()
    torch.manual_seed(config.seed)
    prev_threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    try:
        kept = selective_events(
            data.interactions, len(data.jobs), max_share=config.max_apply_share, min_jobs=config.max_apply_min
        )
        dropped = len(data.interactions) - len(kept)
        if dropped:  # an indiscriminate applier's own signals are no labels and no edges
            data = MatchingData(data.jobs, data.resumes, kept, data.meta)
        model = _train(data, config, cache, progress, clean_mask_fn, t_start, previous, init)
        model.metrics["unselective_events_dropped"] = dropped
        return model
    finally:
        torch.set_num_threads(prev_threads)


def _train(
    data: MatchingData,
    config: TrainConfig,
    cache: EmbeddingCache | None,
    progress: Callable[[TrainProgress], None] | None,
    clean_mask_fn: Callable[[np.ndarray, np.ndarray], np.ndarray] | None,
    t_start: float,
    previous: MatchingModel | PreviousVectors | None = None,
    init: dict | None = None,
) -> MatchingModel:
    """The steps of ``train`` in the order that fixes the draws from ``rng`` and torch's generator.

    ``max_minutes`` bounds the epochs only: its clock starts once the documents are encoded and the views built,
    so a cold embedding cache (MiniLM on a fresh machine) never eats the training time."""
    rng = np.random.default_rng(config.seed)
    if cache is None:  # (an empty cache is falsy: it has __len__)
        cache = EmbeddingCache(get_encoder())
    bars = progress is None and config.show_progress_bars
    log = TrainingLog(progress)
    inputs = _encode(data, config, cache, rng, bars, log)
    if clean_mask_fn is not None:
        pairs = inputs.pairs
        inputs.clean = np.asarray(
            clean_mask_fn(np.stack([pairs.job, pairs.resume], 1), pairs.label), dtype=bool
        )
    views = _build_views(data, config, cache, inputs, log)
    if init is not None:
        _load_weights(views, init)
    compat = build_terms(config, data, inputs.job_sections, inputs.resume_sections, previous)
    deadline = time.monotonic() + 60 * config.max_minutes if config.max_minutes else None
    epochs = EpochRunner(data, config, inputs, views, rng, log, t_start, deadline, compat)
    epochs.run(bars)
    model = _assemble_model(data, config, cache, inputs, views, log.history, epochs.stopped_early)
    if compat is not None:
        model.metrics["compat"] = compat.summary()
    _calibrate(model, data, config, cache, inputs, log)  # before the evaluation: it measures what serves
    _evaluate(model, data, config, inputs, epochs.taken, rng, log, t_start)
    return model


def _calibrate(
    model: MatchingModel,
    data: MatchingData,
    config: TrainConfig,
    cache,
    inputs: TrainingInputs,
    log: TrainingLog,
) -> None:
    """The calibration head (ml/robust): trained after the views, on adversarial examples, with the views frozen.
    Its progress goes to the caller only (the model's history keeps its layout: epochs, then the evaluation);
    its figures are ``metrics["calibration"]``."""
    epochs_run = len([h for h in log.history if h["stage"] == "train"])

    def report(step: str, counts: dict) -> None:
        if log.progress is not None:
            log.progress(TrainProgress("calibrate", epochs_run, config.epochs))

    model.metrics["calibration"] = fit_calibration(
        model, data, config, cache, report, sections=(inputs.job_sections, inputs.resume_sections)
    )


def _encode(
    data: MatchingData,
    config: TrainConfig,
    cache: EmbeddingCache,
    rng: np.random.Generator,
    bars: bool,
    log: TrainingLog,
) -> TrainingInputs:
    """Labelled pairs (with their interaction-edge folds) and the frozen section embeddings of every document."""
    pairs = aggregate_interactions(data)
    if len(pairs.job) == 0:
        raise ValueError("no usable interactions (ids must match data.jobs / data.resumes)")
    pairs.fold = rng.integers(0, max(1, config.n_folds), size=len(pairs.job))
    ej_np = embed_sections(
        data.jobs, cache, progress=bars, share_rows=True
    )  # the cache keeps views, not copies
    er_np = embed_sections(data.resumes, cache, progress=bars, share_rows=True)
    log.report(
        TrainProgress("encode", 0, config.epochs), {"cache_hits": cache.hits, "cache_misses": cache.misses}
    )
    return TrainingInputs(pairs, ej_np, er_np)


def _build_views(
    data: MatchingData, config: TrainConfig, cache: EmbeddingCache, inputs: TrainingInputs, log: TrainingLog
) -> TrainableViews:
    """The relation graph and view, then the text view, the score mix and the history features and heads."""
    pairs = inputs.pairs
    graph = rel = None
    if config.use_relation_view:
        edges = InteractionArrays(pairs.job, pairs.resume, pairs.strength, pairs.label > 0.5, pairs.fold)
        graph = RelationGraph.build(
            data.jobs,
            data.resumes,
            edges,
            inputs.job_sections[:, -1],
            inputs.resume_sections[:, -1],
            cache,
            n_folds=config.n_folds,
            knn=config.knn,
        )
        rel = RelationView(inputs.in_dim, config.hidden, config.gnn_layers, config.dropout)
    log.report(TrainProgress("graph", 0, config.epochs), {"graph_nodes": graph.n_nodes if graph else 0})

    text = TextView(inputs.in_dim, config.hidden, config.dropout) if config.use_text_view else None
    views = TrainableViews(text, rel, graph)
    if text is not None and rel is not None and config.view_mix == "learned":
        views.mix = ScoreMix()
    if config.history_features:
        views.history = HistoryFeatures.build(
            data.jobs,
            data.resumes,
            pairs.job,
            pairs.resume,
            pairs.label > 0.5,
            pairs.fold,
            inputs.job_sections,
            config.n_folds,
        )
        for name, view in (("text", text), ("relation", rel)):
            if view is not None and config.history_views in ("both", name):
                views.heads[name] = HistoryHead(config.hidden)
    return views


WEIGHT_KEYS = ("text_view", "relation_view", "mix", "history_heads")


def warm_start_weights(state: dict) -> dict:
    """The trainable weights of a model state (``MatchingModel.to_state`` or a stored artifact's), for ``init``."""
    return {k: state.get(k) for k in WEIGHT_KEYS}


def _load_weights(views: TrainableViews, init: dict) -> None:
    """Start the views from ``init``'s weights; a module the init lacks (or that does not fit) is an error,
    not a silent random start."""
    modules = {"text_view": views.text, "relation_view": views.relation, "mix": views.mix}
    for key, module in modules.items():
        if module is not None:
            if init.get(key) is None:
                raise ValueError(f"init has no {key} weights for this config")
            module.load_state_dict(init[key])
    for name, head in views.heads.items():
        weights = (init.get("history_heads") or {}).get(name)
        if weights is None:
            raise ValueError(f"init has no {name} history head for this config")
        head.load_state_dict(weights)


def _data_window(data: MatchingData, pairs: LabelledPairs) -> dict:
    """What a model was trained on: sizes, time range, the data's meta."""
    ts = [e.timestamp for e in data.interactions]
    return {
        "n_jobs": len(data.jobs),
        "n_resumes": len(data.resumes),
        "n_interactions": len(data.interactions),
        "n_pairs": len(pairs.job),
        "n_positive_pairs": int((pairs.label > 0.5).sum()),
        "ts_min": float(min(ts)) if ts else None,
        "ts_max": float(max(ts)) if ts else None,
        "meta": to_jsonable(data.meta),
    }


def _assemble_model(
    data: MatchingData,
    config: TrainConfig,
    cache: EmbeddingCache,
    inputs: TrainingInputs,
    views: TrainableViews,
    history: list[dict],
    stopped_early: bool,
) -> MatchingModel:
    """The served model: the trained views in eval mode, the history (``metrics["history"]`` is the live list,
    so the evaluation record still lands in it), the last noise estimate, and the training cache."""
    metrics: dict = {"history": history, "stopped_early": stopped_early}
    last = next((h for h in reversed(history) if "noise_positive" in h), None)
    if last is not None:
        metrics["noise_estimate"] = {k: last.get(k) for k in NOISE_ESTIMATE_KEYS}
    model = MatchingModel(
        config,
        cache.encoder.version,
        views.text,
        views.relation,
        views.graph,
        views.mix,
        _data_window(data, inputs.pairs),
        metrics,
        inputs.in_dim,
        views.history if views.heads else None,
        views.heads,
    )
    model.use_cache(cache)
    return model


def _evaluate(
    model: MatchingModel,
    data: MatchingData,
    config: TrainConfig,
    inputs: TrainingInputs,
    taken: np.ndarray,
    rng: np.random.Generator,
    log: TrainingLog,
    t_start: float,
) -> None:
    """In-sample sanity numbers: AUC of each view on observed + sampled-negative training pairs."""
    pairs = inputs.pairs
    sel = rng.permutation(len(pairs.job))[: config.eval_max_pairs]
    subset = LabelledPairs(
        pairs.job[sel], pairs.resume[sel], pairs.label[sel], pairs.strength[sel], pairs.fold[sel]
    )
    nj_, nr_, _ = sample_resume_negatives(subset, len(data.resumes), 1, rng, taken)
    ev_pairs = np.concatenate([np.stack([pairs.job[sel], pairs.resume[sel]], 1), np.stack([nj_, nr_], 1)])
    ev_y = np.concatenate([pairs.label[sel], np.zeros(len(nj_), np.float32)])
    sc = model.score_pairs(data.jobs, data.resumes, ev_pairs)
    ev = {}
    for name in ("total", "text", "relation"):
        s = getattr(sc, name)
        if not np.isnan(s).any():
            ev[f"train_auc_{name}"] = auc_score(s, ev_y)
    metrics = model.metrics
    metrics.update(ev)
    metrics["train_seconds"] = time.monotonic() - t_start
    n_obs = len(pairs.job)
    metrics["observed_pairs"] = n_obs  # and per epoch (epoch_pair_cap), what an epoch's cost scales with
    metrics["observed_pairs_per_epoch"] = min(n_obs, config.epoch_pair_cap or n_obs)
    if inputs.clean is not None:
        metrics["label_clean_fraction"] = float(inputs.clean.mean())
    epochs_run = len([h for h in log.history if h["stage"] == "train"])
    log.report(TrainProgress("evaluate", epochs_run, config.epochs, ev))
