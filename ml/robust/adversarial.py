"""Adversarial examples for calibration and measurement: text attacks (sanitised, as serving embeds them) and
PGD on section embeddings against a trained network's text view, each aimed at a job the resume does not fit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..embedding import EmbeddingCache
from ..textview import embed_sections
from ..types import JobDoc, ResumeDoc
from .attacks import TEXT_ATTACKS
from .detector import sanitize
from .pgd import ScoreFn, pgd_attack

# (norm, epsilon) of the PGD examples calibration trains on; per section the embeddings are unit vectors, so
# L-inf 4/255 (the paper's strongest image epsilon) moves a section by up to 0.31 in L2
PGD_BUDGETS = (("linf", 2 / 255), ("linf", 4 / 255), ("l2", 0.25), ("l2", 0.5))
ATTACK_STRENGTHS = {"skill_repetition": (20, 50), "characters": (3, 10)}


@dataclass
class AdversarialSet:
    """Adversarial section embeddings with their clean originals, the resume and target job they came from."""

    adv: np.ndarray  # (N, S, D)
    clean: np.ndarray  # (N, S, D)
    resume: np.ndarray  # (N,) resume index
    job: np.ndarray  # (N,) target job index
    kind: list[str]
    docs: list[ResumeDoc] | None = None  # the attacked resumes (text attacks)

    @classmethod
    def concat(cls, parts: Sequence[AdversarialSet]) -> AdversarialSet:
        parts = [p for p in parts if len(p.kind)]
        return cls(
            np.concatenate([p.adv for p in parts]),
            np.concatenate([p.clean for p in parts]),
            np.concatenate([p.resume for p in parts]),
            np.concatenate([p.job for p in parts]),
            [k for p in parts for k in p.kind],
        )


def mismatched_jobs(
    job_whole: np.ndarray,
    resume_whole: np.ndarray,
    rng: np.random.Generator,
    *,
    only: np.ndarray | None = None,
    rows: int = 1024,
) -> np.ndarray:
    """Per resume, a random job among the half of all jobs least similar to it (whole-document cosine); with
    ``only`` (resume indices), for those resumes alone (the others get -1) after the same draws from ``rng``.

    Chunks of ``rows`` resumes: the whole (resumes x jobs) similarity matrix and its argpartition held ~12 GB at
    100k resumes x 10k jobs (bench/training_scale.py), for a calibration that reads 120 of them."""
    half = max(1, job_whole.shape[0] // 2)
    pick = rng.integers(0, half, size=len(resume_whole))
    todo = np.arange(len(resume_whole)) if only is None else np.asarray(only, np.int64)
    out = np.full(len(resume_whole), -1, np.int64)
    for a in range(0, len(todo), rows):
        r = todo[a : a + rows]
        low = np.argpartition(resume_whole[r] @ job_whole.T, half - 1, axis=1)[:, :half]
        out[r] = low[np.arange(len(r)), pick[r]]
    return out


def text_adversarial(
    jobs: Sequence[JobDoc],
    resumes: Sequence[ResumeDoc],
    sel: np.ndarray,
    targets: np.ndarray,
    clean: np.ndarray,
    cache: EmbeddingCache,
    rng: np.random.Generator,
    attacks: Sequence[str] = tuple(TEXT_ATTACKS),
) -> AdversarialSet:
    """Every attack on each selected resume against its target job, at a random strength, sanitised."""
    docs, rows, kinds = [], [], []
    for i, t in zip(sel.tolist(), targets.tolist(), strict=True):
        for name in attacks:
            strength = int(rng.choice(ATTACK_STRENGTHS.get(name, (1, 3))))
            docs.append(sanitize(TEXT_ATTACKS[name](resumes[i], jobs[t], strength)))
            rows.append((i, t))
            kinds.append(name)
    r = np.array([a for a, _ in rows], np.int64)
    j = np.array([b for _, b in rows], np.int64)
    return AdversarialSet(embed_sections(docs, cache), clean[r], r, j, kinds, docs)


def text_view_score_fn(model, ej: torch.Tensor, *, calibrated: bool) -> ScoreFn:
    """Logit of the model's text view for the given jobs' sections (B, S, D) and resume sections (B, S, D), with
    or without the model's calibration head in front of the resume side (white-box)."""
    tv = model.text_view
    with torch.no_grad():
        j, _ = tv.job_tower(ej)
    head = model.calibration if calibrated else None

    def score(er: torch.Tensor) -> torch.Tensor:
        er_c = head(er) if head is not None else er
        r, _ = tv.resume_tower(er_c)
        return tv.head_logit(j, r, ej, er_c)

    return score


def pgd_adversarial(
    model,
    ej_all: np.ndarray,
    er_all: np.ndarray,
    sel: np.ndarray,
    targets: np.ndarray,
    budgets: Sequence[tuple[str, float]] = PGD_BUDGETS,
    *,
    calibrated: bool = False,
    steps: int = 10,
) -> AdversarialSet:
    """PGD examples of each selected resume against its target job at each (norm, epsilon)."""
    parts = []
    ej = torch.from_numpy(ej_all[targets])
    er = torch.from_numpy(er_all[sel])
    fn = text_view_score_fn(model, ej, calibrated=calibrated)
    for norm, eps in budgets:
        adv = pgd_attack(er, fn, eps=eps, norm=norm, steps=steps).numpy()
        parts.append(AdversarialSet(adv, er_all[sel], sel, targets, [f"pgd_{norm}_{eps:.4f}"] * len(sel)))
    return AdversarialSet.concat(parts)
