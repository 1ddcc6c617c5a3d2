"""Query drift compensation (Goswami et al., CoLLAs 2025): a new version's query vectors projected into an older
version's space, so they can be searched against vectors that version indexed, with no document re-embedded.

Fitted on documents embedded by both versions:
  * ``mean_shift`` (the paper's), on documents of the QUERY kind (for a job's candidates the query is a job, for
    a resume's jobs a resume): q_old ~ q_new - delta, delta = mean(new - old);
  * ``linear_query``: least squares on the same pairs, q_old ~ [q_new, 1] @ W (ridge). Both regress the new
    query onto the OLD query, so at best they reproduce the old model's ranking;
  * ``linear``: least squares on documents of the INDEXED kind, M = argmin |D_old M - D_new|^2 (ridge), and
    q_hat = M q: the new query's cosines with old vectors then approximate its cosines with the re-embedded
    documents, i.e. the new model's own ranking (which is how it can beat the old one on the old index);
  * ``linear_both``: ``linear`` fitted on documents of BOTH kinds stacked (one map for both directions: jobs and
    resumes share the retrieval space, and the sample doubles);
  * ``procrustes``: ``linear`` constrained to a rotation (orthogonal Procrustes, R = U V^T of the SVD of
    D_old^T D_new): it keeps the old space's geometry and has nothing to overfit;
  * ``none``: the new vector as it is.
The paper's own (dipamgoswami/QDC, trainers/base.py) is ``mean_shift`` over every training query, applied without
re-normalising: inside one index the norm does not change a query's ranking, so it ranks as ``mean_shift`` on a
sample of all the training queries.
The projected vector is re-normalised: inside one index the ranking is the same either way, but a mixed index
merges cosines from several parts, which must be on one scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = ("none", "mean_shift", "linear_query", "linear", "linear_both", "procrustes")
DOCUMENT_METHODS = ("linear", "linear_both", "procrustes")  # fitted on documents of the indexed kind(s)
LINEAR = ("linear_query", *DOCUMENT_METHODS)


def _unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.where(n > 1e-12, x / np.maximum(n, 1e-12), x).astype(np.float32)


@dataclass
class DriftProjection:
    """new-version query vectors -> an older version's space (one per query kind and version pair)."""

    method: str
    dim: int
    delta: np.ndarray | None = None  # (D,) for mean_shift
    weights: np.ndarray | None = None  # (D + 1, D) for the linear maps (last row: the bias)
    fitted_on: int = 0  # documents embedded by both versions

    def apply(self, q: np.ndarray) -> np.ndarray:
        """Project (n, D) or (D,) new-version vectors; unit-normalised, float32."""
        q = np.asarray(q, dtype=np.float32)
        if self.method == "mean_shift":
            out = q - self.delta
        elif self.method in LINEAR:
            out = q @ self.weights[:-1] + self.weights[-1]
        else:
            out = q
        # a zero query (no text, no interactions) stays zero: nothing to project
        zero = np.linalg.norm(q, axis=-1, keepdims=True) <= 1e-12
        return np.where(zero, 0.0, _unit(out)).astype(np.float32)

    def to_state(self) -> dict:
        return {
            "method": self.method,
            "dim": self.dim,
            "fitted_on": self.fitted_on,
            "delta": self.delta.tolist() if self.delta is not None else None,
            "weights": self.weights.tolist() if self.weights is not None else None,
        }

    @classmethod
    def from_state(cls, st: dict) -> DriftProjection:
        delta = np.asarray(st["delta"], np.float32) if st.get("delta") is not None else None
        weights = np.asarray(st["weights"], np.float32) if st.get("weights") is not None else None
        return cls(st["method"], int(st["dim"]), delta, weights, int(st.get("fitted_on", 0)))


def _nonzero_rows(old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    old = np.asarray(old, np.float64)
    new = np.asarray(new, np.float64)
    if old.shape != new.shape:
        raise ValueError(f"old {old.shape} and new {new.shape} vectors must be row-aligned, same dimension")
    keep = (np.linalg.norm(old, axis=1) > 1e-12) & (np.linalg.norm(new, axis=1) > 1e-12)
    return old[keep], new[keep]


def _ridge(x: np.ndarray, y: np.ndarray, ridge: float, *, bias: bool) -> np.ndarray:
    """argmin_W |[x, 1] W - y|^2 + ridge * n * |W - I|^2: shrunk towards the identity (no drift), so the
    directions a small sample does not cover stay as they are instead of collapsing to zero (the bias row,
    when there is one, is not shrunk)."""
    d = x.shape[1]
    prior = np.eye(d, y.shape[1])
    if bias:
        x = np.hstack([x, np.ones((len(x), 1))])
        prior = np.vstack([prior, np.zeros((1, y.shape[1]))])
    reg = ridge * len(x) * np.eye(x.shape[1])
    if bias:
        reg[-1, -1] = 0.0
    return np.linalg.solve(x.T @ x + reg, x.T @ y + reg @ prior)


def fit_projection(
    method: str,
    *,
    queries: tuple[np.ndarray, np.ndarray] | None = None,
    documents: tuple[np.ndarray, np.ndarray] | None = None,
    ridge: float = 1e-3,
) -> DriftProjection:
    """Fit ``method`` on row-aligned (old, new) vectors of the same documents.

    ``queries``: documents of the query kind (mean_shift, linear_query); ``documents``: documents of the
    indexed kind (linear, procrustes) or of both kinds stacked (linear_both). Rows where either vector is zero
    (nothing to embed) are left out."""
    if method not in METHODS:
        raise ValueError(f"drift method must be one of {METHODS}, not {method!r}")
    pair = documents if method in DOCUMENT_METHODS else queries
    if pair is None:
        need = "documents" if method in DOCUMENT_METHODS else "queries"
        if method == "none":
            raise ValueError("give queries or documents (for the dimension)")
        raise ValueError(f"{method} is fitted on {need}")
    old, new = _nonzero_rows(*pair)
    d, n = new.shape[1], len(old)
    if method == "none" or n == 0:
        return DriftProjection("none", d, fitted_on=n)
    if method == "mean_shift":
        return DriftProjection(method, d, delta=(new - old).mean(axis=0).astype(np.float32), fitted_on=n)
    if method == "linear_query":
        return DriftProjection(
            method, d, weights=_ridge(new, old, ridge, bias=True).astype(np.float32), fitted_on=n
        )
    # old_docs @ M ~ new_docs, so <old_doc, M q> ~ <new_doc, q>; as a row map q -> q @ M.T
    if method == "procrustes":
        u, _, vt = np.linalg.svd(old.T @ new)
        m = u @ vt
    else:
        m = _ridge(old, new, ridge, bias=False)
    weights = np.vstack([m.T, np.zeros((1, d))]).astype(np.float32)
    return DriftProjection(method, d, weights=weights, fitted_on=n)
