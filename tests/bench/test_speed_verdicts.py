"""Issue #17's verdict lines follow the figures: a goal met only when its figure is there and within bounds."""

from __future__ import annotations

from bench._speed_verdicts import serving_verdicts, training_scale_verdicts


def _scale(scale, total_s, rss_mb, spe, ndcg, stopped=False, cache_texts=0):
    return {
        "scale": scale,
        "total_s": total_s,
        "peak_rss_mb": rss_mb,
        "seconds_per_epoch": spe,
        "epochs_done": 10,
        "stopped_early": stopped,
        "cache_texts": cache_texts,
        "config": {"epochs": 10},
        "holdout": {"ndcg_at_10": ndcg},
    }


def test_training_scale_verdicts_flip_with_the_figures():
    good = training_scale_verdicts([_scale(0.1, 100, 900, 30.0, 0.30), _scale(1.0, 1500, 3000, 250.0, 0.31)])
    assert len(good) == 3 and all(v.startswith("GOAL") and v.endswith(": MET") for v in good)
    bad = training_scale_verdicts(
        [_scale(0.1, 100, 900, 30.0, 0.30), _scale(1.0, 2000, 8000, 900.0, 0.31, stopped=True, cache_texts=5)]
    )
    assert all(v.endswith("NOT MET") for v in bad)
    assert training_scale_verdicts([])[0].endswith("NOT MET")  # not run is not met


def test_serving_verdicts_one_line_per_goal_and_missing_figures_are_not_met():
    empty = serving_verdicts({})
    assert len(empty) == 5 and all(v.startswith("GOAL") and v.endswith("NOT MET") for v in empty)
    fast = serving_verdicts(
        {
            "rerank": {"warm": {"p50_ms": 20.0}},
            "ann": [{"n": 1_000_000, "backend": "x", "p95_ms": 0.8, "recall_at_20": 0.97, "build_s": 100}],
        }
    )
    assert fast[1].endswith(": MET") and fast[4].endswith(": MET")
