"""The classes the stationary head is trained on: occupation clusters of the documents' whole-text embeddings.

The real data has no occupation label on jobs (kandij views: title, company, place) and only applicants'
free-text histories on the resume side, so the classes are k-means clusters of the frozen MiniLM vectors of
every document's whole text, jobs and resumes clustered TOGETHER: a cluster is then a title/occupation family
that contains both the jobs and the resumes of that occupation, which is the structure retrieval must keep
(place is left to the relation view and the history features; clustering on place would make the head fight
them). A document with no text (a zero vector) gets class -1 and no classification loss.
"""

from __future__ import annotations

import numpy as np


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, iters: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (cosine) with k-means++ seeding. Returns (labels (n,), centres (k, d)).

    Hand-written (40 lines) rather than scikit-learn: the ml package depends on torch and numpy only."""
    rng = np.random.default_rng(seed)
    n = len(x)
    k = max(1, min(k, n))
    centres = [x[rng.integers(n)]]
    d2 = np.full(n, np.inf)
    for _ in range(1, k):
        d2 = np.minimum(d2, 1.0 - x @ centres[-1])
        p = np.clip(d2, 0, None)
        total = p.sum()
        centres.append(x[rng.choice(n, p=p / total)] if total > 0 else x[rng.integers(n)])
    c = np.stack(centres)
    labels = np.zeros(n, np.int64)
    for _ in range(iters):
        new = np.argmax(x @ c.T, axis=1)
        if _ > 0 and np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            m = x[labels == j]
            if len(m):
                s = m.sum(axis=0)
                c[j] = s / max(np.linalg.norm(s), 1e-12)
    return labels, c


def occupation_classes(
    job_whole: np.ndarray, resume_whole: np.ndarray, n_classes: int, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Class per job and per resume (-1 for documents without text), from one clustering of both sides."""
    x = np.concatenate([job_whole, resume_whole]).astype(np.float32)
    norm = np.linalg.norm(x, axis=1)
    has = norm > 1e-8
    labels = np.full(len(x), -1, np.int64)
    if has.sum() >= 2:
        xs = x[has] / norm[has, None]
        labels[has] = kmeans(xs, n_classes, seed=seed)[0]
    return labels[: len(job_whole)], labels[len(job_whole) :]
