"""MV-CoN for Tandem: text view + relation view trained side by side with co-teaching.

Public API (stable, used by bench/quality.py and ml/kandij.py):
    TrainConfig, TrainProgress, PairScores, MatchingModel, train(data, config, *, cache, progress, clean_mask_fn)

Method (see /work/shared/design/mvcon.md); departures are marked "DEPARTURE" in comments:
  * Labels. Interactions are aggregated per (job, resume) pair: the latest event decides the label (positive
    kind -> 1, negative kind -> 0); the pair's strength is the max |strength| of events of that polarity.
    Unlabelled pairs are sampled as negatives (``negatives_per_positive`` per observed positive, per epoch).
  * Text view: ml/textview.py. Pointwise BCE + in-batch contrastive loss with softened negatives on the pooled
    vectors (and peer/cross-level section alignment), over the positives the peer kept.
  * Relation view: ml/relation.py. Pointwise BCE + softened contrastive on graph vectors.
  * Co-teaching (Han et al. 2018): per batch, each view ranks the batch's pairs by its own BCE loss and hands
    the OTHER view its R(T) small-loss fraction, R(T) = 1 - forget_rate * min(T / warmup_epochs, 1), T = epoch
    progress (fractional). DEPARTURE: selection is per class (the R(T) fraction is kept among positives and among
    negatives separately), otherwise easy sampled negatives crowd out every positive under a high forget rate.
    DEPARTURE: forget_rate="auto" (default) estimates tau per class after every epoch from the views' own scores
    (``estimate_noise``: how many positives score like uniformly drawn negatives), instead of a hand-set rate;
    a fixed 0.2 cost 0.065 NDCG@10 on clean real data (it dropped the hard positives that rankings need).
  * History features (ml/features.py, ``history_features``): per pair, similarity of the job to the resume's
    training jobs (MiniLM whole/title max+mean cosine, TF-IDF, same company / city / state), to the resume's own
    text and place, a BM25-like TF-IDF query cosine, history size and job degree; computed with the pair's own
    fold's edges left out (as the relation view's graph). A small HistoryHead per view adds a logit term.
    DEPARTURE: on view data with mostly empty resumes this is where the signal is (BM25 over history texts beat
    the network by 10x before it).
  * Job-side negatives (``job_negatives_per_positive``): other jobs for the same resume, half of them from the
    positive job's state, so the model learns to rank jobs for a resume (the benchmark's task), not only
    resumes for a job.
  * Final score: ``view_mix="learned"`` fits sigmoid(a*text_logit + b*relation_logit + c) on the pairs both views
    kept (view logits detached so the mix does not disturb the views); a float w gives w*p_text + (1-w)*p_rel.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .embedding import EmbeddingCache, get_encoder, shared_cache
from .features import HistoryFeatures, HistoryHead
from .metrics import auc as auc_score
from .relation import JOB, RESUME, InteractionArrays, RelationGraph, RelationView
from .textview import (
    JOB_VIEW_SECTIONS,
    N_PEER,
    RESUME_VIEW_SECTIONS,
    TextView,
    embed_sections,
    pair_similarity_features,
    section_alignment_loss,
    similarity_features,
    softened_contrastive,
)
from .types import JobDoc, MatchingData, ResumeDoc


@dataclass
class TrainConfig:
    """Every knob of training. Defaults: ~2 s/epoch at 10k interactions, ~35-50 s/epoch at 100k (2 shared CPU
    cores, embeddings cached); cap big runs with ``max_minutes`` (checked after every batch)."""

    epochs: int = 10
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-4
    hidden: int = 32
    dropout: float = 0.1
    gnn_layers: int = 2
    # tau, about the label-noise rate: a float, or "auto" to estimate it per class from the data after every epoch
    # (``estimate_noise``: positives that score like random jobs); capped at ``max_forget_rate``
    forget_rate: float | str = "auto"
    max_forget_rate: float = 0.5
    noise_quantile: float = (
        0.2  # estimate_noise's bottom share (smaller: less bias from the views' own errors)
    )
    warmup_epochs: int = 2  # T_k
    coteaching: bool = True
    # co-teaching also cleans the INPUTS: after every epoch the tau share of observed positives that both views
    # rank lowest lose their edges in the relation graph and the history features (a view moved to a random job
    # otherwise keeps pulling the applicant's vector and history towards it). Off by default: measured on the
    # real task at 40% moved views it gained +0.007 NDCG@10 (noise), and on the synthetic set it cost 0.01 AUC;
    # the detection is too weak (dropped edges were 37% clean against 55% of all) and dropping clean edges makes
    # their neighbours look noisy in turn.
    clean_edges: bool = False
    select_per_class: bool = True  # see module docstring (DEPARTURE)
    use_text_view: bool = True
    use_relation_view: bool = True
    view_mix: str | float = "learned"  # "learned" or fixed weight of the text view in [0, 1]
    label_smoothing_alpha: float = 0.1  # softened in-batch negatives: targets 1-alpha / alpha/(N-1)
    temperature: float = 0.1
    contrastive_weight: float = 0.3
    section_weight: float = 0.1  # peer/cross-level section alignment (text view)
    negatives_per_positive: int = 2
    n_folds: int = 3  # interaction-edge folds: a batch never sees its own pairs' edges (relation.py)
    knn: int = 5  # content-neighbour edges per node and side
    # relation view in training: each batch runs the R-GCN on its pairs' L-hop computational subgraph only, with
    # at most ``fanout`` sampled neighbours per node and relation; an int for every hop or a list per hop from
    # the batch's nodes down (the last repeats); None: every neighbour (exact, as a full-graph pass)
    fanout: int | list[int] | None = field(default_factory=lambda: [10, 5])
    eval_max_pairs: int = 20000
    seed: int = 0
    max_minutes: float | None = None
    show_progress_bars: bool = False  # tqdm bars when no progress callback is given (CLI)
    # torch intra-op threads in training (None: leave as is). 1 by default: per-batch ops are small, and on the
    # shared 2-core box 2 OpenMP threads made an epoch ~9x SLOWER (spin-waiting against other processes)
    num_threads: int | None = 1
    # history-aware pair features (ml/features.py): similarity of the job to the resume's training jobs (MiniLM,
    # TF-IDF, same company / city / state), the resume's own text and place, history size, job degree; fold
    # masked in training like the relation graph. A small head per view adds a logit term.
    history_features: bool = True
    history_views: str = "both"  # which views get the history head: "both" | "text" | "relation"
    # job-side negatives: per observed positive, this many other jobs for the SAME resume (the ranking task ranks
    # jobs for a resume), ``hard_negative_fraction`` of them from the positive job's state (same-place jobs)
    job_negatives_per_positive: int = 2
    hard_negative_fraction: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class TrainProgress:
    stage: str  # "encode" | "graph" | "train" | "evaluate"
    epoch: int
    epochs: int
    losses: dict[str, float] = field(default_factory=dict)
    kept_fraction: float = 1.0
    clean_kept_fraction: float | None = None  # fraction of kept OBSERVED pairs that are clean (when known)


@dataclass
class PairScores:
    """Per-pair probabilities in [0, 1]; a disabled view's array is NaN."""

    total: np.ndarray
    text: np.ndarray
    relation: np.ndarray

    def __len__(self) -> int:
        return len(self.total)


