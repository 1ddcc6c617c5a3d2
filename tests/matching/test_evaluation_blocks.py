"""The held-out evaluation scores its pairs a block at a time: the same scores, in the same order."""

from __future__ import annotations

import numpy as np

from matching.training.evaluation import EvalSet, model_scores, zero_shot_scores
from ml.embedding import EmbeddingCache, HashingEncoder
from ml.network import PairScores
from ml.types import JobDoc, ResumeDoc


class _PairModel:
    """score_pairs as a function of each pair's two documents alone (what the blocks rely on)."""

    cache = None

    def __init__(self):
        self.calls = 0

    def score_pairs(self, jobs, resumes, pairs):
        self.calls += 1
        total = np.array([hash((jobs[j].id, resumes[r].id)) % 997 / 997 for j, r in pairs], np.float32)
        return PairScores(total, total, total)


def _eval_set(n_pairs: int = 50) -> EvalSet:
    rng = np.random.default_rng(0)
    jobs = [JobDoc(f"j{i}", f"python developer {i}") for i in range(5)]
    resumes = [ResumeDoc(f"r{i}", headline=f"engineer {i % 7}") for i in range(30)]
    pairs = np.stack([rng.integers(0, 5, n_pairs), rng.integers(0, 30, n_pairs)], 1)
    return EvalSet(jobs, resumes, pairs, np.ones(n_pairs), pairs[:, 0].copy())


def test_model_scores_by_block_equal_one_batch():
    es = _eval_set()
    whole_model, blocks_model = _PairModel(), _PairModel()
    whole = model_scores(whole_model, es)
    blocks = model_scores(blocks_model, es, block=7)
    np.testing.assert_array_equal(blocks, whole)
    assert whole_model.calls == 1 and blocks_model.calls == 8


def test_zero_shot_scores_are_the_pairs_cosines():
    es = _eval_set()
    cache = EmbeddingCache(HashingEncoder())
    got = zero_shot_scores(es, cache.encoder, cache)
    vj = cache.encode([d.full_text() for d in es.jobs])
    vr = cache.encode([d.full_text() for d in es.resumes])
    np.testing.assert_allclose(got, (vj[es.pairs[:, 0]] * vr[es.pairs[:, 1]]).sum(1), rtol=1e-6, atol=1e-6)
