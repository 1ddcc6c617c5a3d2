"""Issue #17's verdict lines follow the figures: a goal met only when its figure is there and within bounds."""

from __future__ import annotations

from bench._speed_verdicts import serving_verdicts, training_scale_verdicts


def _scale(scale, total_s, rss_mb, spe, ndcg, stopped=False, stored_rows=1000, encoder_calls=0):
    return {
        "scale": scale,
        "total_s": total_s,
        "peak_rss_mb": rss_mb,
        "seconds_per_epoch": spe,
        "epochs_done": 10,
        "stopped_early": stopped,
        "section_vector_rows": stored_rows,
        "encoder_calls_during_training": encoder_calls,
        "config": {"epochs": 10},
        "holdout": {"ndcg_at_10": ndcg},
    }


def test_training_scale_verdicts_flip_with_the_figures():
    good = training_scale_verdicts([_scale(0.1, 100, 900, 30.0, 0.30), _scale(1.0, 1500, 3000, 250.0, 0.31)])
    assert len(good) == 3 and all(v.startswith("GOAL") and v.endswith(": MET") for v in good)
    bad = training_scale_verdicts(
        [_scale(0.1, 100, 900, 30.0, 0.30), _scale(1.0, 2000, 8000, 900.0, 0.31, stopped=True, stored_rows=0)]
    )
    assert all(v.endswith("NOT MET") for v in bad)
    assert training_scale_verdicts([])[0].endswith("NOT MET")  # not run is not met
    tenth, full = _scale(0.1, 100, 900, 30.0, 0.30), _scale(1.0, 1500, 3000, 250.0, 0.31)
    tenth["invocation"], full["invocation"] = "2026-11-25T10:00:00Z", "2026-11-30T16:00:00Z"
    apart = training_scale_verdicts([tenth, full])[2]
    assert "not measured side by side" in apart and apart.endswith(
        "NOT MET"
    )  # a ratio of two runs is no ratio


def test_serving_verdicts_one_line_per_goal_and_missing_figures_are_not_met():
    empty = serving_verdicts({})
    assert len(empty) == 5 and all(v.startswith("GOAL") and v.endswith("NOT MET") for v in empty)
    fast = serving_verdicts(
        {
            "rerank": {"warm": {"p50_ms": 20.0}},
            "ann": [
                {
                    "n": 1_000_000,
                    "backend": "x",
                    "p95_ms": 0.8,
                    "recall_at_20": 0.97,
                    "build_s": 100,
                    "served": True,
                }
            ],
        }
    )
    assert fast[1].endswith("NOT MET") and fast[4].endswith(": MET")  # the ml-only rerank is not what serves
    unserved = [{"n": 1_000_000, "backend": "y", "p95_ms": 0.5, "recall_at_20": 0.99, "build_s": 10}]
    assert serving_verdicts({"ann": unserved})[4].endswith("NOT MET")  # a setting serving does not run
    api = {
        "api_model": {
            "cold_rerank_stage": {"p50_ms": 60.0, "n": 5},
            "reranked": 200,
            "warm_rerank_stage": {"p50_ms": 25.0},
            "cached": {"p95_ms": 12.0},
            "bare_me": {"p95_ms": 10.0},
        }
    }
    assert all(v.endswith(": MET") for v in serving_verdicts(api)[:3])
    api["api_model"]["cached"]["p95_ms"] = 16.0
    api["api_model"]["cold_rerank_stage"]["p50_ms"] = 140.0
    worse = serving_verdicts(api)
    assert worse[0].endswith("NOT MET") and worse[1].endswith(": MET") and worse[2].endswith("NOT MET")


def test_uncached_verdict_needs_both_sizes_within_the_bound():
    def run(n, p95):
        return {"resumes": n, "uncached_warm": {"p95_ms": p95}}

    line = serving_verdicts({"api": [run(100_000, 80.0)]})[3]
    assert "not measured at 1,000,000" in line and line.endswith("NOT MET")  # one size is half the goal
    assert serving_verdicts({"api": [run(100_000, 80.0), run(1_000_000, 95.0)]})[3].endswith(": MET")
    assert serving_verdicts({"api": [run(100_000, 80.0), run(1_000_000, 130.0)]})[3].endswith("NOT MET")
    assert serving_verdicts({"api": run(100_000, 80.0)})[3].endswith("NOT MET")  # an older file's single run
