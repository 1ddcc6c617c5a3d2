"""Peers that use where a job is and who it is for, the strongest plain signal of the kandij views.

- PlaceHistory: how many of the applicant's training jobs share the candidate's city, state or company (plus the
  resume's own place and the job's popularity), a weighted sum.
- FieldBM25: BM25 per job field (title, company, city, state, whole text), each field queried with the same field
  of the applicant's training jobs (and the matching part of the resume), summed with per-field weights.

Both are ``ComponentPeer``s: a few per-pair components mixed by weights chosen by coordinate ascent on the
validation split's NDCG@10 (carved from training; the test cases are never read).
"""

from __future__ import annotations

import numpy as np

from bench._protocol import Split, build_cases, validation_split
from bench.peers.classic import Peer, Tokenizer
from ml.features import place_keys


def _norm(s: str) -> str:
    return " ".join(s.lower().replace(".", "").split())


class _Keys:
    """String keys -> dense ids (-1 for an empty key)."""

    def __init__(self):
        self.ids: dict[str, int] = {}

    def __call__(self, s: str) -> int:
        if not s:
            return -1
        return self.ids.setdefault(s, len(self.ids))

    def __len__(self) -> int:
        return len(self.ids)


_DISCOUNT = np.concatenate(
    [[0.0], 1.0 / np.log2(np.arange(2, 12)), np.zeros(1)]
)  # position p -> gain at p <= 10
_CUMULATIVE = np.cumsum(_DISCOUNT)


def validation_ndcg(components: list[np.ndarray], positions: list[int], weights: np.ndarray) -> float:
    """Mean NDCG@10 of ``weights @ components`` over the cases (exact under random tie-breaking: the mean gain
    over the positions greater+1 .. greater+ties+1, as ``metrics_from_counts`` computes it)."""
    greater = np.zeros(len(components), dtype=np.int64)
    ties = np.zeros(len(components), dtype=np.int64)
    for n, (comp, pos) in enumerate(zip(components, positions, strict=True)):
        s = weights @ comp
        greater[n] = np.count_nonzero(s > s[pos])
        ties[n] = np.count_nonzero(s == s[pos]) - 1
    lo = np.minimum(greater, 11)
    hi = np.minimum(greater + ties + 1, 11)
    return float(np.mean((_CUMULATIVE[hi] - _CUMULATIVE[lo]) / (ties + 1))) if len(components) else 0.0


def coordinate_ascent(
    components: list[np.ndarray], positions: list[int], start: np.ndarray, grid, sweeps: int = 2
) -> tuple[np.ndarray, float]:
    """Weights that maximise validation NDCG@10, one component at a time over ``grid`` (``sweeps`` passes)."""
    w = np.asarray(start, dtype=np.float32).copy()
    best = validation_ndcg(components, positions, w)
    for _ in range(sweeps):
        improved = False
        for k in range(len(w)):
            for v in grid:
                if v == w[k]:
                    continue
                trial = w.copy()
                trial[k] = v
                if not trial.any():
                    continue
                score = validation_ndcg(components, positions, trial)
                if score > best + 1e-9:
                    best, w, improved = score, trial, True
        if not improved:
            break
    return w, best


