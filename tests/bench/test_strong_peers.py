"""The strong peers (place history, field-weighted BM25, LambdaRank) learn: on a small kandij-like synthetic split
where applicants look for jobs near home and in their trade, each beats popularity by a stated margin.

Run: .venv/bin/python -m pytest tests/bench/test_strong_peers.py -q -p no:django
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bench import peers as P
from bench._protocol import evaluate, leave_last_out, validation_split
from ml.embedding import EmbeddingCache, HashingEncoder
from ml.types import InteractionEvent, JobDoc, MatchingData, ResumeDoc

CITIES = [(f"Town{i}", f"State{i % 6}") for i in range(24)]
TRADES = {
    "retail": ("Cashier", "Sales Associate", "Store Clerk"),
    "care": ("Nurse Aide", "Caregiver", "Home Health Aide"),
    "food": ("Line Cook", "Server", "Dishwasher"),
    "security": ("Security Officer", "Guard", "Patrol Officer"),
}
MARGIN = 0.10  # NDCG@10 each new peer must gain over popularity (popularity scores ~0.02 here)


def _kandij_like(seed: int = 0) -> MatchingData:
    """Jobs in 24 towns for 4 trades; each applicant views 3-6 jobs, 80% in their home town (else anywhere),
    70% in their own trade; popularity carries no signal (views spread evenly)."""
    rng = np.random.default_rng(seed)
    trades = list(TRADES)
    jobs, where = [], []
    for n in range(480):
        city, state = CITIES[n % len(CITIES)]
        trade = trades[(n // len(CITIES)) % len(trades)]
        title = TRADES[trade][rng.integers(3)]
        jobs.append(
            JobDoc(f"j{n}", title=title, company=f"{trade.title()} Co {n % 7}", location=f"{city}, {state}")
        )
        where.append((n % len(CITIES), trade))
    by_key: dict[tuple[int, str], list[int]] = {}
    for n, key in enumerate(where):
        by_key.setdefault(key, []).append(n)
    resumes, events = [], []
    for a in range(360):
        home, trade = int(rng.integers(len(CITIES))), trades[int(rng.integers(len(trades)))]
        profile = a % 3 == 0
        resumes.append(
            ResumeDoc(
                f"a{a}",
                headline=TRADES[trade][0] if profile else "",
                location=", ".join(CITIES[home]) if profile else "",
            )
        )
        seen: set[int] = set()
        for t in range(int(rng.integers(3, 7))):
            city = home if rng.random() < 0.8 else int(rng.integers(len(CITIES)))
            tr = trade if rng.random() < 0.7 else trades[int(rng.integers(len(trades)))]
            pool = [j for j in by_key[(city, tr)] if j not in seen]
            if not pool:
                continue
            j = int(rng.choice(pool))
            seen.add(j)
            events.append(InteractionEvent(f"j{j}", f"a{a}", "click", float(t)))
    return MatchingData(jobs, resumes, events)


@pytest.fixture(scope="module")
def split():
    return leave_last_out(_kandij_like())


@pytest.fixture(scope="module")
def popularity_ndcg(split):
    peer = P.Popularity()
    peer.fit(split)
    return float(evaluate(split, peer)["ndcg@10"].mean())


def _ndcg(peer, split, **fit) -> float:
    peer.fit(split, **fit)
    return float(evaluate(split, peer)["ndcg@10"].mean())


def test_the_split_is_big_enough_to_tell(split, popularity_ndcg):
    assert len(split.test_resume) > 250 and popularity_ndcg < 0.08


def test_place_history_beats_popularity(split, popularity_ndcg):
    peer = P.PlaceHistory()
    assert _ndcg(peer, split) >= popularity_ndcg + MARGIN
    assert set(peer.tuned) >= set(P.PlaceHistory.COMPONENTS) and "validation_ndcg@10" in peer.tuned


def test_field_bm25_beats_popularity_and_tunes_weights(split, popularity_ndcg):
    peer = P.FieldBM25()
    tuned = _ndcg(peer, split)
    assert tuned >= popularity_ndcg + MARGIN
    assert peer.tuned["city"] > 0  # the place field carries the signal here


def test_lambdarank_beats_popularity_and_reports_importances(split, popularity_ndcg):
    peer = P.LambdaRank(EmbeddingCache(HashingEncoder()), seed=0)
    assert _ndcg(peer, split) >= popularity_ndcg + MARGIN
    gain = peer.tuned["feature_importance_gain"]
    assert set(gain) == set(P.lambdarank.FEATURES) and abs(sum(gain.values()) - 1.0) < 1e-3
    assert peer.tuned["trees"] >= 1


def test_tuning_reads_the_validation_split_only(split):
    """The weights come from the validation split: corrupting every test item leaves them unchanged."""
    peer_a = P.FieldBM25()
    peer_a.fit(split)
    shuffled = np.random.default_rng(1).permutation(split.test_job)
    other = replace(split, test_job=shuffled)
    peer_b = P.FieldBM25()
    peer_b.fit(other)
    assert peer_a.tuned == peer_b.tuned
    val = validation_split(split)
    assert not set(zip(val.test_resume.tolist(), val.test_job.tolist(), strict=True)) & set(
        zip(split.test_resume.tolist(), split.test_job.tolist(), strict=True)
    )


def test_validation_ndcg_matches_the_protocol_metric():
    from bench._protocol import metrics_from_counts
    from bench.peers.place import validation_ndcg

    rng = np.random.default_rng(0)
    comps = [rng.integers(0, 3, size=(2, int(rng.integers(5, 40)))).astype(np.float32) for _ in range(100)]
    pos = [int(rng.integers(c.shape[1])) for c in comps]
    w = np.array([1.0, 0.5], dtype=np.float32)
    expected = []
    for c, p in zip(comps, pos, strict=True):
        s = w @ c
        expected.append(metrics_from_counts(int((s > s[p]).sum()), int((s == s[p]).sum()) - 1)["ndcg@10"])
    assert validation_ndcg(comps, pos, w) == pytest.approx(np.mean(expected), abs=1e-12)
