"""``fit_calibration``: the training step that gives a trained model its calibration head (after the views are
trained, before the artifact is written), with the head's figures on a validation share of the resumes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..embedding import EmbeddingCache
from ..textview import embed_sections
from ..types import MatchingData, ResumeDoc
from .adversarial import AdversarialSet, mismatched_jobs, pgd_adversarial, text_adversarial
from .calibration import OBJECTIVES, fit_head, occupation_centers

VALIDATION_SHARE = 0.2


def _gains(model, data: MatchingData, adv: AdversarialSet) -> np.ndarray:
    """Total-score gain of each attacked resume over its clean original for its target job."""
    docs: list[ResumeDoc] = list(adv.docs or [])
    originals = [data.resumes[i] for i in adv.resume.tolist()]
    pairs = np.stack([adv.job, np.arange(len(docs))], 1)
    attacked = model.score_pairs(data.jobs, docs, pairs).total
    clean = model.score_pairs(data.jobs, originals, pairs).total
    return np.asarray(attacked, np.float64) - np.asarray(clean, np.float64)


def _clean_drift(model, data: MatchingData, resumes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    pairs = np.stack([rng.integers(0, len(data.jobs), size=len(resumes)), resumes], 1)
    return np.asarray(model.score_pairs(data.jobs, data.resumes, pairs).total, np.float64)


def fit_calibration(
    model,
    data: MatchingData,
    config,
    cache: EmbeddingCache,
    report: Callable[[str, dict], None] | None = None,
    *,
    sections: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:
    """Train ``config.calibration``'s head on adversarial examples of a sample of the training resumes, set it on
    ``model``, and return the validation figures (median score gain under the text attacks before and after,
    median absolute change of clean scores). A model without a text view, or data without resumes, gets none.
    ``sections``: the documents' ``embed_sections`` rows (jobs, resumes) when the caller holds them already
    (training does: a second copy of every resume's sections was ~0.8 GB at 100k resumes)."""
    objective = config.calibration
    if objective not in OBJECTIVES:
        raise ValueError(f"calibration must be one of {OBJECTIVES}, not {objective!r}")
    if objective == "none" or model.text_view is None or len(data.resumes) < 10 or len(data.jobs) < 4:
        return {"objective": "none"}
    rng = np.random.default_rng(config.seed + 7)
    ej, er = sections or (embed_sections(data.jobs, cache), embed_sections(data.resumes, cache))
    usable = np.flatnonzero(np.abs(er[:, -1]).sum(1) > 0)
    sample = rng.permutation(usable)[: config.calibration_resumes]
    n_val = max(2, int(VALIDATION_SHARE * len(sample)))
    val, fit = sample[:n_val], sample[n_val:]
    targets = mismatched_jobs(ej[:, -1], er[:, -1], rng, only=sample)
    if report:
        report("attacks", {"resumes": len(sample)})
    text_fit = text_adversarial(data.jobs, data.resumes, fit, targets[fit], er, cache, rng)
    pgd_fit = pgd_adversarial(model, ej, er, fit, targets[fit])
    train_set = AdversarialSet.concat([text_fit, pgd_fit])
    centers = occupation_centers(ej[:, -1], [j.category for j in data.jobs], seed=config.seed)
    if report:
        report("calibrate", {"adversarial_examples": len(train_set.kind)})
    head = fit_head(
        train_set.adv,
        train_set.clean,
        er[fit],
        objective=objective,
        centers=centers,
        hidden=config.calibration_hidden,
        epochs=config.calibration_epochs,
        reg_weight=config.calibration_reg,
        seed=config.seed,
    )
    text_val = text_adversarial(data.jobs, data.resumes, val, targets[val], er, cache, rng)
    before, clean_before = (
        _gains(model, data, text_val),
        _clean_drift(model, data, val, np.random.default_rng(1)),
    )
    model.set_calibration(head)
    after, clean_after = (
        _gains(model, data, text_val),
        _clean_drift(model, data, val, np.random.default_rng(1)),
    )
    return {
        "objective": objective,
        "resumes": int(len(sample)),
        "adversarial_examples": int(len(train_set.kind)),
        "centers": int(len(centers)),
        "validation_resumes": int(len(val)),
        "val_median_gain_before": float(np.median(before)),
        "val_median_gain_after": float(np.median(after)),
        "val_clean_median_abs_change": float(np.median(np.abs(clean_after - clean_before))),
    }
