"""Interactions newer than the model, applied at serving time (``MatchingModel``'s ``interactions=`` keyword).

Between retrains a candidate's new apply, shortlist or reject must change their query vector and their next
ranking at once. ``FreshInteractions`` aggregates a call's events per (job, resume) pair exactly as training
does (``sampling.latest_per_pair``: the latest event's polarity decides; the strength is the largest |strength|
of that polarity), and applies them to the documents of the call they mention (as ``job_id`` or ``resume_id``):

  * relation view: the pairs' edges replace the trained graph's edges of the same pairs, typed and weighted as
    in training (positive kinds ``<-x+``, negative kinds ``<-x-``, weight |strength|); the document's other
    trained edges stay. A document whose edges change is re-attached like a cold-start node: a trained node
    keeps its stored features and content/skill/place/neighbour edges and gets the new interaction edges; a
    document the graph does not know attaches through its text (``RelationGraph.attach``) plus the interaction
    edges, or, without text, through what it interacted with positively (``_node_content``). Messages flow
    into the re-attached node only: the other nodes keep their trained states.
  * history features: the resume's history is its positive pairs after the replacement (a pair whose latest
    event is negative leaves it, as in training), and a job's degree counts its positive pairs likewise.

Events whose other side the model does not know (a job or resume created after training) add no graph edge
and no history job: there is no trained node or stored job to take them from. Pairs the events do not mention
keep their trained state, so the events may be a document's whole current log or only what happened since
training; a pair is only ever replaced by its own events. Documents whose pairs come out unchanged (the events
repeat what training saw) keep today's path exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from ..features import FreshHistory, HistoryFeatures
from ..relation.adjacency import relation_adjacency
from ..relation.graph import RelationGraph
from ..relation.model import RelationView
from ..relation.schema import INTERACTION_RELATIONS, JOB, REL, RESUME
from ..types import InteractionEvent, JobDoc, ResumeDoc
from .sampling import latest_per_pair

SIDES = ("job", "resume")


def _ranges(start: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start[i], start[i] + cnt[i])``."""
    return np.repeat(start - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))