class ScoreMix(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0, 1.0]))
        self.b = nn.Parameter(torch.zeros(()))

    def forward(self, lt: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
        return self.w[0] * lt + self.w[1] * lr + self.b


def _to_jsonable(x):
    return json.loads(json.dumps(x, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


# ==================================================================================== model
class MatchingModel:
    """A trained matcher. Scores any job/resume pair, including documents unseen in training (cold start).

    Attributes: config, encoder_version, data_window (what it was trained on), metrics (incl. "history").
    Inference is eval-mode, no-grad and deterministic.
    """

    def __init__(
        self,
        config: TrainConfig,
        encoder_version: str,
        text_view: TextView | None,
        relation_view: RelationView | None,
        graph: RelationGraph | None,
        mix: ScoreMix | None,
        data_window: dict,
        metrics: dict,
        in_dim: int,
        history: HistoryFeatures | None = None,
        history_heads: dict[str, HistoryHead] | None = None,
    ):
        self.config = config
        self.history = history
        self.history_heads = dict(history_heads or {})
        self.encoder_version = encoder_version
        self.text_view = text_view
        self.relation_view = relation_view
        self.graph = graph
        self.mix = mix
        self.data_window = data_window
        self.metrics = metrics
        self.in_dim = in_dim
        self._cache: EmbeddingCache | None = None
        self._graph_states: list[torch.Tensor] | None = None
        for m in (text_view, relation_view, mix, *self.history_heads.values()):
            if m is not None:
                m.eval()

    # ------------------------------------------------------------ plumbing
    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            from .embedding import encoder_for_version

            self._cache = shared_cache(encoder_for_version(self.encoder_version))
        return self._cache

    def use_cache(self, cache: EmbeddingCache) -> None:
        if cache.encoder.version != self.encoder_version:
            raise ValueError(
                f"cache encoder {cache.encoder.version!r} != model encoder {self.encoder_version!r}"
            )
        self._cache = cache

    def _states(self) -> list[torch.Tensor]:
        if self._graph_states is None:
            g = self.graph
            with torch.no_grad():
                self._graph_states = self.relation_view.node_states(
                    torch.from_numpy(g.x), torch.from_numpy(g.types), g.relation_adjacency(None)
                )
        return self._graph_states

    def _relation_vectors(self, docs: Sequence[JobDoc | ResumeDoc], whole: np.ndarray) -> torch.Tensor:
        """Graph vectors: the node's state for documents in the graph; cold-start attachment otherwise."""
        states = self._states()
        index = self.graph.index
        node = np.fromiter(
            (index.get(f"{'job' if isinstance(d, JobDoc) else 'resume'}:{d.id}", -1) for d in docs),
            dtype=np.int64,
            count=len(docs),
        )
        known = node >= 0
        out = torch.zeros(len(docs), states[-1].shape[1])
        out[torch.from_numpy(known)] = states[-1][torch.from_numpy(node[known])]
        new_i = np.flatnonzero(~known).tolist()
        if new_i:
            types, adj = self.graph.attach([docs[i] for i in new_i], whole[new_i])
            with torch.no_grad():
                h = self.relation_view.extend(
                    torch.from_numpy(whole[new_i]), torch.from_numpy(types), adj, states
                )
            out[new_i] = h
        return out

    def _doc_reprs(self, docs, is_job: bool):
        e = embed_sections(list(docs), self.cache)
        et = torch.from_numpy(e)
        t = None
        if self.text_view is not None:
            with torch.no_grad():
                t, _ = (self.text_view.job_tower if is_job else self.text_view.resume_tower)(et)
        r = self._relation_vectors(list(docs), e[:, -1]) if self.relation_view is not None else None
        return et, t, r

    # ------------------------------------------------------------ scoring
    def score_pairs(
        self, jobs: Sequence[JobDoc], resumes: Sequence[ResumeDoc], pairs: np.ndarray, *, chunk: int = 8192
    ) -> PairScores:
        """pairs: (m, 2) int indices into jobs / resumes. Returns PairScores(total, text, relation) in [0, 1]."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        m = len(pairs)
        nan = np.full(m, np.nan, dtype=np.float32)
        if m == 0:
            return PairScores(nan.copy(), nan.copy(), nan.copy())
        ej, tj, rj = self._doc_reprs(jobs, True)
        er, tr, rr = self._doc_reprs(resumes, False)
        hf = None
        if self.history is not None and self.history_heads:
            side = self.history.job_side(list(jobs), ej.numpy())
            hf = torch.from_numpy(self.history.pair_features(side, list(resumes), pairs[:, 0], pairs[:, 1]))
        ht, hr = self.history_heads.get("text"), self.history_heads.get("relation")
        sims = pair_similarity_features(ej, er, pairs[:, 0], pairs[:, 1])
        lt_all, lr_all = [], []
        with torch.no_grad():
            for s in range(0, m, chunk):
                pj = torch.from_numpy(pairs[s : s + chunk, 0])
                pr = torch.from_numpy(pairs[s : s + chunk, 1])
                sim = sims[s : s + chunk]
                if self.text_view is not None:
                    lt = self.text_view.head_logit_from_features(tj[pj], tr[pr], sim)
                    lt_all.append(lt + ht(hf[s : s + chunk]) if ht is not None else lt)
                if self.relation_view is not None:
                    lr = self.relation_view.score(rj[pj], rr[pr], sim)
                    lr_all.append(lr + hr(hf[s : s + chunk]) if hr is not None else lr)
        lt = torch.cat(lt_all) if lt_all else None
        lr = torch.cat(lr_all) if lr_all else None
        return self._combine(lt, lr, m)

    def _combine(self, lt, lr, m) -> PairScores:
        nan = np.full(m, np.nan, dtype=np.float32)
        pt = torch.sigmoid(lt).numpy().astype(np.float32) if lt is not None else nan.copy()
        pr = torch.sigmoid(lr).numpy().astype(np.float32) if lr is not None else nan.copy()
        if lt is None:
            total = pr.copy()
        elif lr is None:
            total = pt.copy()
        elif self.config.view_mix == "learned":
            with torch.no_grad():
                total = torch.sigmoid(self.mix(lt, lr)).numpy().astype(np.float32)
        else:
            w = float(self.config.view_mix)
            total = (w * pt + (1 - w) * pr).astype(np.float32)
        return PairScores(total, pt, pr)

    def rank_resumes(self, job: JobDoc, resumes: Sequence[ResumeDoc]) -> PairScores:
        """Scores of one job against each resume (same order as ``resumes``)."""
        pairs = np.stack([np.zeros(len(resumes), dtype=np.int64), np.arange(len(resumes))], 1)
        return self.score_pairs([job], resumes, pairs)

    def rank_jobs(self, resume: ResumeDoc, jobs: Sequence[JobDoc]) -> PairScores:
        """Scores of one resume against each job (same order as ``jobs``)."""
        pairs = np.stack([np.arange(len(jobs)), np.zeros(len(jobs), dtype=np.int64)], 1)
        return self.score_pairs(jobs, [resume], pairs)

    # ------------------------------------------------------------ retrieval / explanations
    def _text_weight(self) -> float:
        if self.text_view is None:
            return 0.0
        if self.relation_view is None:
            return 1.0
        return 0.5 if self.config.view_mix == "learned" else float(self.config.view_mix)

    def _embed(self, docs, is_job: bool) -> np.ndarray:
        _, t, r = self._doc_reprs(list(docs), is_job)
        w = self._text_weight()
        parts = []
        if t is not None:
            parts.append(math.sqrt(w) * F.normalize(t, dim=1))
        if r is not None:
            parts.append(math.sqrt(1 - w) * F.normalize(r, dim=1))
        v = F.normalize(torch.cat(parts, dim=1), dim=1)
        return v.numpy().astype(np.float32)

    def embed_jobs(self, jobs: Sequence[JobDoc]) -> np.ndarray:
        """L2-normalised retrieval vectors; dot(job, resume) = mix of the views' contrastively trained cosines."""
        return self._embed(jobs, True)

    def embed_resumes(self, resumes: Sequence[ResumeDoc]) -> np.ndarray:
        return self._embed(resumes, False)

    @property
    def retrieval_dim(self) -> int:
        return self.config.hidden * ((self.text_view is not None) + (self.relation_view is not None))

    def section_similarities(self, job: JobDoc, resume: ResumeDoc) -> dict[str, float]:
        """Cosine of frozen section embeddings per peer pair, keys like ``"skills:skills"``, plus
        ``"whole:whole"``. An empty section on either side gives 0.0."""
        ej = embed_sections([job], self.cache)[0]
        er = embed_sections([resume], self.cache)[0]
        out = {}
        for s in range(N_PEER + 1):
            out[f"{JOB_VIEW_SECTIONS[s]}:{RESUME_VIEW_SECTIONS[s]}"] = float(ej[s] @ er[s])
        return out

    # ------------------------------------------------------------ (de)serialisation (see artifacts.py)
    def to_state(self) -> dict:
        return {
            "config": _to_jsonable(self.config.to_dict()),
            "encoder_version": self.encoder_version,
            "data_window": _to_jsonable(self.data_window),
            "metrics": _to_jsonable(self.metrics),
            "in_dim": self.in_dim,
            "text_view": self.text_view.state_dict() if self.text_view is not None else None,
            "relation_view": self.relation_view.state_dict() if self.relation_view is not None else None,
            "mix": self.mix.state_dict() if self.mix is not None else None,
            "graph": self.graph.to_state() if self.graph is not None else None,
            "history": self.history.to_state() if self.history is not None else None,
            "history_heads": {k: v.state_dict() for k, v in self.history_heads.items()},
        }

    @classmethod
    def from_state(cls, st: dict) -> MatchingModel:
        """Inverse of ``to_state``. Raises ValueError (with what does not fit) when the stored weights do not
        match the modules this code builds from the stored config (an artifact of another model version)."""
        cfg = TrainConfig.from_dict(st["config"])
        in_dim = int(st["in_dim"])

        def load(name: str, module: nn.Module) -> nn.Module:
            try:
                module.load_state_dict(st[name])
            except (RuntimeError, KeyError, TypeError) as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise ValueError(
                    f"stored {name} weights do not fit this code's model (in_dim={in_dim}, hidden={cfg.hidden}, "
                    f"gnn_layers={cfg.gnn_layers}): {first}; the artifact was written by an incompatible "
                    "model version; retrain"
                ) from e
            return module

        tv = rv = mix = None
        if st["text_view"] is not None:
            tv = load("text_view", TextView(in_dim, cfg.hidden, cfg.dropout))
        if st["relation_view"] is not None:
            rv = load("relation_view", RelationView(in_dim, cfg.hidden, cfg.gnn_layers, cfg.dropout))
        if st["mix"] is not None:
            mix = load("mix", ScoreMix())
        graph = RelationGraph.from_state(st["graph"]) if st["graph"] is not None else None
        history = HistoryFeatures.from_state(st["history"]) if st.get("history") is not None else None
        heads = {}
        for k, sd in (st.get("history_heads") or {}).items():
            heads[k] = HistoryHead(cfg.hidden)
            try:
                heads[k].load_state_dict(sd)
            except RuntimeError as e:
                raise ValueError(
                    f"stored history head {k!r} does not fit this code's model (hidden={cfg.hidden}); the artifact "
                    "was written by an incompatible model version; retrain"
                ) from e
        return cls(
            cfg,
            st["encoder_version"],
            tv,
            rv,
            graph,
            mix,
            st["data_window"],
            st["metrics"],
            in_dim,
            history,
            heads,
        )


# ==================================================================================== training data
@dataclass
class _Pairs:
    job: np.ndarray  # index into data.jobs
    resume: np.ndarray
    label: np.ndarray  # 0/1 float32
    strength: np.ndarray  # |strength|
    fold: np.ndarray


def aggregate_interactions(data: MatchingData) -> _Pairs:
    """One labelled pair per (job, resume): the latest event's polarity decides (see module docstring); ties in
    time go to the event listed last. Interactions that reference unknown documents are ignored. Pairs come
    sorted by (job, resume). Vectorised: one Python pass to read the events, the rest is numpy."""
    ji = {j.id: i for i, j in enumerate(data.jobs)}
    ri = {r.id: i for i, r in enumerate(data.resumes)}
    evs = data.interactions
    n = len(evs)
    jx = np.fromiter((ji.get(e.job_id, -1) for e in evs), dtype=np.int64, count=n)
    rx = np.fromiter((ri.get(e.resume_id, -1) for e in evs), dtype=np.int64, count=n)
    ts = np.fromiter((e.timestamp for e in evs), dtype=np.float64, count=n)
    st = np.fromiter((e.strength for e in evs), dtype=np.float64, count=n)
    ok = (jx >= 0) & (rx >= 0)
    n_res = max(1, len(data.resumes))
    key, ts, st, seq = jx[ok] * n_res + rx[ok], ts[ok], st[ok], np.arange(n)[ok]
    if len(key) == 0:
        z = np.zeros(0, dtype=np.int64)
        return _Pairs(z, z.copy(), np.zeros(0, np.float32), np.zeros(0, np.float32), z.copy())
    o = np.lexsort((seq, ts, key))  # per key: by time, then by position in the log
    ks = key[o]
    last = np.r_[ks[1:] != ks[:-1], True]
    keys = ks[last]
    latest_pos = st[o][last] > 0
    u = np.searchsorted(keys, key)
    best_pos = np.zeros(len(keys))
    best_neg = np.zeros(len(keys))
    p = st > 0
    np.maximum.at(best_pos, u[p], np.abs(st[p]))
    np.maximum.at(best_neg, u[~p], np.abs(st[~p]))
    return _Pairs(
        keys // n_res,
        keys % n_res,
        latest_pos.astype(np.float32),
        np.where(latest_pos, best_pos, best_neg).astype(np.float32),
        np.zeros(len(keys), dtype=np.int64),
    )


def _pair_keys(job: np.ndarray, res: np.ndarray, n_res: int) -> np.ndarray:
    return np.asarray(job, dtype=np.int64) * n_res + np.asarray(res, dtype=np.int64)


def _sample_negatives(pairs: _Pairs, n_res: int, k: int, rng: np.random.Generator, taken: np.ndarray):
    """For each observed positive, k random resumes for the same job that have no interaction with it.
    ``taken``: sorted int64 keys job*n_res + resume of every observed pair."""
    pos = np.flatnonzero(pairs.label > 0.5)
    if k <= 0 or len(pos) == 0 or n_res < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    jobs = np.repeat(pairs.job[pos], k)
    folds = np.repeat(pairs.fold[pos], k)
    res = rng.integers(0, n_res, size=len(jobs))

    def collides(r):
        key = _pair_keys(jobs, r, n_res)
        at = np.minimum(np.searchsorted(taken, key), max(len(taken) - 1, 0))
        return taken[at] == key if len(taken) else np.zeros(len(key), dtype=bool)

    for _ in range(5):  # re-draw collisions with observed pairs
        bad = collides(res)
        if not bad.any():
            break
        res[bad] = rng.integers(0, n_res, size=int(bad.sum()))
    keep = ~collides(res)
    return jobs[keep], res[keep], folds[keep]


def _sample_job_negatives(
    pairs: _Pairs,
    n_jobs: int,
    n_res: int,
    k: int,
    hard_fraction: float,
    job_group: np.ndarray | None,
    rng: np.random.Generator,
    taken: np.ndarray,
):
    """For each observed positive, k other jobs for the same resume with no interaction with it; a
    ``hard_fraction`` share is drawn among jobs of the positive job's group (``job_group``: e.g. state key id per
    job, -1 unknown -> uniform), the rest uniformly among the jobs that have a positive pair (where a mistaken
    view lands: these negatives are also the yardstick of ``estimate_noise``). Returns (jobs, resumes, folds,
    drawn from the group)."""
    pos = np.flatnonzero(pairs.label > 0.5)
    if k <= 0 or len(pos) == 0 or n_jobs < 2:
        z = np.zeros(0, np.int64)
        return z, z.copy(), z.copy(), np.zeros(0, dtype=bool)
    res = np.repeat(pairs.resume[pos], k)
    src = np.repeat(pairs.job[pos], k)
    folds = np.repeat(pairs.fold[pos], k)
    pool = np.unique(pairs.job[pos])
    if len(pool) < 2:
        pool = np.arange(n_jobs)

    def draw(src_jobs):
        out = pool[rng.integers(0, len(pool), size=len(src_jobs))]
        hard = np.zeros(len(src_jobs), dtype=bool)
        if job_group is not None and hard_fraction > 0:
            g = job_group[src_jobs]
            hard = (rng.random(len(src_jobs)) < hard_fraction) & (g >= 0)
            order = np.argsort(job_group, kind="stable")
            sg = job_group[order]
            lo = np.searchsorted(sg, g[hard], "left")
            hi = np.searchsorted(sg, g[hard], "right")
            out[hard] = order[lo + (rng.random(int(hard.sum())) * (hi - lo)).astype(np.int64)]
        return out, hard

    jobs, hard = draw(src)

    def collides(j):
        key = _pair_keys(j, res, n_res)
        at = np.minimum(np.searchsorted(taken, key), max(len(taken) - 1, 0))
        return taken[at] == key if len(taken) else np.zeros(len(key), dtype=bool)

    for _ in range(5):
        bad = collides(jobs)
        if not bad.any():
            break
        jobs[bad] = pool[rng.integers(0, len(pool), size=int(bad.sum()))]
        hard[bad] = False
    keep = ~collides(jobs)
    return jobs[keep], res[keep], folds[keep], hard[keep]


def _select_small_loss(
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


def _data_window(data: MatchingData, pairs: _Pairs) -> dict:
    ts = [e.timestamp for e in data.interactions]
    return {
        "n_jobs": len(data.jobs),
        "n_resumes": len(data.resumes),
        "n_interactions": len(data.interactions),
        "n_pairs": len(pairs.job),
        "n_positive_pairs": int((pairs.label > 0.5).sum()),
        "ts_min": float(min(ts)) if ts else None,
        "ts_max": float(max(ts)) if ts else None,
        "meta": _to_jsonable(data.meta),
    }


_OBSERVED, _RESUME_NEGATIVE, _JOB_NEGATIVE, _HARD_JOB_NEGATIVE = 0, 1, 2, 3


def _after_epoch_noise(config, epoch_logits, all_y, all_kind, all_obs, pairs, graph, hist, clean) -> dict:
    """Estimate the noise from this epoch's scores (the lower of the two views' figures, capped), and, with
    ``clean_edges``, drop from the graph and the history the interaction edges of that share of positives which
    the two views rank lowest on average; the set is chosen afresh each epoch from every observed positive."""
    seen = ~np.isnan(epoch_logits["text"]) & ~np.isnan(epoch_logits["relation"])
    ref_kind = _JOB_NEGATIVE if np.any(seen & (all_kind == _JOB_NEGATIVE)) else _RESUME_NEGATIVE
    rows = np.flatnonzero(seen)
    labels = all_y[rows]
    reference = all_kind[rows] == ref_kind
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
        pos_rows = rows[labels > 0.5]
        rank = np.mean([e.positive_rank for e in ests], axis=0)
        n_drop = int(round(out["forget_rate_positive"] * len(pos_rows)))
        drop = all_obs[pos_rows[np.argsort(rank, kind="stable")[:n_drop]]]
        if graph is not None:
            graph.mask_interactions(pairs.job[drop], pairs.resume[drop])
        if hist is not None:
            hist.mask_edges(pairs.job[drop], pairs.resume[drop])
        out["edges_dropped"] = int(n_drop)
        if clean is not None and n_drop:
            out["dropped_clean_fraction"] = float(clean[drop].mean())
            out["positive_clean_fraction"] = float(clean[all_obs[pos_rows]].mean())
    return out


# ==================================================================================== train
def train(
    data: MatchingData,
    config: TrainConfig,
    *,
    cache: EmbeddingCache | None = None,
    progress: Callable[[TrainProgress], None] | None = None,
    clean_mask_fn: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> MatchingModel:
    """Train MV-CoN on ``data`` (its interactions are the TRAINING interactions: the relation graph is built
    from them only).

    cache: embedding cache (defaults to a fresh in-memory cache over ``get_encoder()``); the model keeps it.
    progress: called after encoding, graph building, each epoch and evaluation.
    clean_mask_fn(pairs (m,2) int [job index, resume index into data.jobs/resumes], labels (m,) 0/1) -> bool (m,):
        when the truth is known (synthetic data), marks which training labels are clean; used to record
        ``clean_kept_fraction`` (kept observed pairs that are clean) next to ``batch_clean_fraction``.
    """
    if not (config.use_text_view or config.use_relation_view):
        raise ValueError("at least one view must be enabled")
    if config.history_views not in ("both", "text", "relation"):
        raise ValueError(f"history_views must be 'both', 'text' or 'relation', not {config.history_views!r}")
    t_start = time.monotonic()
    deadline = t_start + 60 * config.max_minutes if config.max_minutes else None
    torch.manual_seed(config.seed)
    prev_threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    try:
        return _train(data, config, cache, progress, clean_mask_fn, t_start, deadline)
    finally:
        torch.set_num_threads(prev_threads)


def _train(data, config, cache, progress, clean_mask_fn, t_start, deadline) -> MatchingModel:
    rng = np.random.default_rng(config.seed)
    if cache is None:  # (an empty cache is falsy: it has __len__)
        cache = EmbeddingCache(get_encoder())
    bars = progress is None and config.show_progress_bars
    history: list[dict] = []

    def report(p: TrainProgress, extra: dict | None = None):
        rec = {**asdict(p), **(extra or {})}
        history.append(_to_jsonable(rec))
        if progress is not None:
            progress(p)

    # ---- encode
    pairs = aggregate_interactions(data)
    if len(pairs.job) == 0:
        raise ValueError("no usable interactions (ids must match data.jobs / data.resumes)")
    pairs.fold = rng.integers(0, max(1, config.n_folds), size=len(pairs.job))
    ej_np = embed_sections(data.jobs, cache, progress=bars)
    er_np = embed_sections(data.resumes, cache, progress=bars)
    in_dim = ej_np.shape[2]
    EJ, ER = torch.from_numpy(ej_np), torch.from_numpy(er_np)
    report(
        TrainProgress("encode", 0, config.epochs), {"cache_hits": cache.hits, "cache_misses": cache.misses}
    )

    clean = None
    if clean_mask_fn is not None:
        clean = np.asarray(clean_mask_fn(np.stack([pairs.job, pairs.resume], 1), pairs.label), dtype=bool)

    # ---- graph
    graph = rel = None
    if config.use_relation_view:
        edges = InteractionArrays(pairs.job, pairs.resume, pairs.strength, pairs.label > 0.5, pairs.fold)
        graph = RelationGraph.build(
            data.jobs,
            data.resumes,
            edges,
            ej_np[:, -1],
            er_np[:, -1],
            cache,
            n_folds=config.n_folds,
            knn=config.knn,
        )
        X, TYPES = torch.from_numpy(graph.x), torch.from_numpy(graph.types)
        job_node = np.flatnonzero(graph.types == JOB)
        res_node = np.flatnonzero(graph.types == RESUME)
        rel = RelationView(in_dim, config.hidden, config.gnn_layers, config.dropout)
    report(TrainProgress("graph", 0, config.epochs), {"graph_nodes": graph.n_nodes if graph else 0})

    text = TextView(in_dim, config.hidden, config.dropout) if config.use_text_view else None
    both = text is not None and rel is not None
    mix = ScoreMix() if both and config.view_mix == "learned" else None
    hist = None
    heads: dict[str, HistoryHead] = {}
    if config.history_features:
        hist = HistoryFeatures.build(
            data.jobs,
            data.resumes,
            pairs.job,
            pairs.resume,
            pairs.label > 0.5,
            pairs.fold,
            ej_np,
            config.n_folds,
        )
        for name, view in (("text", text), ("relation", rel)):
            if view is not None and config.history_views in ("both", name):
                heads[name] = HistoryHead(config.hidden)
    head_t, head_r = heads.get("text"), heads.get("relation")
    params = [p for m in (text, rel, mix, *heads.values()) if m is not None for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    coteach = config.coteaching and both

    n_res = len(data.resumes)
    taken = np.unique(_pair_keys(pairs.job, pairs.resume, n_res))
    n_obs = len(pairs.job)
    epochs_iter = range(config.epochs)
    if bars:
        from tqdm.auto import tqdm

        epochs_iter = tqdm(epochs_iter, desc="train", unit="epoch")
    stopped_early = False
    job_group = hist.jobs.state if hist is not None else None
    auto_tau = config.forget_rate == "auto"
    if not auto_tau and not 0 <= float(config.forget_rate) < 1:
        raise ValueError(f"forget_rate must be 'auto' or a number in [0, 1), not {config.forget_rate!r}")
    # "auto": no selection in the first epoch (nothing is estimated yet); then the last epoch's estimate
    tau_pos = tau_neg = 0.0 if auto_tau else float(config.forget_rate)
    for epoch in epochs_iter:
        for m in (text, rel, mix, *heads.values()):
            if m is not None:
                m.train()
        nj_, nr_, nf_ = _sample_negatives(pairs, n_res, config.negatives_per_positive, rng, taken)
        kind = np.full(len(nj_), _RESUME_NEGATIVE)
        if config.job_negatives_per_positive > 0:
            jj_, jr_, jf_, jh_ = _sample_job_negatives(
                pairs,
                len(data.jobs),
                n_res,
                config.job_negatives_per_positive,
                config.hard_negative_fraction,
                job_group,
                rng,
                taken,
            )
            nj_, nr_, nf_ = np.concatenate([nj_, jj_]), np.concatenate([nr_, jr_]), np.concatenate([nf_, jf_])
            kind = np.concatenate([kind, np.where(jh_, _HARD_JOB_NEGATIVE, _JOB_NEGATIVE)])
        all_j = np.concatenate([pairs.job, nj_])
        all_r = np.concatenate([pairs.resume, nr_])
        all_y = np.concatenate([pairs.label, np.zeros(len(nj_), np.float32)])
        all_f = np.concatenate([pairs.fold, nf_])
        all_obs = np.concatenate([np.arange(n_obs), np.full(len(nj_), -1)])  # observed pair index or -1
        all_kind = np.concatenate([np.full(n_obs, _OBSERVED), kind])
        epoch_logits = {name: np.full(len(all_y), np.nan, np.float32) for name in ("text", "relation")}
        HF = None
        if heads:
            # each pair sees the history WITHOUT its own fold's edges (features.py: no own-edge leakage)
            hf_np = hist.pair_features(hist.jobs, data.resumes, all_j, all_r, all_f)
            if epoch == 0:
                for h in heads.values():
                    h.set_stats(hf_np)
            HF = torch.from_numpy(hf_np)
        batches = []
        for f in range(max(1, config.n_folds)):
            idx = rng.permutation(np.flatnonzero(all_f == f))
            batches += [idx[s : s + config.batch_size] for s in range(0, len(idx), config.batch_size)]
        order = rng.permutation(len(batches))
        sums: dict[str, float] = {}
        kept_sum, kept_n = 0.0, 0
        clean_kept, clean_batch = [], []
        for bi, b in enumerate(order):
            idx = batches[b]
            if len(idx) < 2:
                continue
            T = epoch + bi / max(1, len(batches))
            ramp = min(T / max(config.warmup_epochs, 1e-9), 1.0) if coteach else 0.0
            keep, keep_neg = 1.0 - tau_pos * ramp, 1.0 - tau_neg * ramp
            y = torch.from_numpy(all_y[idx])
            bj = torch.from_numpy(all_j[idx])
            br = torch.from_numpy(all_r[idx])
            fold = int(all_f[idx[0]])
            losses = {}
            lt = lr_ = None
            if text is not None:
                out_t = text(EJ[bj], ER[br])
                lt = out_t["logit"]
                if head_t is not None:
                    lt = lt + head_t(HF[idx])
                bce_t = F.binary_cross_entropy_with_logits(lt, y, reduction="none")
            if rel is not None:
                # the batch's computational subgraph, on the graph without this fold's interaction edges
                jn, rn = job_node[all_j[idx]], res_node[all_r[idx]]
                targets = np.unique(np.concatenate([jn, rn]))
                nodes, blocks = graph.sampler(fold).blocks(targets, config.gnn_layers, config.fanout, rng)
                h_out = rel.sampled_states(X, TYPES, nodes, blocks)
                hj = h_out[torch.from_numpy(np.searchsorted(targets, jn))]
                hr = h_out[torch.from_numpy(np.searchsorted(targets, rn))]
                lr_ = rel.score(hj, hr, similarity_features(EJ[bj], ER[br]))
                if head_r is not None:
                    lr_ = lr_ + head_r(HF[idx])
                bce_r = F.binary_cross_entropy_with_logits(lr_, y, reduction="none")
            # co-teaching: each view picks small-loss pairs FOR THE OTHER view
            if lt is not None:
                epoch_logits["text"][idx] = lt.detach().numpy()
            if lr_ is not None:
                epoch_logits["relation"][idx] = lr_.detach().numpy()
            if coteach:
                for_rel = _select_small_loss(bce_t.detach(), y, keep, config.select_per_class, keep_neg)
                for_text = _select_small_loss(bce_r.detach(), y, keep, config.select_per_class, keep_neg)
            else:
                for_rel = for_text = torch.arange(len(idx))
            total = torch.zeros(())
            if text is not None:
                sel = for_text
                l_bce = bce_t[sel].mean()
                pos = sel[y[sel] > 0.5]
                l_con = softened_contrastive(
                    out_t["j"][pos], out_t["r"][pos], config.label_smoothing_alpha, config.temperature
                )
                sub = {k: v[pos] for k, v in out_t.items() if k != "logit"}
                l_sec = section_alignment_loss(
                    sub, EJ[bj[pos]], ER[br[pos]], config.label_smoothing_alpha, config.temperature
                )
                total = total + l_bce + config.contrastive_weight * l_con + config.section_weight * l_sec
                losses.update(
                    text_bce=l_bce.item(), text_contrastive=l_con.item(), text_sections=l_sec.item()
                )
            if rel is not None:
                sel = for_rel
                l_bce = bce_r[sel].mean()
                pos = sel[y[sel] > 0.5]
                l_con = softened_contrastive(
                    hj[pos], hr[pos], config.label_smoothing_alpha, config.temperature
                )
                total = total + l_bce + config.contrastive_weight * l_con
                losses.update(relation_bce=l_bce.item(), relation_contrastive=l_con.item())
            if mix is not None:
                both_sel = torch.from_numpy(np.intersect1d(for_text.numpy(), for_rel.numpy()))
                if len(both_sel) == 0:
                    both_sel = torch.arange(len(idx))
                l_mix = F.binary_cross_entropy_with_logits(
                    mix(lt.detach()[both_sel], lr_.detach()[both_sel]), y[both_sel]
                )
                total = total + l_mix
                losses["mix_bce"] = l_mix.item()
            opt.zero_grad()
            total.backward()
            nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            kept_sum += 0.5 * (len(for_text) + len(for_rel)) / len(idx)
            kept_n += 1
            if clean is not None:
                obs = all_obs[idx]
                is_obs = obs >= 0
                if is_obs.any():
                    clean_batch.append(float(clean[obs[is_obs]].mean()))
                    fr = []
                    for sel in (for_text, for_rel):
                        so = obs[sel.numpy()]
                        so = so[so >= 0]
                        if len(so):
                            fr.append(float(clean[so].mean()))
                    if fr:
                        clean_kept.append(float(np.mean(fr)))
            if deadline is not None and time.monotonic() > deadline:
                stopped_early = True
                break
        avg = {k: v / max(kept_n, 1) for k, v in sums.items()}
        noise_extra: dict = {}
        if coteach:
            noise_extra = _after_epoch_noise(
                config, epoch_logits, all_y, all_kind, all_obs, pairs, graph, hist, clean
            )
            if auto_tau:
                tau_pos, tau_neg = noise_extra["forget_rate_positive"], noise_extra["forget_rate_negative"]
        p = TrainProgress(
            "train",
            epoch + 1,
            config.epochs,
            avg,
            kept_sum / max(kept_n, 1),
            float(np.mean(clean_kept)) if clean_kept else None,
        )
        report(
            p,
            {
                "batch_clean_fraction": float(np.mean(clean_batch)) if clean_batch else None,
                "seconds": time.monotonic() - t_start,
                **noise_extra,
            },
        )
        if stopped_early:
            break

    metrics: dict = {"history": history, "stopped_early": stopped_early}
    last = next((h for h in reversed(history) if "noise_positive" in h), None)
    if last is not None:
        metrics["noise_estimate"] = {
            k: last.get(k)
            for k in (
                "noise_positive",
                "noise_negative",
                "forget_rate_positive",
                "forget_rate_negative",
                "edges_dropped",
            )
        }
    model = MatchingModel(
        config,
        cache.encoder.version,
        text,
        rel,
        graph,
        mix,
        _data_window(data, pairs),
        metrics,
        in_dim,
        hist if heads else None,
        heads,
    )
    model._cache = cache
    # ---- evaluate (in-sample sanity numbers: AUC of each view on observed + sampled-negative training pairs)
    sel = rng.permutation(n_obs)[: config.eval_max_pairs]
    nj_, nr_, _ = _sample_negatives(
        _Pairs(pairs.job[sel], pairs.resume[sel], pairs.label[sel], pairs.strength[sel], pairs.fold[sel]),
        n_res,
        1,
        rng,
        taken,
    )
    ev_pairs = np.concatenate([np.stack([pairs.job[sel], pairs.resume[sel]], 1), np.stack([nj_, nr_], 1)])
    ev_y = np.concatenate([pairs.label[sel], np.zeros(len(nj_), np.float32)])
    sc = model.score_pairs(data.jobs, data.resumes, ev_pairs)
    ev = {}
    for name in ("total", "text", "relation"):
        s = getattr(sc, name)
        if not np.isnan(s).any():
            ev[f"train_auc_{name}"] = auc_score(s, ev_y)
    metrics.update(ev)
    metrics["train_seconds"] = time.monotonic() - t_start
    if clean is not None:
        metrics["label_clean_fraction"] = float(clean.mean())
    report(TrainProgress("evaluate", len([h for h in history if h["stage"] == "train"]), config.epochs, ev))
    return model
