"""bench/served_quality.py's pure parts: metrics from a served rank, the import rows, verdicts and the report.

Run: .venv/bin/python -m pytest tests/bench -q -p no:django
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from bench import _served as S
from bench._protocol import metrics_from_counts
from ml.types import InteractionEvent, JobDoc, MatchingData, ResumeDoc


# ------------------------------------------------------------------------------------------------ metrics
def test_served_metrics_from_rank():
    assert S.served_metrics(1) == {"ndcg@10": 1.0, "recall@10": 1.0, "recall@50": 1.0, "recall@100": 1.0}
    assert S.served_metrics(3)["ndcg@10"] == pytest.approx(0.5)
    assert S.served_metrics(11) == {"ndcg@10": 0.0, "recall@10": 0.0, "recall@50": 1.0, "recall@100": 1.0}
    assert S.served_metrics(100)["recall@100"] == 1.0
    assert S.served_metrics(101)["recall@100"] == 0.0
    assert S.served_metrics(None) == dict.fromkeys(S.METRICS, 0.0)


@pytest.mark.parametrize("greater,ties", [(0, 0), (3, 0), (8, 4), (45, 10), (120, 3)])
def test_exact_metrics_agree_with_the_protocol(greater, ties):
    ours, theirs = S.exact_metrics(greater, ties), metrics_from_counts(greater, ties)
    for m in ("ndcg@10", "recall@10", "recall@50"):
        assert ours[m] == pytest.approx(theirs[m])


def test_exact_metrics_recall_at_100_counts_tied_positions():
    assert S.exact_metrics(98, 3)["recall@100"] == pytest.approx(2 / 4)  # positions 99..102
    assert S.exact_metrics(100, 0)["recall@100"] == 0.0


def test_scores_metrics_breaks_ties_at_random_and_nan_last():
    scores = [0.9, 0.5, 0.5, np.nan, 0.1]
    m = S.scores_metrics(scores, 1)  # one above, one tie: position 2 or 3
    assert m["ndcg@10"] == pytest.approx((1 / np.log2(3) + 1 / np.log2(4)) / 2)
    assert S.scores_metrics(scores, 4)["recall@10"] == 1.0
    assert S.scores_metrics([np.nan, 0.2], 0)["ndcg@10"] == pytest.approx(1 / np.log2(3))


def test_rank_in_drops_the_applicants_own_jobs():
    assert S.rank_in([7, 3, 9, 4], 9) == (3, 0)
    assert S.rank_in([7, 3, 9, 4], 9, drop={3, 7}) == (1, 2)
    assert S.rank_in([7, 3], 9, drop={8}) == (None, 0)


def test_top_ids_is_stable_on_ties():
    assert S.top_ids([0.1, 0.5, 0.5, np.nan], [10, 11, 12, 13], 3) == [11, 12, 10]


def test_latency_in_milliseconds():
    out = S.latency([0.01] * 19 + [1.0])
    assert out["n"] == 20 and out["p50_ms"] == pytest.approx(10.0) and out["p99_ms"] > out["p95_ms"] > 10.0
    assert S.latency([])["p95_ms"] is None


def test_summarise_by_subset():
    per = {m: np.array([1.0, 0.0, 1.0, 0.0]) for m in S.METRICS}
    masks = {"all": np.ones(4, bool), "profile": np.array([1, 1, 0, 0], bool)}
    out = S.summarise(per, masks, boot=50)
    assert out["all"]["n"] == 4 and out["all"]["ndcg@10"][0] == 0.5
    assert out["profile"]["recall@50"][0] == 0.5
    assert S.mean_ci([]) == [None, None, None]


def test_sample_applicants_is_deterministic():
    ids = [str(i) for i in range(50)]
    a, b = S.sample_applicants(ids, 10), S.sample_applicants(reversed(ids), 10)
    assert a == b and len(a) == 10


# ------------------------------------------------------------------------------------------------ import rows
def _write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


@pytest.fixture
def kandij_dir(tmp_path):
    exp = ["Applicant.ID", "Position.Name", "Employer.Name", "City", "State.Name", "State.Code", "Start.Date",
           "End.Date", "Job.Description", "Salary", "Can.Contact.Employer", "Created.At", "Updated.At"]  # fmt: skip
    _write(
        tmp_path / "Experience.csv",
        exp,
        [
            ["1", "Cashier", "Macy's", "Newark", "New Jersey", "NJ", "2012-01-01", "NA", "rang up sales", "", "", "", ""],
            ["1", "Clerk", "NA", "NA", "NA", "NA", "2014-01-01", "NA", "NA", "", "", "", ""],
            ["3", "NA", "NA", "NA", "NA", "NA", "2010-01-01", "2011-01-01", "NA", "", "", "", ""],
        ],
    )  # fmt: skip
    _write(tmp_path / "Positions_Of_Interest.csv", ["Applicant.ID", "Position.Of.Interest", "Created.At", "Updated.At"],
           [["2", "x" * 400, "", ""]])  # fmt: skip
    return tmp_path


def _data() -> MatchingData:
    jobs = [
        JobDoc("j1", "Cashier", company="Macy's", location="Newark, New Jersey"),
        JobDoc("j2", "", "", (), "Acme"),
    ]
    resumes = [ResumeDoc("1", headline="Clerk"), ResumeDoc("2", headline="x" * 400), ResumeDoc("3")]
    events = [InteractionEvent("j1", "1", "click", 0.0), InteractionEvent("j2", "3", "impression", 86400.0)]
    return MatchingData(jobs, resumes, events)


def test_job_rows_carry_the_employer_only_when_the_platform_has_it():
    counts: dict = {}
    rows = S.job_rows(_data(), employer=True, counts=counts)
    assert rows[0] == {"external_id": "j1", "title": "Cashier", "status": "open", "location": "Newark, New Jersey",
                       "employer": "Macy's"}  # fmt: skip
    assert rows[1]["title"] == "Acme"  # no position: the company names it
    assert "employer" not in S.job_rows(_data(), employer=False, counts=counts)[0]


def test_resume_rows_split_profiles_from_empty_resumes(kandij_dir):
    counts: dict = {}
    with_profile, without = S.resume_rows(_data(), kandij_dir, counts)
    by_id = {r["external_id"]: r for r in with_profile}
    assert set(by_id) == {"1", "2"} and [r["external_id"] for r in without] == [
        "3"
    ]  # dates alone: no profile
    one = by_id["1"]
    assert one["headline"] == "Clerk"  # the latest position when there are no interests
    assert one["experience"][0] == {"title": "Clerk", "start": "2014-01-01"}  # newest first
    assert (
        one["experience"][1]["company"] == "Macy's"
        and one["experience"][1]["location"] == "Newark, New Jersey"
    )
    assert len(by_id["2"]["headline"]) == S.HEADLINE_MAX and counts["headline_cut"] == 1
    assert without[0] == {"candidate_external_id": "3", "external_id": "3", "full_name": "Applicant 3"}


def test_interaction_rows_are_the_given_events_with_their_own_ids():
    rows = S.interaction_rows(_data().interactions)
    assert rows[1] == {
        "external_id": "kv1",
        "job_external_id": "j2",
        "candidate_external_id": "3",
        "resume_external_id": "3",
        "kind": "impression",
        "created_at": "1970-01-02T00:00:00Z",
    }


# ------------------------------------------------------------------------------------------------ verdicts, report
def test_ratio_verdict_ends_with_met_or_not_met():
    assert S.ratio_verdict("ndcg@10", "x", 0.97, 1.0, 0.97).endswith("-> MET")
    assert S.ratio_verdict("ndcg@10", "x", 0.96, 1.0, 0.97).endswith("-> NOT MET")
    assert S.ratio_verdict("ndcg@10", "x", None, 1.0, 0.97).endswith("NOT MET")


def _block(ndcg: float, r50: float, p95: float | None = None) -> dict:
    metrics = {
        sub: {"ndcg@10": [ndcg, 0, 1], "recall@10": [r50, 0, 1], "recall@50": [r50, 0, 1], "recall@100": [1, 0, 1],
              "n": 5}
        for sub in ("all", "profile", "no_profile")
    }  # fmt: skip
    lat = {"n": 5, "p50_ms": 10.0, "p95_ms": p95, "p99_ms": p95, "mean_ms": 10.0}
    return {"metrics": metrics, "latency": lat}


def _result() -> dict:
    return {
        "meta": {"finished": "now", "machine": "x86_64 Linux", "cpus": 2, "load_start": [1, 1, 1], "load_end": [2, 2, 2],
                 "quick": True, "total_seconds": 60.0, "command": "bench/served_quality.py --quick", "k": 100},
        "data": {"n_applicants": 10, "n_jobs": 20, "n_train_views": 30, "on_platform": 5, "test_with_profile": 2,
                 "test_without_profile": 3, "not_carried": []},
        "import": {"import_plus_fallback_seconds": 130.0, "fallback_seconds": 10.0, "import_seconds": 120.0,
                   "empty_resumes_created_through_services": 4, "empty_resumes_rejected_by_import": 4,
                   "reports": {"jobs": {"seconds": 1.0}}},
        "exclude": "client",
        "training": {"version": 1, "activated_by_bench": True, "promotion": "not better"},
        "served": _block(0.30, 0.60, p95=200.0),
        "offline": {**_block(0.30, 0.70), "interactions": "not passed: not there yet"},
        "quality_row": _block(0.40, 0.80),
        "zero_shot": _block(0.10, 0.30, p95=100.0),
        "first_stage": {"applicants": 5, "spaces": {"model:1": 5}, "test_job_reached_reranker": {"all": 0.8}},
        "stages": {"import": {"seconds": 130.0}},
    }  # fmt: skip


def test_verdicts_one_per_goal_each_ending_met_or_not():
    from bench import served_quality as Q

    result = _result()
    lines = Q.verdicts(result)
    assert len(lines) == 7
    assert all(v.startswith("GOAL") and (v.endswith("MET")) for v in lines)
    assert lines[0].endswith("-> MET")  # NDCG@10 100% of offline
    assert lines[2].endswith("NOT MET")  # Recall@50 0.60 / 0.70
    assert "platform 0.300 vs bench/quality 0.400" in lines[4] and lines[4].endswith("NOT MET")
    assert lines[5].endswith("NOT MET") and "trained 200 ms (5 requests) vs zero-shot 100 ms" in lines[5]
    assert lines[6].endswith("NOT MET") and "refused empty resumes" in lines[6]


def test_markdown_section_and_notes():
    from bench import served_quality as Q

    result = _result()
    result["notes"] = Q.notes(result)
    result["verdicts"] = Q.verdicts(result)
    md = Q.markdown(result)
    assert md.startswith(Q.SECTION)
    assert "| served, trained model (API) | 0.300 |" in md
    assert "empty resumes rejected by the import: 4" in md and "exclude=viewed not accepted" in md
    assert md.count("- GOAL") == 7


def test_write_section_replaces_only_its_own(tmp_path):
    from bench import served_quality as Q
    from bench._results_doc import write_section

    doc = tmp_path / "results.md"
    doc.write_text("# Results\n\n## Other\n\nkeep\n", encoding="utf-8")
    write_section(Q.SECTION + "\n\nfirst\n", Q.SECTION, doc)
    write_section(Q.SECTION + "\n\nsecond\n", Q.SECTION, doc)
    text = doc.read_text(encoding="utf-8")
    assert "keep" in text and "second" in text and "first" not in text and text.count(Q.SECTION) == 1
