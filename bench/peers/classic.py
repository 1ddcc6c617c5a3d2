"""The first peer rankers of bench/quality.py. Each has ``fit(split)`` and ``score(resume_index, job_indices) -> scores``.

All of them see only ``split.train_events`` / ``split.history`` (the training views, noisy when the run adds
noise) and the documents; light tuning, where a peer has any, uses ``validation_split`` carved from training.

- popularity: distinct training viewers per job.
- BM25 (bm25s): job text (title, company, location, description); query = resume text + the texts of the
  applicant's training jobs. Tokens: lower-cased alphanumerics, English stop words removed, plural "s" stripped.
- MiniLM zero-shot: cosine between the job's embedding and the average of the resume's section embeddings
  (headline, each experience entry, location: section by section so long profiles don't overflow 256 tokens)
  mixed with the average of the training-job embeddings.
- ALS (implicit, CPU): factors / regularisation / alpha tuned on the validation split.
- co-view item-kNN: cosine on co-view counts; score = sum of similarities to the applicant's training jobs.
- LightFM: absent (does not build here; see LIGHTFM_ABSENT).
"""

from __future__ import annotations

import itertools
import re
import time

import numpy as np
import scipy.sparse as sp

from bench._protocol import Split, evaluate, validation_split

LIGHTFM_ABSENT = (
    "lightfm 1.17 (the latest on PyPI, sdist only, no wheel for Python 3.11) fails at 'Getting requirements to "
    "build wheel': its setup.py sets __builtins__.__LIGHTFM_SETUP__, and under the current setuptools build "
    "backend __builtins__ is a dict -> AttributeError: 'dict' object has no attribute '__LIGHTFM_SETUP__'. "
    "The project is unmaintained (last release 2023), so the row is left out rather than patched."
)


