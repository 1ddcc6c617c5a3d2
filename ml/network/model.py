"""The trained matcher: scores, ranks and embeds any job/resume pair, and (de)serialises itself for artifacts."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..embedding import EmbeddingCache, encoder_for_version, shared_cache
from ..features import HistoryFeatures, HistoryHead
from ..relation.graph import RelationGraph
from ..relation.model import RelationView
from ..robust.calibration import CalibrationHead
from ..robust.selectivity import selective_events
from ..textview import (
    JOB_VIEW_SECTIONS,
    N_PEER,
    N_SECTIONS,
    RESUME_VIEW_SECTIONS,
    TextView,
    embed_sections,
    pair_similarity_features,
)
from ..types import InteractionEvent, JobDoc, ResumeDoc
from .config import TrainConfig
from .doccache import DocCache
from .fresh import FreshInteractions

Events = Sequence[InteractionEvent] | None


@dataclass
class PairScores:
    """Per-pair probabilities in [0, 1]; a disabled view's array is NaN."""

    total: np.ndarray
    text: np.ndarray
    relation: np.ndarray

    def __len__(self) -> int:
        return len(self.total)


class ScoreMix(nn.Module):
    """The learned final score: a*text_logit + b*relation_logit + c (``view_mix="learned"``)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0, 1.0]))
        self.b = nn.Parameter(torch.zeros(()))

    def forward(self, lt: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
        return self.w[0] * lt + self.w[1] * lr + self.b


def to_jsonable(x):
    """``x`` as plain JSON values (numpy/torch scalars become numbers, anything else unknown its text), so that
    metrics and the data window survive json and the artifact's ``weights_only`` load."""
    return json.loads(json.dumps(x, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


class MatchingModel:
    """A trained matcher. Scores any job/resume pair, including documents unseen in training (cold start).

    Attributes: config, encoder_version, data_window (what it was trained on), metrics (incl. "history").
    Inference is eval-mode, no-grad and deterministic.

    ``interactions`` (every scoring and embedding method): events newer than the model of the documents
    passed; a document they mention gets its graph vector and history features from the trained graph plus
    its pairs' events (``ml/network/fresh.py``: semantics, negative kinds, unknown documents). None or an empty
    list: exactly the trained state. A document with no text is then represented by its interactions.

    ``doc_cache`` keeps each document's query-independent parts (section embeddings, tower output, history job
    side) across calls, bit for bit what a call computes (``ml/network/doccache.py``); assign
    ``DocCache(max_docs)`` to resize it, ``DocCache(0)`` to turn it off.
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
        # calibration head over resume section embeddings (ml/robust/calibration.py), None: uncalibrated
        self.calibration: CalibrationHead | None = None
        self._graph_states: list[torch.Tensor] | None = None
        # per-document representations across calls (bounded LRU; replace it to resize, DocCache(0) turns it off)
        self.doc_cache = DocCache()
        self._towers64: dict[bool, torch.nn.Module] = {}  # float64 copies of the text towers (_tower_rows)
        for m in (text_view, relation_view, mix, *self.history_heads.values()):
            if m is not None:
                m.eval()

    # ------------------------------------------------------------ plumbing
    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            self._cache = shared_cache(encoder_for_version(self.encoder_version))
        return self._cache

    def use_cache(self, cache: EmbeddingCache) -> None:
        if cache.encoder.version != self.encoder_version:
            raise ValueError(
                f"cache encoder {cache.encoder.version!r} != model encoder {self.encoder_version!r}"
            )
        self._cache = cache
        self.doc_cache.clear()  # its section rows came from the previous cache

    def set_calibration(self, head: CalibrationHead | None) -> None:
        """Serve resumes through ``head`` (or uncalibrated with None) from now on."""
        self.calibration = head
        self.doc_cache.clear()  # its resume rows were computed without this head

    def resume_sections(self, resumes: Sequence[ResumeDoc], *, block: int = 4096) -> np.ndarray:
        """The resumes' section embeddings as every scoring and embedding path reads them (calibrated), ``block``
        resumes at a time into one array: calibrating 100k at once held ~1.8 GB of copies (a retrain's held-out
        evaluation and its distillation teacher ask for every resume). Same bits whatever the block."""
        resumes = list(resumes)
        if self.calibration is None or len(resumes) <= block:
            e = embed_sections(resumes, self.cache)
            return self.calibration.calibrate(e) if self.calibration is not None else e
        out = np.empty((len(resumes), N_SECTIONS, self.in_dim), np.float32)
        for a in range(0, len(resumes), block):
            out[a : a + block] = self.calibration.calibrate(
                embed_sections(resumes[a : a + block], self.cache)
            )
        return out

    def _states(self) -> list[torch.Tensor]:
        if self._graph_states is None:
            g = self.graph
            with torch.no_grad():
                self._graph_states = self.relation_view.node_states_in_chunks(
                    torch.from_numpy(g.x), torch.from_numpy(g.types), g.adjacency_rows()
                )
        return self._graph_states

    def _relation_vectors(
        self, docs: Sequence[JobDoc | ResumeDoc], whole: np.ndarray, fresh: FreshInteractions | None = None
    ) -> torch.Tensor:
        """Graph vectors: the node's state for documents in the graph; cold-start attachment otherwise; documents
        whose interaction edges ``fresh`` changes are re-attached with them."""
        states = self._states()
        index = self.graph.index
        node = np.fromiter(
            (index.get(f"{'job' if isinstance(d, JobDoc) else 'resume'}:{d.id}", -1) for d in docs),
            dtype=np.int64,
            count=len(docs),
        )
        redo, h_redo = np.zeros(0, np.int64), None
        if fresh is not None and docs:
            redo, h_redo = fresh.relation_update(self.graph, self.relation_view, states, docs, whole, node)
        keep = np.ones(len(docs), bool)
        keep[redo] = False
        known = (node >= 0) & keep
        out = torch.zeros(len(docs), states[-1].shape[1])
        out[torch.from_numpy(known)] = states[-1][torch.from_numpy(node[known])]
        new_i = np.flatnonzero((node < 0) & keep).tolist()
        if new_i:
            types, adj = self.graph.attach([docs[i] for i in new_i], whole[new_i])
            with torch.no_grad():
                h = self.relation_view.extend(
                    torch.from_numpy(whole[new_i]), torch.from_numpy(types), adj, states
                )
            out[new_i] = h
        if h_redo is not None:
            out[torch.from_numpy(redo)] = h_redo
        return out

    def _doc_reprs(self, docs, is_job: bool, fresh: FreshInteractions | None = None, *, side: bool = False):
        """(sections, tower output, graph vectors, history job side if ``side``) of the documents; the
        per-document parts come from ``doc_cache`` (ml/network/doccache.py), the graph vectors are computed."""
        docs = list(docs)
        tower = None
        if self.text_view is not None:
            tower = self.text_view.job_tower if is_job else self.text_view.resume_tower

        def base(batch):
            e = embed_sections(batch, self.cache) if is_job else self.resume_sections(batch)
            if tower is None:
                return e, None
            return e, self._tower_rows(is_job, e)

        job_side = self.history.job_side if side else None
        n_terms = len(self.history.tfidf.idf) if side else 0
        d = self.doc_cache.reprs(docs, base, job_side, n_terms)
        r = self._relation_vectors(docs, d.sections[:, -1], fresh) if self.relation_view is not None else None
        return torch.from_numpy(d.sections), d.tower, r, d.side

    def _tower_rows(self, is_job: bool, e: np.ndarray) -> torch.Tensor:
        """The text tower's output per document, the same bits whatever the batch around it: computed in float64
        and rounded to float32. In float32, MKL's sgemm on AVX-512 takes other kernels for a single row and for
        a batch's tail rows, so a document ranked alone and the same one among 32 differed in the last bit and
        the document cache's rows differed from an uncached call's."""
        towers = self._towers64
        if is_job not in towers:
            tower = self.text_view.job_tower if is_job else self.text_view.resume_tower
            towers[is_job] = copy.deepcopy(tower).double().eval()
        tower = towers[is_job]
        with torch.no_grad():  # 2,048 rows at a time: 35k resumes' sections in float64 held ~1 GB at once
            return torch.cat(
                [
                    tower(torch.from_numpy(e[a : a + 2048]).double())[0].float()
                    for a in range(0, max(len(e), 1), 2048)
                ]
            )

    def _fresh(self, interactions: Events) -> FreshInteractions | None:
        """The events applied at serving time, without an indiscriminate applier's own signals (as in training:
        ml/robust/selectivity.py)."""
        if not interactions:
            return FreshInteractions.of(interactions)
        cfg = self.config
        n_jobs = int(self.data_window.get("n_jobs") or 0)
        kept = selective_events(
            interactions, n_jobs, max_share=cfg.max_apply_share, min_jobs=cfg.max_apply_min
        )
        return FreshInteractions.of(kept)

    # ------------------------------------------------------------ scoring
    def score_pairs(
        self,
        jobs: Sequence[JobDoc],
        resumes: Sequence[ResumeDoc],
        pairs: np.ndarray,
        *,
        chunk: int = 8192,
        interactions: Events = None,
    ) -> PairScores:
        """pairs: (m, 2) int indices into jobs / resumes. Returns PairScores(total, text, relation) in [0, 1].
        interactions: the current events of (some of) these documents (see the class docstring)."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        m = len(pairs)
        nan = np.full(m, np.nan, dtype=np.float32)
        if m == 0:
            return PairScores(nan.copy(), nan.copy(), nan.copy())
        # only the documents the pairs name, in their order: calibration scored 24 resumes' pairs against the
        # whole platform's lists and built every one of 100k resumes' representations (~2 GB at 1M interactions)
        used_jobs, pj = np.unique(pairs[:, 0], return_inverse=True)
        used_resumes, pr = np.unique(pairs[:, 1], return_inverse=True)
        jobs = [jobs[i] for i in used_jobs] if len(used_jobs) < len(jobs) else jobs
        resumes = [resumes[i] for i in used_resumes] if len(used_resumes) < len(resumes) else resumes
        pairs = np.stack([pj.reshape(-1), pr.reshape(-1)], 1)
        fresh = self._fresh(interactions)
        use_history = self.history is not None and bool(self.history_heads)
        ej, tj, rj, side = self._doc_reprs(jobs, True, fresh, side=use_history)
        er, tr, rr, _ = self._doc_reprs(resumes, False, fresh)
        hf = None
        if use_history:
            fh = fresh.history(self.history, jobs, resumes) if fresh is not None else None
            hf = self.history.pair_features(side, list(resumes), pairs[:, 0], pairs[:, 1], fresh=fh)
            hf = torch.from_numpy(hf)
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

    def rank_resumes(
        self, job: JobDoc, resumes: Sequence[ResumeDoc], *, interactions: Events = None
    ) -> PairScores:
        """Scores of one job against each resume (same order as ``resumes``)."""
        pairs = np.stack([np.zeros(len(resumes), dtype=np.int64), np.arange(len(resumes))], 1)
        return self.score_pairs([job], resumes, pairs, interactions=interactions)

    def rank_jobs(
        self, resume: ResumeDoc, jobs: Sequence[JobDoc], *, interactions: Events = None
    ) -> PairScores:
        """Scores of one resume against each job (same order as ``jobs``); ``interactions``: typically the
        resume's current events (they also update the jobs they mention)."""
        pairs = np.stack([np.arange(len(jobs)), np.zeros(len(jobs), dtype=np.int64)], 1)
        return self.score_pairs(jobs, [resume], pairs, interactions=interactions)

    # ------------------------------------------------------------ retrieval / explanations
    def _text_weight(self) -> float:
        if self.text_view is None:
            return 0.0
        if self.relation_view is None:
            return 1.0
        return 0.5 if self.config.view_mix == "learned" else float(self.config.view_mix)

    def _embed(self, docs, is_job: bool, interactions: Events) -> np.ndarray:
        _, t, r, _ = self._doc_reprs(list(docs), is_job, self._fresh(interactions))
        w = self._text_weight()
        parts = []
        if t is not None:
            parts.append(math.sqrt(w) * F.normalize(t, dim=1))
        if r is not None:
            parts.append(math.sqrt(1 - w) * F.normalize(r, dim=1))
        v = F.normalize(torch.cat(parts, dim=1), dim=1)
        return v.numpy().astype(np.float32)

    def embed_jobs(self, jobs: Sequence[JobDoc], *, interactions: Events = None) -> np.ndarray:
        """L2-normalised retrieval vectors; dot(job, resume) = mix of the views' contrastively trained cosines.
        A document without text has a zero text part: its vector is then its graph vector."""
        return self._embed(jobs, True, interactions)

    def embed_resumes(self, resumes: Sequence[ResumeDoc], *, interactions: Events = None) -> np.ndarray:
        return self._embed(resumes, False, interactions)

    @property
    def retrieval_dim(self) -> int:
        return self.config.hidden * ((self.text_view is not None) + (self.relation_view is not None))

    def section_similarities(self, job: JobDoc, resume: ResumeDoc) -> dict[str, float]:
        """Cosine of frozen section embeddings per peer pair, keys like ``"skills:skills"``, plus
        ``"whole:whole"``. An empty section on either side gives 0.0."""
        return self.section_similarities_many(job, [resume])[0]

    def section_similarities_many(self, job: JobDoc, resumes: Sequence[ResumeDoc]) -> list[dict[str, float]]:
        """``section_similarities`` of one job against many resumes, calibrated in one batch (the same values:
        ``calibrate`` gives a resume the same bits in any batch)."""
        if not resumes:
            return []
        ej = embed_sections([job], self.cache)[0]
        ers = self.resume_sections(list(resumes))
        names = [f"{JOB_VIEW_SECTIONS[s]}:{RESUME_VIEW_SECTIONS[s]}" for s in range(N_PEER + 1)]
        sims = np.einsum("sd,bsd->bs", ej[: N_PEER + 1], ers[:, : N_PEER + 1])
        return [{name: float(row[s]) for s, name in enumerate(names)} for row in sims]

    # ------------------------------------------------------------ (de)serialisation (see artifacts.py)
    def to_state(self) -> dict:
        return {
            "config": to_jsonable(self.config.to_dict()),
            "encoder_version": self.encoder_version,
            "data_window": to_jsonable(self.data_window),
            "metrics": to_jsonable(self.metrics),
            "in_dim": self.in_dim,
            "text_view": self.text_view.state_dict() if self.text_view is not None else None,
            "relation_view": self.relation_view.state_dict() if self.relation_view is not None else None,
            "mix": self.mix.state_dict() if self.mix is not None else None,
            "graph": self.graph.to_state() if self.graph is not None else None,
            "history": self.history.to_state() if self.history is not None else None,
            "history_heads": {k: v.state_dict() for k, v in self.history_heads.items()},
            "calibration": self.calibration.to_state() if self.calibration is not None else None,
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
        model = cls(
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
        if st.get("calibration") is not None:
            try:
                model.set_calibration(CalibrationHead.from_state(st["calibration"]))
            except (RuntimeError, KeyError, TypeError) as e:
                raise ValueError(f"stored calibration head does not fit this code's model: {e}") from e
        return model
