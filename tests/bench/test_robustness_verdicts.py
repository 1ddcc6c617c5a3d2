"""bench/robustness.py's verdicts: one GOAL line per goal of issue #14, each MET or NOT MET from the figures."""

from __future__ import annotations

import copy

from bench import _robust_attacks as RA
from bench import robustness as R


def _gain(g: float) -> dict:
    return {"median_rank_gain": g, "p90_rank_gain": g, "median_score_change": 0.0, "top10_share": 0.0, "n": 5}


def _pgd(p: float, g: float) -> dict:
    return {"success": {RA.STRONGEST: p}, "median_logit_gain": {RA.STRONGEST: g}}


RESULT = {
    "rank_gains": {
        "undefended": {"stuffing@1": _gain(12), "job_ad_paste@1": _gain(30)},
        "l2": {"stuffing@1": _gain(0), "stuffing@3": _gain(1), "job_ad_paste@1": _gain(-2)},
    },
    "pgd": {"uncalibrated": _pgd(0.4, 1.0), "l2 (transfer)": _pgd(0.1, 0.2), "l2 (adaptive)": _pgd(0.3, 0.6)},
    "quality": {"uncalibrated": {"ndcg@10": 0.40}, "l2": {"ndcg@10": 0.398}},
    "detector": {
        "recall": 0.95,
        "false_flag_rate_real": 0.001,
        "real_resumes": 1000,
        "precision": 1.0,
        "recall_per_attack": {"synonyms": 0.0},
    },  # fmt: skip
}


def test_one_goal_line_per_goal_with_met_or_not_met():
    lines = R.verdicts(RESULT)
    assert all(v.startswith("GOAL") and v.endswith(("MET", "NOT MET")) for v in lines)
    assert len(lines) == 6  # stuffing, paste, PGD transfer and adaptive, NDCG, detector
    met = [v for v in lines if v.endswith(" MET") and "NOT MET" not in v]
    assert len(met) == 5 and "adaptive" in next(v for v in lines if "NOT MET" in v)


def test_the_runtime_goal_reads_the_wall_time_of_a_full_run():
    meta = {
        "total_seconds": 1500,
        "cpu_seconds": 500,
        "load_before": 9,
        "load_after": 12,
        "scope": "full kandij data",
    }
    assert R.verdicts({**RESULT, "meta": meta})[-1].endswith("NOT MET")
    assert R.verdicts({**RESULT, "meta": {**meta, "total_seconds": 900}})[-1].endswith(" MET")
    assert "NOT MET" in R.verdicts({**RESULT, "meta": {**meta, "total_seconds": 60, "scope": "quick"}})[-1]


def test_each_goal_follows_its_figure():
    r = copy.deepcopy(RESULT)
    r["rank_gains"]["l2"]["stuffing@3"] = _gain(2)
    r["quality"]["l2"]["ndcg@10"] = 0.39
    r["detector"]["recall"] = 0.89
    r["pgd"]["uncalibrated"] = _pgd(0.0, 0.1)
    lines = R.verdicts(r)
    assert all("NOT MET" in v for v in lines if "job_ad_paste" not in v)
    assert "nothing to halve" in next(v for v in lines if "transfer" in v)
