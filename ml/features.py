"""History-aware pair features: how much a job resembles the resume's interaction HISTORY (its training jobs).

On sparse job-view data most resumes are empty and the applicant's signal is the jobs they already viewed; the
next job is usually in the same city/state, often at the same company, with a similar title. These features
measure that, lexically exact where it matters (company and city names are exact tokens):

  per kernel k in (MiniLM whole cosine, MiniLM title cosine, TF-IDF cosine, same company, same city+state,
  same state): max and mean of k(job, h) over the resume's history jobs h;
  TF-IDF cosine between the job and the resume's own text; same city+state / same state as the resume's own
  location; TF-IDF cosine between the job and the query "resume text + history jobs' texts" (what BM25 sees);
  log1p(history size), has-history, log1p(job degree in the training graph).

History = the resume's POSITIVE training pairs. Leakage: a training pair of fold f is featurised with the history
WITHOUT fold-f edges (the same fold masking as the relation view), so a positive never sees its own edge; the
job degree likewise leaves fold f out. Serving (fold None) uses every training edge. Documents unseen in
training get an empty history (resume) or degree 0 (job); the job side needs only its text. Interactions
newer than the model replace those parts per document (``FreshHistory``, built in ``ml/network/fresh.py``).

Everything is vectorised numpy/scipy: pairs are grouped by (resume, fold) query, each pair's kernels are computed
on its own (job, history job) cells only, and reduced per pair with ``np.maximum.reduceat``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from .tfidf import Tfidf, _l2_rows, tokens  # noqa: F401 (tokens: part of this module's API)
from .types import JobDoc, ResumeDoc

FEATURE_NAMES = (
    "cos_whole_max", "cos_whole_mean", "cos_title_max", "cos_title_mean", "tfidf_max", "tfidf_mean",
    "company_any", "company_frac", "place_any", "place_frac", "state_any", "state_frac",
    "own_tfidf", "own_place", "own_state", "query_tfidf", "log_history", "has_history", "log_degree",
)  # fmt: skip
N_HISTORY_FEATURES = len(FEATURE_NAMES)
# ``pair_features`` computes its kernel cells (pair x history job) in blocks of this many: the per-cell gathers of
# MiniLM rows stay ~25 MB, and on an epoch's pairs at 1/10 of bench/training_scale.py's platform 8k cells a block
# ran 2.4 s against 2.8 s at 32k and 3.2 s at 128k (the earlier chunks of whole query blocks: 20 s).
CELLS_PER_BLOCK = 8192
_N_KERNELS = 6


def _norm(s: str) -> str:
    return " ".join(s.lower().replace(".", "").split())


def place_keys(location: str) -> tuple[str, str]:
    """("city, state" normalised, state) of a "City, State" location string ("" when missing)."""
    loc = _norm(location)
    if not loc:
        return "", ""
    parts = [p.strip() for p in loc.split(",") if p.strip()]
    return ", ".join(parts), parts[-1] if parts else ""


class JobSide:
    """What the features need of a set of jobs: MiniLM whole/title vectors, place/company keys, TF-IDF rows."""

    def __init__(self, whole, title, company, place, state, tfidf, degree_index):
        self.whole, self.title = whole, title  # (n, d) float32, L2-normalised or zero
        self.company, self.place, self.state = company, place, state  # (n,) int64 key ids, -1 unknown
        self.tfidf = tfidf  # csr (n, V)
        self.degree_index = degree_index  # (n,) index into the stored training jobs, -1 not there


@dataclass
class FreshHistory:
    """Serving-time histories: per resume id its positive history jobs (indices into the stored jobs), used
    instead of the stored one; per stored job the change of its positive degree."""

    jobs_of: dict[str, np.ndarray]
    degree_delta: np.ndarray


@dataclass
class _ResumeSide:
    """The distinct resumes of a set of pairs (``inverse``: per pair, its position among them)."""

    inverse: np.ndarray
    stored: np.ndarray  # index among the training resumes, -1 unseen (empty history)
    tfidf: sp.csr_matrix  # own text
    place: np.ndarray  # own city key, -1 unknown
    state: np.ndarray
    fresh: list  # per resume, its FreshHistory jobs or None (the stored history)


@dataclass
class _Queries:
    """Distinct (resume, fold) pairs, each with its history jobs (CSR: ``history_jobs[hptr[q]:hptr[q+1]]``)."""

    inverse: np.ndarray  # per pair, its query
    resume: np.ndarray  # per query, its position among the distinct resumes
    history_jobs: np.ndarray
    hptr: np.ndarray
    n_hist: np.ndarray


class HistoryFeatures:
    """Stored with the model: the training jobs' side, each training resume's history edges (with folds)."""

    def __init__(self):
        self.keys: dict[str, int] = {}
        self.job_ids: list[str] = []
        self.job_index: dict[str, int] = {}
        self.resume_index: dict[str, int] = {}
        self.tfidf: Tfidf | None = None
        self.jobs: JobSide | None = None
        self.edge_res = np.zeros(0, np.int64)  # sorted by resume
        self.edge_job = np.zeros(0, np.int64)
        self.edge_fold = np.zeros(0, np.int64)
        self.ptr = np.zeros(1, np.int64)
        self.n_folds = 1
        self._texts: list[str] = []
        self._meta: list[tuple[str, str]] = []
        self._all_edges: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # while some are masked

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        jobs: Sequence[JobDoc],
        resumes: Sequence[ResumeDoc],
        job: np.ndarray,
        resume: np.ndarray,
        positive: np.ndarray,
        fold: np.ndarray,
        job_sections: np.ndarray,
        n_folds: int,
    ) -> HistoryFeatures:
        """job/resume/positive/fold: the TRAINING pairs (indices into jobs/resumes). job_sections: (n_jobs, S, d)
        frozen section embeddings (textview.embed_sections: title first, whole last)."""
        h = cls()
        h.n_folds = n_folds
        h.job_ids = [j.id for j in jobs]
        h.job_index = {k: i for i, k in enumerate(h.job_ids)}
        h.resume_index = {r.id: i for i, r in enumerate(resumes)}
        h._texts = [j.full_text() for j in jobs]
        h._meta = [(j.company, j.location) for j in jobs]
        h.tfidf = Tfidf.fit(h._texts)
        h.jobs = h.job_side(jobs, job_sections)
        pos = np.asarray(positive, dtype=bool)
        r, j, f = (np.asarray(a, dtype=np.int64)[pos] for a in (resume, job, fold))
        o = np.lexsort((j, r))
        h.edge_res, h.edge_job, h.edge_fold = r[o], j[o], f[o]
        h.ptr = np.zeros(len(resumes) + 1, np.int64)
        np.cumsum(np.bincount(h.edge_res, minlength=len(resumes)), out=h.ptr[1:])
        return h

    def mask_edges(self, job: np.ndarray, resume: np.ndarray) -> None:
        """Leave these (job, resume) pairs out of every history (indices into the build's jobs/resumes); the
        previous mask is replaced, so empty arrays restore every edge (co-teaching's rejected pairs)."""
        if self._all_edges is None:
            self._all_edges = (self.edge_res, self.edge_job, self.edge_fold)
        r, j, f = self._all_edges
        n = max(len(self.job_ids), 1)
        drop = np.isin(r * n + j, np.asarray(resume, np.int64) * n + np.asarray(job, np.int64))
        self.edge_res, self.edge_job, self.edge_fold = r[~drop], j[~drop], f[~drop]
        self.ptr = np.zeros(len(self.resume_index) + 1, np.int64)
        np.cumsum(np.bincount(self.edge_res, minlength=len(self.resume_index)), out=self.ptr[1:])

    def _key(self, s: str, grow: bool) -> int:
        if not s:
            return -1
        k = self.keys.get(s)
        if k is None:
            if not grow:
                return -1
            k = self.keys[s] = len(self.keys)
        return k

    def job_side(
        self, jobs: Sequence[JobDoc], sections: np.ndarray, texts: list[str] | None = None
    ) -> JobSide:
        grow = self.jobs is None  # keys are assigned while building; unseen keys never match later
        comp = np.array([self._key(_norm(j.company), grow) for j in jobs], dtype=np.int64)
        places = [place_keys(j.location) for j in jobs]
        place = np.array([self._key("p:" + p if p else "", grow) for p, _ in places], dtype=np.int64)
        state = np.array([self._key("s:" + s if s else "", grow) for _, s in places], dtype=np.int64)
        tf = self.tfidf.transform(texts if texts is not None else [j.full_text() for j in jobs])
        deg = np.array([self.job_index.get(j.id, -1) for j in jobs], dtype=np.int64)
        sec = np.asarray(sections, dtype=np.float32)
        return JobSide(sec[:, -1].copy(), sec[:, 0].copy(), comp, place, state, tf, deg)

    # ------------------------------------------------------------------ features
    def _degree(self, stored_job: np.ndarray, fold: np.ndarray) -> np.ndarray:
        """Positive training degree of stored jobs (-1: 0), without the fold's edges (fold -1: all)."""
        nj = len(self.job_ids)
        folds = max(self.n_folds, 1)
        table = np.zeros((folds + 1, nj), np.float64)
        table[0] = np.bincount(self.edge_job, minlength=nj)
        for f in range(folds):
            table[f + 1] = table[0] - np.bincount(self.edge_job[self.edge_fold == f], minlength=nj)
        ok = stored_job >= 0
        out = np.zeros(len(stored_job))
        out[ok] = table[np.where(fold[ok] >= 0, fold[ok] + 1, 0), stored_job[ok]]
        return out

    def pair_features(
        self,
        jobs: JobSide,
        resume_docs: Sequence[ResumeDoc],
        pj: np.ndarray,
        pr: np.ndarray,
        fold: np.ndarray | None = None,
        *,
        max_cells: int = CELLS_PER_BLOCK,
        fresh: FreshHistory | None = None,
        resume_tfidf: sp.csr_matrix | None = None,
    ) -> np.ndarray:
        """(m, N_HISTORY_FEATURES) float32 for pairs (pj into ``jobs``, pr into ``resume_docs``). ``fold``: per
        pair, the training fold whose edges the pair must not see (-1 or None: serving, every edge). ``fresh``
        (serving only): histories and job degrees from interactions newer than the model. ``resume_tfidf``:
        ``resume_tfidf_rows(resume_docs)``, when the caller asks for the same resumes again and again (training's
        epochs: tokenising ~60k resume texts cost ~10 s of every 1M-interaction epoch)."""
        pj = np.asarray(pj, np.int64)
        pr = np.asarray(pr, np.int64)
        m = len(pj)
        out = np.zeros((m, N_HISTORY_FEATURES), np.float32)
        if m == 0:
            return out
        fold = np.full(m, -1, np.int64) if fold is None else np.asarray(fold, np.int64)
        res = self._resume_side(resume_docs, pr, fresh, resume_tfidf)
        q = self._queries(res, fold)
        # per-pair scalars
        out[:, 13] = (jobs.place[pj] >= 0) & (jobs.place[pj] == res.place[res.inverse])
        out[:, 14] = (jobs.state[pj] >= 0) & (jobs.state[pj] == res.state[res.inverse])
        out[:, 16] = np.log1p(q.n_hist[q.inverse])
        out[:, 17] = q.n_hist[q.inverse] > 0
        deg = self._degree(jobs.degree_index[pj], fold)
        if fresh is not None:
            deg = deg + np.where(jobs.degree_index[pj] >= 0, fresh.degree_delta[jobs.degree_index[pj]], 0.0)
        out[:, 18] = np.log1p(deg)
        self._history_kernels(jobs, pj, res, q, max_cells, out)
        return out

    def resume_tfidf_rows(self, resume_docs: Sequence[ResumeDoc]) -> sp.csr_matrix:
        """Every resume's own-text TF-IDF row, for ``pair_features(resume_tfidf=...)``."""
        return self.tfidf.transform([d.full_text() for d in resume_docs])

    def _resume_side(
        self, resume_docs: Sequence[ResumeDoc], pr: np.ndarray, fresh=None, resume_tfidf=None
    ) -> _ResumeSide:
        """The pairs' distinct resumes: stored index (-1: unseen, empty history), own text and place."""
        ur, r_inv = np.unique(pr, return_inverse=True)
        docs = [resume_docs[i] for i in ur]
        stored = np.array([self.resume_index.get(d.id, -1) for d in docs], np.int64)
        if resume_tfidf is not None:
            own_tf = resume_tfidf[ur]
        else:
            own_tf = self.tfidf.transform([d.full_text() for d in docs])
        own_places = [place_keys(d.location) for d in docs]
        own_place = np.array([self._key("p:" + p if p else "", False) for p, _ in own_places], np.int64)
        own_state = np.array([self._key("s:" + s if s else "", False) for _, s in own_places], np.int64)
        own = [fresh.jobs_of.get(d.id) if fresh is not None else None for d in docs]
        return _ResumeSide(r_inv, stored, own_tf, own_place, own_state, own)

    def _queries(self, res: _ResumeSide, fold: np.ndarray) -> _Queries:
        """Distinct (resume, fold) queries and each one's history: the stored resume's edges not in that fold."""
        qkey = res.inverse.astype(np.int64) * (self.n_folds + 2) + (fold + 1)
        uq, q_inv = np.unique(qkey, return_inverse=True)
        q_r = uq // (self.n_folds + 2)  # index into the distinct resumes
        q_f = uq % (self.n_folds + 2) - 1
        hq, hj = [], []
        sr = res.stored[q_r]
        for qi in range(len(uq)):
            s, js = sr[qi], res.fresh[q_r[qi]]
            if js is None and s < 0:
                continue
            if js is None:
                a, b = self.ptr[s], self.ptr[s + 1]
                js = self.edge_job[a:b]
                if q_f[qi] >= 0:
                    js = js[self.edge_fold[a:b] != q_f[qi]]
            hq.append(np.full(len(js), qi, np.int64))
            hj.append(js)
        hq = np.concatenate(hq) if hq else np.zeros(0, np.int64)
        hj = np.concatenate(hj) if hj else np.zeros(0, np.int64)
        n_hist = np.bincount(hq, minlength=len(uq))
        hptr = np.zeros(len(uq) + 1, np.int64)
        np.cumsum(n_hist, out=hptr[1:])
        return _Queries(q_inv, q_r, hj, hptr, n_hist)

    def _history_kernels(self, jobs, pj, res: _ResumeSide, q: _Queries, max_cells: int, out) -> None:
        """The text features (own text, BM25-like query) and the kernel features per (pair, history job) cell, in
        blocks of pairs of about ``max_cells`` cells (a pair without history counts one). Only the cells a pair
        reads are computed: the earlier chunks of queries computed every (distinct job x history job) cell of a
        chunk, ~30x more at 1/10 of bench/training_scale.py's platform, and most of an epoch's feature time."""
        n_h = q.n_hist[q.inverse]  # cells per pair
        cptr = np.zeros(len(pj) + 1, np.int64)
        np.cumsum(n_h + 1, out=cptr[1:])
        p0 = 0
        while p0 < len(pj):
            p1 = max(p0 + 1, int(np.searchsorted(cptr, cptr[p0] + max_cells, side="right")) - 1)
            block = np.arange(p0, min(p1, len(pj)))
            self._text_features(jobs, pj, res, q, block, out)
            self._cells(jobs, pj, q, block, n_h, out)
            p0 = p1

    def _text_features(self, jobs, pj, res: _ResumeSide, q: _Queries, pairs: np.ndarray, out) -> None:
        """TF-IDF cosine of each pair's job with the resume's own text and with the query "own text + history
        jobs' texts" (what BM25 sees), for ``pairs``."""
        uq, q_of_pair = np.unique(q.inverse[pairs], return_inverse=True)
        cnt = q.n_hist[uq]
        hist = q.history_jobs[_ranges(q.hptr[uq], cnt)]
        qm = sp.csr_matrix(
            (np.ones(len(hist), np.float32), (np.repeat(np.arange(len(uq)), cnt), np.arange(len(hist)))),
            shape=(len(uq), len(hist)),
        )
        own = res.tfidf[q.resume[uq]]
        query = _l2_rows(own + qm @ self.jobs.tfidf[hist]) if len(hist) else own
        out[pairs, 12] = _row_dots(jobs.tfidf, pj[pairs], res.tfidf, res.inverse[pairs])
        out[pairs, 15] = _row_dots(jobs.tfidf, pj[pairs], query, q_of_pair)

    def _cells(self, jobs, pj, q: _Queries, pairs: np.ndarray, n_h: np.ndarray, out) -> None:
        """Max and mean of each kernel over the history jobs of each of ``pairs`` (with a history)."""
        pairs = pairs[n_h[pairs] > 0]
        if len(pairs) == 0:
            return
        cnt = n_h[pairs]
        starts = np.zeros(len(pairs), np.int64)
        np.cumsum(cnt[:-1], out=starts[1:])
        ch = q.history_jobs[_ranges(q.hptr[q.inverse[pairs]], cnt)]  # stored history job per cell
        cj = np.repeat(pj[pairs], cnt)  # the pair's job per cell
        H = self.jobs
        kernels = [
            np.einsum("ij,ij->i", jobs.whole[cj], H.whole[ch]),
            np.einsum("ij,ij->i", jobs.title[cj], H.title[ch]),
            _row_dots(jobs.tfidf, cj, H.tfidf, ch),
        ]
        for a, b in (
            (jobs.company[cj], H.company[ch]),
            (jobs.place[cj], H.place[ch]),
            (jobs.state[cj], H.state[ch]),
        ):
            kernels.append(((a == b) & (a >= 0)).astype(np.float32))
        for k, K in enumerate(kernels):
            col = 2 * k  # FEATURE_NAMES: (max, mean) per kernel in this order
            out[pairs, col] = np.maximum.reduceat(K, starts)
            out[pairs, col + 1] = np.add.reduceat(K, starts) / cnt

    # ------------------------------------------------------------------ (de)serialisation
    def to_state(self) -> dict:
        return {
            "job_ids": list(self.job_ids),
            "texts": list(self._texts),
            "meta": [list(x) for x in self._meta],
            "resume_ids": sorted(self.resume_index, key=self.resume_index.get),
            "whole": torch.from_numpy(self.jobs.whole),
            "title": torch.from_numpy(self.jobs.title),
            "edges": torch.from_numpy(np.stack([self.edge_res, self.edge_job, self.edge_fold], 1)),
            "n_folds": self.n_folds,
        }

    @classmethod
    def from_state(cls, st: dict) -> HistoryFeatures:
        h = cls()
        h.n_folds = int(st["n_folds"])
        h.job_ids = list(st["job_ids"])
        h.job_index = {k: i for i, k in enumerate(h.job_ids)}
        h.resume_index = {k: i for i, k in enumerate(st["resume_ids"])}
        h._texts = list(st["texts"])
        h._meta = [tuple(x) for x in st["meta"]]
        h.tfidf = Tfidf.fit(h._texts)
        docs = [
            JobDoc(id=i, title="", company=c, location=loc)
            for i, (c, loc) in zip(h.job_ids, h._meta, strict=True)
        ]
        whole = st["whole"].numpy().astype(np.float32)
        sec = np.stack([st["title"].numpy().astype(np.float32), whole], 1)
        h.jobs = h.job_side(docs, sec, h._texts)
        e = st["edges"].numpy().astype(np.int64).reshape(-1, 3)
        h.edge_res, h.edge_job, h.edge_fold = e[:, 0], e[:, 1], e[:, 2]
        h.ptr = np.zeros(len(h.resume_index) + 1, np.int64)
        np.cumsum(np.bincount(h.edge_res, minlength=len(h.resume_index)), out=h.ptr[1:])
        return h


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(s, s + c)`` for each (s, c)."""
    counts = np.asarray(counts, np.int64)
    first = np.zeros(len(counts), np.int64)
    np.cumsum(counts[:-1], out=first[1:])
    return np.repeat(np.asarray(starts, np.int64) - first, counts) + np.arange(int(counts.sum()))


def _row_dots(a: sp.csr_matrix, ia: np.ndarray, b: sp.csr_matrix, ib: np.ndarray) -> np.ndarray:
    """``a[ia[k]] . b[ib[k]]`` for every k (float32), each distinct (row, row) pair computed once. Rows are
    put in column order first, so a row's dot sums in one order whatever order its terms were stored in (the
    document cache's rows keep theirs): the same bits on the cached and the uncached path."""
    if len(ia) == 0:
        return np.zeros(0, np.float32)
    key = np.asarray(ia, np.int64) * b.shape[0] + np.asarray(ib, np.int64)
    uk, inv = np.unique(key, return_inverse=True)
    left, right = a[uk // b.shape[0]], b[uk % b.shape[0]]
    left.sort_indices()
    right.sort_indices()
    dots = left.multiply(right).sum(axis=1)
    return np.asarray(dots, np.float32).ravel()[inv]


class HistoryHead(nn.Module):
    """Standardised history features -> a logit term: small MLP plus a linear skip (added to a view's logit)."""

    def __init__(self, hidden: int, n_features: int = N_HISTORY_FEATURES):
        super().__init__()
        self.register_buffer("mu", torch.zeros(n_features))
        self.register_buffer("sd", torch.ones(n_features))
        self.lin = nn.Linear(n_features, 1)
        self.mlp = nn.Sequential(nn.Linear(n_features, hidden), nn.GELU(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def set_stats(self, x: np.ndarray) -> None:
        x = np.asarray(x, np.float64)
        self.mu.copy_(torch.from_numpy(x.mean(0).astype(np.float32)))
        self.sd.copy_(torch.from_numpy(np.maximum(x.std(0), 1e-3).astype(np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.mu) / self.sd
        return (self.lin(z) + self.mlp(z)).squeeze(-1)