class FreshInteractions:
    """A call's events, aggregated to one labelled pair per (job id, resume id)."""

    def __init__(self, events: Sequence[InteractionEvent]):
        codes: dict[str, dict[str, int]] = {"job": {}, "resume": {}}
        n = len(events)
        jc, rc = codes["job"], codes["resume"]
        jx = np.fromiter((jc.setdefault(e.job_id, len(jc)) for e in events), dtype=np.int64, count=n)
        rx = np.fromiter((rc.setdefault(e.resume_id, len(rc)) for e in events), dtype=np.int64, count=n)
        ts = np.fromiter((e.timestamp for e in events), dtype=np.float64, count=n)
        st = np.fromiter((e.strength for e in events), dtype=np.float64, count=n)
        p = latest_per_pair(jx, rx, ts, st, np.arange(n), max(1, len(rc)))
        self.codes = codes
        self.ids = {side: list(codes[side]) for side in SIDES}
        self.code = {"job": p.job, "resume": p.resume}  # per pair, the document's code on each side
        self.positive = p.label > 0.5
        self.strength = p.strength.astype(np.float64)
        self._groups = {}
        for side in SIDES:
            c = self.code[side]
            ptr = np.zeros(len(codes[side]) + 1, np.int64)
            np.cumsum(np.bincount(c, minlength=len(codes[side])), out=ptr[1:])
            self._groups[side] = (np.argsort(c, kind="stable"), ptr)

    @classmethod
    def of(cls, events: Sequence[InteractionEvent] | None) -> FreshInteractions | None:
        """None for no events (the call then takes exactly the path it takes without the keyword)."""
        events = list(events) if events is not None else []
        return cls(events) if events else None

    def pairs_of(self, side: str, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``ids``, pair index) of every pair of these documents (a repeated id repeats)."""
        code = self.codes[side]
        c = np.fromiter((code.get(i, -1) for i in ids), dtype=np.int64, count=len(ids))
        pos = np.flatnonzero(c >= 0)
        order, ptr = self._groups[side]
        cnt = ptr[c[pos] + 1] - ptr[c[pos]]
        return np.repeat(pos, cnt), order[_ranges(ptr[c[pos]], cnt)]

    def lookup(self, side: str, pair: np.ndarray, index: dict[str, int], prefix: str = "") -> np.ndarray:
        """Per pair, ``index[prefix + id]`` of its ``side`` document (-1 where absent)."""
        ids = self.ids[side]
        u, inv = np.unique(self.code[side][pair], return_inverse=True)
        hit = np.fromiter((index.get(prefix + ids[k], -1) for k in u), dtype=np.int64, count=len(u))
        return hit[inv].reshape(-1)

    # ------------------------------------------------------------------ relation view
    def relation_update(
        self,
        graph: RelationGraph,
        view: RelationView,
        states: list[torch.Tensor],
        docs: Sequence[JobDoc | ResumeDoc],
        whole: np.ndarray,
        node: np.ndarray,
    ) -> tuple[np.ndarray, torch.Tensor | None]:
        """(positions among ``docs``, their graph vectors) of the documents whose interaction edges the events
        change; ``docs`` are all jobs or all resumes, ``whole`` their frozen whole-document embeddings, ``node``
        their trained node (-1: none)."""
        rows, edges = _changed(graph, self._new_edges(graph, docs), node)
        if len(rows) == 0:
            return rows, None
        x, content = _node_content(graph, docs, whole, node, rows, edges)
        e = np.concatenate([edges, content])
        e[:, 0] = np.searchsorted(rows, e[:, 0].astype(np.int64))
        types = np.full(len(rows), JOB if isinstance(docs[0], JobDoc) else RESUME, np.int64)
        adj = relation_adjacency(e, len(rows), graph.n_nodes)
        with torch.no_grad():
            h = view.extend(torch.from_numpy(x), torch.from_numpy(types), adj, states)
        return rows, h

    def _new_edges(self, graph: RelationGraph, docs: Sequence[JobDoc | ResumeDoc]) -> np.ndarray:
        """(m, 5) interaction edges into the documents (row = position in ``docs``) from the trained nodes of
        their pairs' other sides, typed and weighted as ``RelationGraph.build`` types training pairs."""
        side, other = ("job", "resume") if docs and isinstance(docs[0], JobDoc) else ("resume", "job")
        rows, pair = self.pairs_of(side, [d.id for d in docs])
        col = self.lookup(other, pair, graph.index, f"{other}:")
        ok = col >= 0
        rows, pair, col = rows[ok], pair[ok], col[ok]
        rel = np.where(self.positive[pair], REL[f"{side}<-{other}+"], REL[f"{side}<-{other}-"])
        return np.stack([rows, col, rel, self.strength[pair], np.full(len(rows), -1)], 1).astype(np.float64)

    # ------------------------------------------------------------------ history features
    def history(
        self, h: HistoryFeatures, jobs: Sequence[JobDoc], resumes: Sequence[ResumeDoc]
    ) -> FreshHistory | None:
        """The resumes' histories and the jobs' degrees that the events change; None when none changes."""
        jobs_of: dict[str, np.ndarray] = {}
        ids = list(dict.fromkeys(r.id for r in resumes))
        rows, pair = self.pairs_of("resume", ids)
        job = self.lookup("job", pair, h.job_index)
        ok = job >= 0
        rows, job, pos = rows[ok], job[ok], self.positive[pair[ok]]
        bounds = np.searchsorted(rows, np.arange(len(ids) + 1))  # pairs_of returns rows grouped, ascending
        for i in np.unique(rows):
            s = h.resume_index.get(ids[i], -1)
            stored = h.edge_job[h.ptr[s] : h.ptr[s + 1]] if s >= 0 else np.zeros(0, np.int64)
            mj, mp = job[bounds[i] : bounds[i + 1]], pos[bounds[i] : bounds[i + 1]]
            merged = np.union1d(stored[~np.isin(stored, mj)], mj[mp])
            if not np.array_equal(merged, np.unique(stored)):
                jobs_of[ids[i]] = merged
        delta = self._degree_delta(h, jobs)
        if not jobs_of and not delta.any():
            return None
        return FreshHistory(jobs_of, delta)

    def _degree_delta(self, h: HistoryFeatures, jobs: Sequence[JobDoc]) -> np.ndarray:
        """Per stored job, positive pairs after the events minus before, for the jobs of the call."""
        n_jobs = len(h.job_ids)
        _, pair = self.pairs_of("job", list(dict.fromkeys(j.id for j in jobs)))
        job = self.lookup("job", pair, h.job_index)
        res = self.lookup("resume", pair, h.resume_index)
        ok = job >= 0
        job, res, now = job[ok], res[ok], self.positive[pair[ok]]
        key = res * max(n_jobs, 1) + job  # stored edges are sorted by (resume, job): so are their keys
        stored_key = h.edge_res * max(n_jobs, 1) + h.edge_job
        at = np.minimum(np.searchsorted(stored_key, key), max(len(stored_key) - 1, 0))
        before = (res >= 0) & (stored_key[at] == key) if len(stored_key) else np.zeros(len(key), bool)
        return np.bincount(job, weights=now.astype(np.float64) - before, minlength=n_jobs)


