"""The quality benchmark's protocol on a tiny hand-made MatchingData (no database, no model weights).

Run: .venv/bin/python -m pytest tests/bench -q -p no:django
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import peers as P
from bench._protocol import (
    build_cases,
    evaluate,
    leave_last_out,
    metrics_from_counts,
    validation_split,
    with_label_noise,
)
from ml import metrics as M
from ml.types import InteractionEvent, JobDoc, MatchingData, ResumeDoc


def _data() -> MatchingData:
    jobs = [
        JobDoc(f"j{i}", title=t, company=c, location=loc)
        for i, (t, c, loc) in enumerate(
            [
                ("Cashier", "Macy's", "Newark, New Jersey"),  # j0
                ("Sales Associate", "Macy's", "Newark, New Jersey"),  # j1
                ("Security Officer", "Securitas", "Annandale, Virginia"),  # j2
                ("Bank Teller", "KeyBank", "Cleveland, Ohio"),  # j3
                ("Server", "Olive Garden", "Cleveland, Ohio"),  # j4
                ("Barista", "Starbucks", "Newark, New Jersey"),  # j5
                ("Security Guard", "Allied", "Annandale, Virginia"),  # j6
                ("Line Cook", "Denny's", "Austin, Texas"),  # j7 (never viewed)
            ]
        )
    ]
    resumes = [
        ResumeDoc("a", headline="Cashier", experience=("Cashier @ Target, Newark, New Jersey",)),
        ResumeDoc("b", headline="Teller"),
        ResumeDoc("c"),  # no profile, one job only -> never tested
        ResumeDoc("d", headline="Security officer"),
    ]

    def ev(j, r, t, kind="click"):
        return InteractionEvent(f"j{j}", r, kind, float(t))

    interactions = [
        # a: j0, j1, j0 again, then j2 (new, last) -> test j2; d viewed j2 in training -> a warm test item
        ev(0, "a", 1), ev(1, "a", 2), ev(0, "a", 3, "impression"), ev(2, "a", 4), ev(2, "a", 5),
        # b: j3 then j4; j4 viewed by nobody else in training -> cold test item
        ev(3, "b", 1), ev(4, "b", 9),
        # c: one job only -> training only
        ev(5, "c", 1),
        # d: j2, j0, then j6 (cold test item); a repeat view of j2 after j6 does not make j2 the test item
        ev(2, "d", 1), ev(0, "d", 2), ev(6, "d", 3), ev(2, "d", 4),
    ]  # fmt: skip
    return MatchingData(jobs, resumes, interactions)


@pytest.fixture(scope="module")
def split():
    return leave_last_out(_data())


def _test_items(split):
    return {
        split.data.resumes[r].id: split.data.jobs[j].id
        for r, j in zip(split.test_resume, split.test_job, strict=True)
    }


def test_last_new_job_is_the_test_item(split):
    assert _test_items(split) == {"a": "j2", "b": "j4", "d": "j6"}


def test_test_items_never_in_training(split):
    train = {(e.resume_id, e.job_id) for e in split.train_events}
    for rid, jid in _test_items(split).items():
        assert (rid, jid) not in train
    # every other view stays in training, including other applicants' views of a test item
    assert ("d", "j2") in train and ("a", "j0") in train and ("c", "j5") in train
    assert len(split.train_events) == len(_data().interactions) - 2 - 1 - 1


def test_cold_and_warm(split):
    cold = {split.data.jobs[j].id for j in np.flatnonzero(~split.warm)}
    assert cold == {"j4", "j6", "j7"}
    assert dict(zip(_test_items(split), split.test_cold.tolist(), strict=True)) == {
        "a": False,
        "b": True,
        "d": True,
    }


def test_candidates(split):
    by_resume = {
        split.data.resumes[r].id: {split.data.jobs[j].id for j in c} for r, c, _ in build_cases(split)
    }
    # warm test job: all warm jobs minus the applicant's own training jobs (j0, j1)
    assert by_resume["a"] == {"j2", "j3", "j5"}
    # cold test jobs: ranked only among cold jobs
    assert by_resume["b"] == {"j4", "j6", "j7"}
    assert by_resume["d"] == {"j4", "j6", "j7"}
    for r, cands, pos in build_cases(split):
        own = set(split.clean_history[r])
        assert not own & set(cands.tolist())
        assert cands[pos] in split.test_job


def test_oracle_and_reversed_scorers(split):
    truth = dict(zip(split.test_resume.tolist(), split.test_job.tolist(), strict=True))
    oracle = evaluate(split, lambda r, c: (c == truth[r]).astype(float))
    reverse = evaluate(split, lambda r, c: -(c == truth[r]).astype(float))
    constant = evaluate(split, lambda r, c: np.zeros(len(c)))
    assert np.allclose(oracle["ndcg@10"], 1.0) and np.allclose(oracle["mrr"], 1.0)
    assert (reverse["ndcg@10"] < 1.0).all() and reverse["ndcg@10"].mean() < oracle["ndcg@10"].mean()
    assert (reverse["mrr"] <= constant["mrr"]).all() and (constant["mrr"] <= oracle["mrr"]).all()
    # a constant scorer gets the random-ranking expectation: with 3 candidates MRR = (1 + 1/2 + 1/3) / 3
    assert np.allclose(constant["mrr"], (1 + 1 / 2 + 1 / 3) / 3)


def test_metrics_match_ml_metrics_without_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        s = rng.normal(size=80)
        t = int(rng.integers(80))
        g = int((s > s[t]).sum())
        mine = metrics_from_counts(g, 0)
        assert mine["ndcg@10"] == pytest.approx(M.ndcg_at_k(s, [t], 10))
        assert mine["mrr"] == pytest.approx(M.mrr(s, [t]))
        assert mine["recall@50"] == pytest.approx(M.recall_at_k(s, [t], 50))


def test_noise_keeps_test_cases_and_candidates(split):
    noisy = with_label_noise(split, 0.5, seed=3)
    assert len(noisy.train_events) == len(split.train_events)
    assert noisy.meta["moved"] == round(0.5 * len(split.train_events))
    assert (noisy.test_job == split.test_job).all() and (noisy.warm == split.warm).all()
    test_of = _test_items(split)
    for e in noisy.train_events:
        assert test_of.get(e.resume_id) != e.job_id  # noise never leaks a test item
        assert split.warm[split.job_index[e.job_id]]
    for (r1, c1, _), (r2, c2, _) in zip(build_cases(split), build_cases(noisy), strict=True):
        assert r1 == r2 and (c1 == c2).all()


def test_validation_split_stays_inside_training(split):
    val = validation_split(split)
    test_pairs = set(zip(split.test_resume.tolist(), split.test_job.tolist(), strict=True))
    train_pairs = {(split.resume_index[e.resume_id], split.job_index[e.job_id]) for e in split.train_events}
    for e in val.train_events:
        assert (split.resume_index[e.resume_id], split.job_index[e.job_id]) not in test_pairs
    assert set(zip(val.test_resume.tolist(), val.test_job.tolist(), strict=True)) <= train_pairs


def test_cheap_peers_run_through_the_protocol(split):
    for peer in (P.Popularity(), P.ItemKNN(), P.BM25(k1=1.2, b=0.75), P.ALS(8, 0.1, 1.0, iterations=2)):
        peer.fit(split)
        res = evaluate(split, peer)
        assert res["ndcg@10"].shape == (3,) and np.isfinite(res["ndcg@10"]).all()
    # BM25 query = resume + its training jobs: "a" (cashier at Macy's, Newark) ... its test job j2 is warm
    bm = P.BM25(k1=1.2, b=0.75)
    bm.fit(split)
    d = split.resume_index["d"]
    s = bm.score(d, np.array([split.job_index["j6"], split.job_index["j7"]]))
    assert s[0] > s[1]  # security profile + Annandale history -> the Annandale security job