class Peer:
    name = "peer"
    tuned: dict = {}

    def fit(self, split: Split) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def score(self, r: int, cands: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


def _val_ndcg(split: Split, make, fit_kwargs: dict | None = None) -> float:
    """Mean NDCG@10 of ``make()`` fit on the validation split's training part (and its validation cases)."""
    peer = make()
    peer.fit(split, **(fit_kwargs or {}))
    res = evaluate(split, peer.score)
    return float(res["ndcg@10"].mean()) if len(res["ndcg@10"]) else 0.0


# ------------------------------------------------------------------------------------------------ popularity
class Popularity(Peer):
    name = "popularity"

    def fit(self, split: Split) -> None:
        pop = np.zeros(split.n_jobs)
        for _r, jobs in split.history.items():
            pop[np.asarray(jobs, dtype=np.int64)] += 1.0
        self.pop = pop

    def score(self, r: int, cands: np.ndarray) -> np.ndarray:
        return self.pop[cands]


# ------------------------------------------------------------------------------------------------ BM25
_WORD = re.compile(r"[a-z0-9]+")


def _stopwords() -> frozenset[str]:
    try:
        from bm25s.stopwords import STOPWORDS_EN

        return frozenset(STOPWORDS_EN)
    except Exception:  # pragma: no cover - older bm25s
        return frozenset(
            "a an and are as at be by for from has in is it of on or that the to was were will with".split()
        )


def _stem(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


class Tokenizer:
    def __init__(self):
        self.stop = _stopwords()

    def __call__(self, text: str) -> list[str]:
        return [_stem(w) for w in _WORD.findall(text.lower()) if w not in self.stop and len(w) > 1]


class BM25(Peer):
    name = "BM25"
    GRID = {"k1": (0.9, 1.5), "b": (0.3, 0.75)}

    def __init__(self, k1: float | None = None, b: float | None = None):
        self.k1, self.b = k1, b
        self.tok = Tokenizer()

    def _index(self, split: Split, k1: float, b: float):
        import bm25s

        docs = [self.tok(j.full_text()) or ["__empty__"] for j in split.data.jobs]
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index(docs, show_progress=False)
        return retriever

    def fit(self, split: Split, *, tune: bool = True) -> None:
        if self.k1 is None or self.b is None:
            if tune:
                val = validation_split(split)
                best = max(
                    itertools.product(self.GRID["k1"], self.GRID["b"]),
                    key=lambda kb: _val_ndcg(val, lambda kb=kb: BM25(*kb), {"tune": False}),
                )
            else:
                best = (1.5, 0.75)
            self.k1, self.b = best
        self.tuned = {"k1": self.k1, "b": self.b}
        self.retriever = self._index(split, self.k1, self.b)
        vocab = self.retriever.vocab_dict
        job_tokens = [self.tok(j.full_text()) for j in split.data.jobs]
        self.queries: dict[int, list[str]] = {}
        for r, resume in enumerate(split.data.resumes):
            toks = self.tok(resume.full_text())
            for j in split.history.get(r, []):
                toks += job_tokens[j]
            self.queries[r] = [t for t in toks if t in vocab]
        self._last: tuple[int, np.ndarray] | None = None

    def score(self, r: int, cands: np.ndarray) -> np.ndarray:
        q = self.queries.get(r, [])
        if not q:
            return np.zeros(len(cands))
        return np.asarray(self.retriever.get_scores(q), dtype=np.float64)[cands]


# ------------------------------------------------------------------------------------------------ MiniLM
def resume_section_texts(resume) -> list[str]:
    """Resume texts encoded one by one (MiniLM truncates at 256 word pieces)."""
    parts = [resume.headline, resume.summary, ", ".join(resume.skills), *resume.experience, *resume.education]
    if resume.location:
        parts.append(resume.location)
    return [p for p in parts if p and p.strip()]


class MiniLMZeroShot(Peer):
    name = "MiniLM zero-shot"
    GRID = (0.25, 0.5, 0.75)  # weight of the resume average against the training-jobs average

    def __init__(self, cache, resume_weight: float | None = None):
        self.cache = cache
        self.resume_weight = resume_weight

    def _embed(self, split: Split):
        jobs = self.cache.encode([j.full_text() for j in split.data.jobs])
        res = np.zeros((split.n_resumes, jobs.shape[1]), dtype=np.float32)
        texts, owner = [], []
        for r, resume in enumerate(split.data.resumes):
            for t in resume_section_texts(resume):
                texts.append(t)
                owner.append(r)
        if texts:
            vecs = self.cache.encode(texts)
            np.add.at(res, np.asarray(owner), vecs)
            counts = np.bincount(np.asarray(owner), minlength=split.n_resumes)[:, None]
            res = res / np.maximum(counts, 1)
        return jobs, res

    def _queries(self, split: Split, w: float) -> np.ndarray:
        q = np.zeros_like(self.res_vec)
        for r in range(split.n_resumes):
            hist = split.history.get(r, [])
            h = self.job_vec[hist].mean(axis=0) if hist else None
            rv = self.res_vec[r] if np.any(self.res_vec[r]) else None
            if h is not None and rv is not None:
                q[r] = w * rv + (1 - w) * h
            else:
                q[r] = rv if rv is not None else (h if h is not None else 0.0)
        n = np.linalg.norm(q, axis=1, keepdims=True)
        return q / np.maximum(n, 1e-12)

    def fit(self, split: Split, *, tune: bool = True) -> None:
        self.job_vec, self.res_vec = self._embed(split)
        if self.resume_weight is None:
            if tune:
                val = validation_split(split)

                def val_score(w):
                    self.query = self._queries(val, w)
                    return float(evaluate(val, self.score)["ndcg@10"].mean())

                self.resume_weight = max(self.GRID, key=val_score)
            else:
                self.resume_weight = 0.5
        self.tuned = {"resume_weight": self.resume_weight}
        self.query = self._queries(split, self.resume_weight)

    def score(self, r: int, cands: np.ndarray) -> np.ndarray:
        return self.job_vec[cands] @ self.query[r]


# ------------------------------------------------------------------------------------------------ ALS
def _user_items(split: Split) -> sp.csr_matrix:
    pairs = split.train_pairs()
    data = np.ones(len(pairs), dtype=np.float32)
    return sp.csr_matrix((data, (pairs[:, 0], pairs[:, 1])), shape=(split.n_resumes, split.n_jobs))


class ALS(Peer):
    name = "ALS (implicit)"
    GRID = {"factors": (32, 64, 128), "regularization": (0.05, 0.5), "alpha": (1.0, 10.0)}

    def __init__(self, factors=None, regularization=None, alpha=None, iterations: int = 15, seed: int = 0):
        self.params = {"factors": factors, "regularization": regularization, "alpha": alpha}
        self.iterations, self.seed = iterations, seed

    def fit(self, split: Split, *, tune: bool = True) -> None:
        if any(v is None for v in self.params.values()):
            if tune:
                val = validation_split(split)
                keys = list(self.GRID)
                best = max(
                    itertools.product(*self.GRID.values()),
                    key=lambda combo: _val_ndcg(
                        val,
                        lambda combo=combo: ALS(**dict(zip(keys, combo, strict=True)), seed=self.seed),
                        {"tune": False},
                    ),
                )
                self.params = dict(zip(keys, best, strict=True))
            else:
                self.params = {"factors": 64, "regularization": 0.05, "alpha": 10.0}
        self.tuned = dict(self.params)
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(
            factors=int(self.params["factors"]),
            regularization=float(self.params["regularization"]),
            alpha=float(self.params["alpha"]),
            iterations=self.iterations,
            random_state=self.seed,
            num_threads=2,
        )
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit's own threads; a BLAS pool on top only slows it down
            model.fit(_user_items(split), show_progress=False)
        self.U = np.asarray(model.user_factors)
        self.V = np.asarray(model.item_factors)

    def score(self, r: int, cands: np.ndarray) -> np.ndarray:
        return self.V[cands] @ self.U[r]


# ------------------------------------------------------------------------------------------------ item-kNN
class ItemKNN(Peer):
    name = "co-view item-kNN"

    def fit(self, split: Split) -> None:
        X = _user_items(split)
        X.data[:] = 1.0
        co = (X.T @ X).tocsr().astype(np.float64)
        deg = np.asarray(co.diagonal()).ravel()
        co.setdiag(0.0)
        co.eliminate_zeros()
        inv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-12)), 0.0)
        self.sim = sp.diags(inv) @ co @ sp.diags(inv)
        self.sim = self.sim.tocsr()
        self.history = split.history

    def score(self, r: int, cands: np.ndarray) -> np.ndarray:
        hist = self.history.get(r, [])
        if not hist:
            return np.zeros(len(cands))
        row = np.asarray(self.sim[hist].sum(axis=0)).ravel()
        return row[cands]


def make_peers(cache) -> list[Peer]:
    return [Popularity(), BM25(), MiniLMZeroShot(cache), ALS(), ItemKNN()]


def timed_fit(peer: Peer, split: Split) -> float:
    t0 = time.perf_counter()
    peer.fit(split)
    return time.perf_counter() - t0
