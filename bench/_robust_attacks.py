"""The attack measurements of bench/robustness.py: rank gains of mismatched resumes under each text attack (as the
platform serves them), PGD success, and the detector's precision and recall."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from ml.robust.adversarial import text_view_score_fn
from ml.robust.attacks import TEXT_ATTACKS
from ml.robust.detector import detect, detect_for_job, sanitize, sanitize_for_job
from ml.robust.pgd import pgd_attack
from ml.textview import embed_sections

# attack -> strengths measured
STRENGTHS = {
    "stuffing": (1, 3, 10),
    "job_ad_paste": (1, 2),
    "injected_instructions": (1,),
    "skill_repetition": (20, 50),
    "synonyms": (1, 2),
    "characters": (3, 10),
    "invisible_characters": (1, 3),
}
# in the detector's scope (the issue: stuffing density, pasted job text, injected instructions, hidden characters)
DETECTABLE = ("stuffing", "job_ad_paste", "injected_instructions", "skill_repetition", "characters",
              "invisible_characters")  # fmt: skip
PGD_EPS = (("linf", 1 / 255), ("linf", 2 / 255), ("linf", 4 / 255), ("linf", 16 / 255), ("l2", 0.5), ("l2", 1.0),
           ("l2", 2.0))  # fmt: skip
STRONGEST = "linf_0.0157"


def served_scores(model, job, docs: list, *, defended: bool) -> np.ndarray:
    """Total scores of resumes for one job as the platform serves them when ``defended``: each resume
    sanitised (matching.documents), and a resume that copies this job scored without the copy
    (matching.integrity.guard_candidates). Undefended: the raw text."""
    if not defended:
        return np.asarray(model.rank_resumes(job, docs).total, np.float64)
    clean = [_sanitized(d) for d in docs]
    s = np.asarray(model.rank_resumes(job, clean).total, np.float64)
    flagged = [i for i, d in enumerate(clean) if detect_for_job(d, job)]
    if flagged:
        cut = np.asarray(model.rank_resumes(job, [sanitize_for_job(clean[i], job) for i in flagged]).total)
        s[flagged] = s[flagged] - np.maximum(0.0, s[flagged] - cut)
    return s


_sanitized = lru_cache(maxsize=200_000)(sanitize)  # the pool is sanitised once, not once per job


def _rank(score: float, pool: np.ndarray) -> int:
    return int(1 + np.sum(pool > score))


def rank_gains(model, jobs, resumes, pairs, pool_docs, *, defended: bool) -> dict:
    """Per attack and strength: rank gains (positive = moved up) and score changes of each mismatched resume for
    its target job, among the pool, plus the share pushed into the top 10 (from outside it). Per job one scoring
    call holds the pool, the clean resumes and every attacked version, so all are scored side by side."""
    by_job: dict[int, list[int]] = {}
    for n, (_, j) in enumerate(pairs):
        by_job.setdefault(int(j), []).append(n)
    variants = [(name, st) for name, strengths in STRENGTHS.items() for st in strengths]
    rows: dict[tuple[str, int], list[tuple[float, float, int, int]]] = {}
    for j, ns in by_job.items():
        job = jobs[j]
        clean = [resumes[pairs[n][0]] for n in ns]
        attacked = [TEXT_ATTACKS[name](c, job, st) for name, st in variants for c in clean]
        s = served_scores(model, job, [*pool_docs, *clean, *attacked], defended=defended)
        pool, base = s[: len(pool_docs)], s[len(pool_docs) : len(pool_docs) + len(clean)]
        att = s[len(pool_docs) + len(clean) :].reshape(len(variants), len(clean))
        for v, key in enumerate(variants):
            for b, a in zip(base, att[v], strict=True):
                rows.setdefault(key, []).append((b, a, _rank(b, pool), _rank(a, pool)))
    out: dict[str, dict] = {}
    for (name, st), v in rows.items():
        arr = np.array(v, dtype=np.float64)
        gain = arr[:, 2] - arr[:, 3]
        out[f"{name}@{st}"] = {
            "median_rank_gain": float(np.median(gain)),
            "p90_rank_gain": float(np.percentile(gain, 90)),
            "median_score_change": float(np.median(arr[:, 1] - arr[:, 0])),
            "top10_share": float(np.mean((arr[:, 3] <= 10) & (arr[:, 2] > 10))),
            "n": len(v),
        }
    return out


def pgd_success(model, cache, jobs, resumes, pairs, pool_idx, *, calibrated: bool, adaptive: bool) -> dict:
    """Share of mismatched resumes that PGD (on the section embeddings, against the text view) pushes into their
    target job's top 10 of the pool by the text view's score. ``adaptive``: the attack sees the calibration head;
    otherwise it is crafted on the uncalibrated network and then served through the head (transfer)."""
    ej = embed_sections([jobs[j] for _, j in pairs], cache)
    er = embed_sections([resumes[r] for r, _ in pairs], cache)
    pool_e = torch.from_numpy(embed_sections([resumes[i] for i in pool_idx], cache))
    ej_t, er_t = torch.from_numpy(ej), torch.from_numpy(er)
    serve = text_view_score_fn(model, ej_t, calibrated=calibrated)
    craft = text_view_score_fn(model, ej_t, calibrated=calibrated and adaptive)
    with torch.no_grad():
        tenth = []
        for j in range(len(pairs)):  # the 10th best pool score for each pair's job
            fn = text_view_score_fn(model, ej_t[j : j + 1].expand(len(pool_e), -1, -1), calibrated=calibrated)
            tenth.append(float(torch.topk(fn(pool_e), 10).values[-1]))
        tenth_t = torch.tensor(tenth)
        before = serve(er_t) > tenth_t
    out, gain = {}, {}
    with torch.no_grad():
        clean_score = serve(er_t)
    for norm, eps in PGD_EPS:
        adv = pgd_attack(er_t, craft, eps=eps, norm=norm, steps=20)
        with torch.no_grad():
            adv_score = serve(adv)
        after = adv_score > tenth_t
        key = f"{norm}_{eps:.4f}"
        out[key] = float(((after) & (~before)).float().sum() / max(1, int((~before).sum())))
        gain[key] = float((adv_score - clean_score).median())
    return {"success": out, "median_logit_gain": gain}


def detector_figures(jobs, resumes, pairs, clean_real: list) -> dict:
    """Recall per attack (resume flags plus this job's flags, as a ranked row shows them), precision over the
    attacked and the untouched pair sets, and the false-flag rate of ``detect`` on clean real resumes."""
    hits: dict[str, list[bool]] = {}
    for r, j in pairs:
        for name, strengths in STRENGTHS.items():
            for st in strengths:
                doc = TEXT_ATTACKS[name](resumes[r], jobs[j], st)
                hits.setdefault(name, []).append(bool(detect(doc) or detect_for_job(sanitize(doc), jobs[j])))
    clean_pair_flags = [bool(detect(resumes[r]) or detect_for_job(resumes[r], jobs[j])) for r, j in pairs]
    in_scope = [h for k in DETECTABLE for h in hits[k]]
    tp, fp = sum(in_scope), sum(clean_pair_flags)
    real_flags = [bool(detect(d)) for d in clean_real] or [False]
    return {
        "recall": float(np.mean(in_scope)),
        "recall_per_attack": {k: float(np.mean(v)) for k, v in hits.items()},
        "precision": float(tp / max(1, tp + fp)),
        "clean_pair_flag_rate": float(np.mean(clean_pair_flags)),
        "false_flag_rate_real": float(np.mean(real_flags)),
        "real_resumes": len(clean_real),  # (none given: the rate is 0 by definition)
        "real_flagged": int(sum(real_flags)),
    }


APPLY_SHARE = 0.3  # the indiscriminate applier applies to this share of all jobs (its target among them)


def applier_gains(
    model, jobs, resumes, pairs, pool_docs, *, share: float = APPLY_SHARE, seed: int = 0
) -> dict:
    """The interaction attack: each mismatched resume applies to ``share`` of all jobs, its target job among them.
    Its rank gain for the target among the pool, as served (the relation view's selectivity cut drops the signals
    of a candidate over the cap: ml/robust/selectivity.py) and with the cut lifted (cap above every job count)."""
    from ml.robust.attacks import apply_to_share
    from ml.types import InteractionEvent

    cfg = model.config
    keep = (cfg.max_apply_share, cfg.max_apply_min)
    gains: dict[str, list[int]] = {"with selectivity (served)": [], "without selectivity": []}
    for n, (r, j) in enumerate(pairs):
        res, job = resumes[r], jobs[j]
        events = apply_to_share(res.id, jobs, share, seed=seed + n)
        if all(e.job_id != job.id for e in events):
            events.append(InteractionEvent(job.id, res.id, "apply", float(len(events))))
        docs = [*pool_docs, res]
        base = np.asarray(model.rank_resumes(job, docs).total, np.float64)
        r0 = _rank(base[-1], base[:-1])
        for name, cap in (("with selectivity (served)", keep), ("without selectivity", (1.0, 10**9))):
            cfg.max_apply_share, cfg.max_apply_min = cap
            try:
                s = np.asarray(model.rank_resumes(job, docs, interactions=events).total, np.float64)
            finally:
                cfg.max_apply_share, cfg.max_apply_min = keep
            gains[name].append(r0 - _rank(s[-1], s[:-1]))
    return {
        k: {
            "median_rank_gain": float(np.median(v)),
            "p90_rank_gain": float(np.percentile(v, 90)),
            "n": len(v),
        }
        for k, v in gains.items()
    } | {"share_applied": share}