class ComponentPeer(Peer):
    """score = weights @ components(r, cands); weights tuned on the validation split (or the defaults)."""

    COMPONENTS: tuple[str, ...] = ()
    DEFAULT: tuple[float, ...] = ()
    GRID: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)

    def __init__(self, weights: tuple[float, ...] | None = None):
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float32)
        self.tuned: dict = {}

    def prepare(self, split: Split) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def components(self, r: int, cands: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def fit(self, split: Split, *, tune: bool = True) -> None:
        val_ndcg = None
        if self.weights is None:
            if tune:
                val = validation_split(split)
                self.prepare(val)
                cases = build_cases(val)
                comps = [self.components(r, c).astype(np.float32) for r, c, _ in cases]
                self.weights, val_ndcg = coordinate_ascent(
                    comps, [p for _, _, p in cases], np.asarray(self.DEFAULT), self.GRID
                )
            else:
                self.weights = np.asarray(self.DEFAULT, dtype=np.float32)
        self.tuned = {name: float(w) for name, w in zip(self.COMPONENTS, self.weights, strict=True)}
        if val_ndcg is not None:
            self.tuned["validation_ndcg@10"] = round(val_ndcg, 4)
        self.prepare(split)

    def score(self, r: int, cands: np.ndarray) -> np.ndarray:
        return self.weights.astype(np.float64) @ self.components(r, cands).astype(np.float64)


# ------------------------------------------------------------------------------------------------ place history
class PlaceHistory(ComponentPeer):
    """Counts of the applicant's training jobs in the candidate's city, state and at its company; the resume's
    own city/state match; log popularity. Default weights: the plain three-way count (1, 1, 1, 0, 0, 0)."""

    name = "place-and-company history"
    COMPONENTS = ("same_city", "same_state", "same_company", "own_city", "own_state", "log_popularity")
    DEFAULT = (1.0, 1.0, 1.0, 0.0, 0.0, 0.0)

    def prepare(self, split: Split) -> None:
        keys = _Keys()
        places = [place_keys(j.location) for j in split.data.jobs]
        self.job_keys = np.array(
            [
                [
                    keys("p:" + p if p else ""),
                    keys("s:" + s if s else ""),
                    keys("c:" + _norm(j.company) if j.company.strip() else ""),
                ]
                for (p, s), j in zip(places, split.data.jobs, strict=True)
            ],
            dtype=np.int64,
        ).reshape(-1, 3)
        own = [place_keys(r.location) for r in split.data.resumes]
        self.own_keys = np.array(
            [
                [keys.ids.get("p:" + p, -1) if p else -1, keys.ids.get("s:" + s, -1) if s else -1]
                for p, s in own
            ],
            dtype=np.int64,
        ).reshape(-1, 2)
        self.n_keys = max(len(keys), 1)
        pop = np.zeros(split.n_jobs)
        for jobs in split.history.values():
            pop[np.asarray(jobs, dtype=np.int64)] += 1.0
        self.log_pop = np.log1p(pop)
        self.history = split.history

    def components(self, r: int, cands: np.ndarray) -> np.ndarray:
        out = np.zeros((len(self.COMPONENTS), len(cands)), dtype=np.float64)
        cand_keys = self.job_keys[cands]
        hist = np.asarray(self.history.get(r, []), dtype=np.int64)
        if len(hist):
            hk = self.job_keys[hist].ravel()
            counts = np.bincount(hk[hk >= 0], minlength=self.n_keys)
            for k in range(3):
                ck = cand_keys[:, k]
                out[k] = np.where(ck >= 0, counts[np.maximum(ck, 0)], 0)
        for k in range(2):
            mine = self.own_keys[r, k]
            out[3 + k] = (cand_keys[:, k] == mine) & (mine >= 0)
        out[5] = self.log_pop[cands]
        return out


# ------------------------------------------------------------------------------------------------ field BM25
JOB_FIELDS = ("title", "company", "city", "state", "text")


def job_fields(job) -> dict[str, str]:
    city, state = place_keys(job.location)
    return {
        "title": job.title,
        "company": job.company,
        "city": city.rsplit(",", 1)[0] if "," in city else city,
        "state": state,
        "text": job.full_text(),
    }


def resume_fields(resume) -> dict[str, str]:
    """What of the resume queries each job field (the company field: the work history, which names employers)."""
    city, state = place_keys(resume.location)
    return {
        "title": " ".join([resume.headline, *resume.experience]),
        "company": " ".join(resume.experience),
        "city": city.rsplit(",", 1)[0] if "," in city else city,
        "state": state,
        "text": resume.full_text(),
    }


class FieldBM25(ComponentPeer):
    """BM25 (bm25s, k1 1.5, b 0.75) per job field; each field's query = that field of every training job of the
    applicant (repeats count) + the matching part of the resume. Field weights tuned on validation."""

    name = "BM25, field weights (bm25s)"
    COMPONENTS = JOB_FIELDS
    DEFAULT = (1.0, 1.0, 1.0, 1.0, 1.0)

    def prepare(self, split: Split) -> None:
        import bm25s

        tok = Tokenizer()
        per_job = [job_fields(j) for j in split.data.jobs]
        job_tokens = {f: [tok(d[f]) for d in per_job] for f in JOB_FIELDS}
        self.retrievers = {}
        for f in JOB_FIELDS:
            retriever = bm25s.BM25(k1=1.5, b=0.75)
            retriever.index([t or ["__empty__"] for t in job_tokens[f]], show_progress=False)
            self.retrievers[f] = retriever
        self.queries: dict[int, dict[str, list[str]]] = {}
        for r, resume in enumerate(split.data.resumes):
            own = resume_fields(resume)
            hist = split.history.get(r, [])
            q = {}
            for f in JOB_FIELDS:
                vocab = self.retrievers[f].vocab_dict
                toks = tok(own[f]) + [t for j in hist for t in job_tokens[f][j]]
                q[f] = [t for t in toks if t in vocab]
            self.queries[r] = q

    def components(self, r: int, cands: np.ndarray) -> np.ndarray:
        out = np.zeros((len(JOB_FIELDS), len(cands)), dtype=np.float64)
        q = self.queries.get(r, {})
        for k, f in enumerate(JOB_FIELDS):
            if q.get(f):
                out[k] = np.asarray(self.retrievers[f].get_scores(q[f]), dtype=np.float64)[cands]
        return out