def _changed(graph: RelationGraph, new: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows whose interaction edges ``new`` changes (a new pair, or a pair whose kind or strength differs
    from its trained edge), and their in-edges: the trained ones (trained nodes) less the pairs ``new``
    replaces, plus ``new``'s (rows: positions in the call)."""
    n = graph.n_nodes
    cand = np.unique(new[:, 0]).astype(np.int64)
    known = cand[node[cand] >= 0]
    old = graph.in_edges(node[known])
    old[:, 0] = known[old[:, 0].astype(np.int64)]
    inter = np.isin(old[:, 2], INTERACTION_RELATIONS)
    new_key = new[:, 0].astype(np.int64) * n + new[:, 1].astype(np.int64)
    old_key = old[:, 0].astype(np.int64) * n + old[:, 1].astype(np.int64)
    same = np.zeros(len(new), bool)
    oi = np.flatnonzero(inter)[np.argsort(old_key[inter], kind="stable")]
    if len(oi):  # a trained node has at most one interaction edge per pair
        at = oi[np.minimum(np.searchsorted(old_key[oi], new_key), len(oi) - 1)]
        same = (old_key[at] == new_key) & (old[at, 2] == new[:, 2]) & (old[at, 3] == new[:, 3])
    rows = np.unique(new[~same, 0]).astype(np.int64)
    kept = old[np.isin(old[:, 0], rows) & ~(inter & np.isin(old_key, new_key))]
    return rows, np.concatenate([kept, new[np.isin(new[:, 0], rows)]])


def _node_content(graph, docs, whole, node, rows, edges) -> tuple[np.ndarray, np.ndarray]:
    """Node features of the re-attached rows and the content edges of those the graph does not know.

    A trained node keeps its stored features (its content edges are among ``edges``). A new document attaches
    through its text (``RelationGraph.attach_edges``); one WITHOUT text (zero embedding) takes as features the
    |strength|-weighted mean of the frozen features of the nodes it interacted with positively, and attaches
    to their content neighbours: a zero vector has no neighbours, and a model that never saw a text-less node
    in training gives it a vector unrelated to its interactions."""
    x = whole[rows].astype(np.float32)
    trained = node[rows] >= 0
    x[trained] = graph.x[node[rows[trained]]]
    cold = np.flatnonzero(~trained)
    blank = cold[~x[cold].any(1)]
    if len(blank):
        pos = edges[np.isin(edges[:, 2], [REL["job<-resume+"], REL["resume<-job+"]])]
        at = np.searchsorted(rows[blank], pos[:, 0].astype(np.int64))
        ok = (at < len(blank)) & (rows[blank][np.minimum(at, len(blank) - 1)] == pos[:, 0])
        w = sp.csr_matrix(
            (pos[ok, 3], (at[ok], pos[ok, 1].astype(np.int64))), shape=(len(blank), graph.n_nodes)
        )
        acc = np.asarray(w @ graph.x, dtype=np.float32)
        norm = np.linalg.norm(acc, axis=1, keepdims=True)
        x[blank] = np.where(norm > 0, acc / np.maximum(norm, 1e-12), 0.0)
    if len(cold) == 0:
        return x, np.zeros((0, 5))
    _, content = graph.attach_edges([docs[i] for i in rows[cold]], x[cold])
    content[:, 0] = rows[cold][content[:, 0].astype(np.int64)]
    return x, content
