"""The platform's compatibility defaults are the ones bench/compatibility.py chose on its validation split."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from bench._compat_offline import CANDIDATES

VALIDATION = Path(__file__).resolve().parents[2] / "bench" / "results" / "compatibility_validation.json"


def test_settings_follow_the_validation_choices(monkeypatch):
    for name in ("COMPAT_DRIFT_METHOD", "COMPAT_FIT_SAMPLE", "COMPAT_RIDGE", "COMPAT_DISTILL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TANDEM_TRAIN_STATIONARY_HEAD", raising=False)
    settings = importlib.reload(importlib.import_module("config.settings"))
    val = json.loads(VALIDATION.read_text())["offline"]["validation"]
    method, sample, ridge = CANDIDATES[val["chosen_method"]]
    assert (settings.COMPAT_DRIFT_METHOD, settings.COMPAT_FIT_SAMPLE, settings.COMPAT_RIDGE) == (
        method,
        sample,
        ridge,
    )
    on = val["head_distill_default"]
    assert settings.TRAINING_CONFIG["stationary_head"] is on
    assert settings.COMPAT_DISTILL is on
