"""Robustness benchmark (issue #14): can a candidate buy a score? Real data, one command:

    .venv/bin/python bench/robustness.py [--quick]

1. The kandij job views, split by the quality benchmark's protocol (bench/_protocol.py); the network trained on the
   training views (calibration off), then one calibration head per objective fitted on top (the same step
   ``ml.network.train`` runs last), so every variant shares the views and differs only by its head.
2. Clean NDCG@10 / Recall@50 of each variant on the protocol's test cases.
3. Mismatched pairs: a test applicant's resume and a job ad of kandij-jobs-subset (real postings with text; skills
   = the tech terms the ad names) from the half of the ads least like the resume. Each text attack at several
   strengths; the resume's rank for the job among a pool of other resumes, before and after, undefended (raw text,
   uncalibrated) and as the platform serves it (sanitised, the per-job guard, calibrated).
4. PGD on the section embeddings against the text view at several epsilons: success = pushed into the job's top 10.
5. The detector: recall on attacked resumes, precision, false flags on the untouched real resumes (kandij
   applicants and the category-labelled resume set).
JSON: bench/results/robustness.json (with ``verdicts``); table: "Robustness" section of docs/results.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _protocol as proto  # noqa: E402
from bench import _robust_attacks as RA  # noqa: E402
from bench._results_doc import publish  # noqa: E402

SECTION = "## Robustness (bench/robustness.py)"
RESULTS_JSON = ROOT / "bench" / "results" / "robustness.json"
CACHE_PATH = ROOT / "bench" / "results" / ".cache" / "minilm.npz"
DATA = Path(os.environ.get("TANDEM_SHARED_DATA", "/work/shared/data"))
OBJECTIVES = ("l2", "center_ce", "infonce")
DEFAULT_OBJECTIVE = "l2"  # TrainConfig's default (chosen on the calibration's validation share)
TECH_TERMS = ("python", "java", "javascript", "sql", "c#", "c++", ".net", "php", "ruby", "linux", "aws", "azure",
              "oracle", "sap", "excel", "html", "css", "react", "angular", "node", "docker", "kubernetes", "hadoop",
              "spark", "tableau", "salesforce", "sharepoint", "vmware", "cisco", "unix", "perl", "scala", "agile",
              "scrum", "jira", "git", "jenkins", "selenium", "android", "ios", "mysql", "postgresql", "mongodb",
              "networking", "security", "testing", "etl", "data warehouse", "project management", "helpdesk")  # fmt: skip


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="plumbing check: small sample, one objective")
    ap.add_argument("--pairs", type=int, default=30, help="mismatched resume-job pairs attacked")
    ap.add_argument("--pool", type=int, default=150, help="resumes each target job ranks")
    ap.add_argument(
        "--epochs", type=int, default=3, help="network epochs (bounded by epochs, not by the clock)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--render", action="store_true", help="rewrite verdicts and the docs section from the JSON"
    )
    return ap.parse_args(argv)


def posting_jobs(limit: int, seed: int) -> list:
    """Job ads with text (kandij-jobs-subset): title, description, the tech terms the ad names as skills."""
    from ml.types import JobDoc

    csv.field_size_limit(10**9)
    with open(DATA / "kandij-jobs-subset" / "tech_jobs.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.permutation(len(rows))[:limit]:
        r = rows[int(i)]
        text = r["combined_text"].replace("&nbsp;", " ")
        low = text.lower()
        skills = tuple(t for t in TECH_TERMS if re.search(rf"(?<![\w+#]){re.escape(t)}(?![\w+#])", low))[:10]
        title, _, company = r["job_title"].partition(" @ ")
        out.append(
            JobDoc(id=f"ad{r['job_id']}", title=title, description=text, skills=skills, company=company)
        )
    return out


def category_resumes() -> list:
    from ml.types import ResumeDoc

    csv.field_size_limit(10**9)
    with open(DATA / "resume-categories" / "resumes.csv", newline="", encoding="utf-8") as fh:
        return [ResumeDoc(id=f"c{i}", summary=r["Resume"]) for i, r in enumerate(csv.DictReader(fh))]


def fit_variants(split, cache, args, log) -> dict:
    """The network once (calibration off), then a head per objective on a copy (``ml.network.train``'s last step)."""
    from ml.artifacts import load_model_from_bytes, save_model_to_bytes
    from ml.network import TrainConfig, train
    from ml.robust.fitting import fit_calibration

    cfg = TrainConfig(seed=args.seed, calibration="none", epochs=args.epochs)
    t = time.monotonic()
    base = train(split.train_data(), cfg, cache=cache)
    log(f"network trained in {time.monotonic() - t:.0f} s")
    variants, reports = {"uncalibrated": base}, {}
    blob = save_model_to_bytes(base)
    for obj in OBJECTIVES[:1] if args.quick else OBJECTIVES:
        t = time.monotonic()
        m = load_model_from_bytes(blob)
        m.use_cache(cache)
        cfg.calibration = obj
        reports[obj] = fit_calibration(m, split.train_data(), cfg, cache)
        reports[obj]["seconds"] = time.monotonic() - t
        variants[obj] = m
        log(f"calibration {obj} in {reports[obj]['seconds']:.0f} s")
    return {"models": variants, "reports": reports}


class _Scorer:
    def __init__(self, model):
        self.model = model

    def score_batch(self, split, cases):
        pairs = np.concatenate([np.stack([c, np.full(len(c), r)], 1) for r, c in cases]).astype(np.int64)
        total = self.model.score_pairs(split.data.jobs, split.data.resumes, pairs).total
        return np.split(np.asarray(total, np.float64), np.cumsum([len(c) for _, c in cases])[:-1])


def mismatched_pairs(split, ads, cache, n, pool, seed):
    """(resume index, ad index) pairs: test applicants with text against an ad from the half least like them;
    and the pool of other resumes each ad ranks."""
    from ml.robust.adversarial import mismatched_jobs
    from ml.textview import embed_sections

    rng = np.random.default_rng(seed + 1)
    resumes = split.data.resumes
    cands = [int(r) for r in split.test_resume if resumes[int(r)].full_text().strip()]
    sel = np.array(sorted(rng.choice(cands, size=min(n, len(cands)), replace=False)))
    ej = embed_sections(ads, cache)[:, -1]
    er = embed_sections([resumes[i] for i in sel], cache)[:, -1]
    targets = mismatched_jobs(ej, er, rng)
    others = np.setdiff1d(np.arange(len(resumes)), sel)
    pool_idx = rng.choice(others, size=min(pool, len(others)), replace=False)
    return [(int(r), int(j)) for r, j in zip(sel, targets, strict=True)], pool_idx


def kandij_targets(data, pairs, cache, seed: int) -> list[tuple[int, int]]:
    """The same resumes against a kandij job (in the relation graph) from the half least like each of them."""
    from ml.robust.adversarial import mismatched_jobs
    from ml.textview import embed_sections

    rows = [r for r, _ in pairs]
    ej = embed_sections(data.jobs, cache)[:, -1]
    er = embed_sections([data.resumes[r] for r in rows], cache)[:, -1]
    targets = mismatched_jobs(ej, er, np.random.default_rng(seed + 2))
    return [(r, int(j)) for r, j in zip(rows, targets, strict=True)]


def detector_validation_pairs(split, n: int, seed: int):
    """Training applicants (never the test resumes) against other ads: where the detector's thresholds were set."""
    test = {int(i) for i in split.test_resume}
    rng = np.random.default_rng(seed + 5)
    res = split.data.resumes
    train = [i for i in range(len(res)) if i not in test and res[i].full_text().strip()]
    ads = posting_jobs(200, seed + 1)
    sel = rng.choice(train, size=min(n, len(train)), replace=False)
    return [(int(r), int(rng.integers(len(ads)))) for r in sel], ads


def clean_quality(split, models: dict) -> dict:
    out = {}
    for name, m in models.items():
        res = proto.evaluate(split, _Scorer(m))
        out[name] = {"ndcg@10": float(np.mean(res["ndcg@10"])), "recall@50": float(np.mean(res["recall@50"]))}
    return out


def run(args, log) -> dict:
    from ml.data.kandij import load_kandij
    from ml.embedding import EmbeddingCache, get_encoder

    CACHE_PATH.parent.mkdir(parents=True, exist_ok=True)
    cache = EmbeddingCache(get_encoder(), path=str(CACHE_PATH))
    applicants = None
    if args.quick:
        from bench.quality import quick_applicants

        applicants = quick_applicants(str(DATA / "kandij-job-views"))
    data = load_kandij(
        DATA / "kandij-job-views", applicants=applicants, postings_dir=DATA / "kandij-jobs-subset"
    )
    split = proto.leave_last_out(data)
    log(f"{len(data.jobs)} jobs, {len(data.resumes)} resumes, {len(split.test_resume)} test cases")
    fitted = fit_variants(split, cache, args, log)
    cache.save()  # the corpus's encodings survive a stopped run
    models = fitted["models"]
    quality = clean_quality(split, models)
    log(f"clean quality {quality}")
    ads = posting_jobs(200 if not args.quick else 40, args.seed)
    pairs, pool_idx = mismatched_pairs(split, ads, cache, args.pairs, args.pool, args.seed)
    pool_docs = [data.resumes[i] for i in pool_idx]
    gains = {
        "undefended": RA.rank_gains(
            models["uncalibrated"], ads, data.resumes, pairs, pool_docs, defended=False
        )
    }
    gains["sanitised"] = RA.rank_gains(
        models["uncalibrated"], ads, data.resumes, pairs, pool_docs, defended=True
    )
    log("rank gains: undefended and sanitised")
    pgd = {"uncalibrated": RA.pgd_success(models["uncalibrated"], cache, ads, data.resumes, pairs, pool_idx,
                                          calibrated=False, adaptive=False)}  # fmt: skip
    for obj in fitted["reports"]:
        gains[obj] = RA.rank_gains(models[obj], ads, data.resumes, pairs, pool_docs, defended=True)
        pgd[f"{obj} (transfer)"] = RA.pgd_success(models[obj], cache, ads, data.resumes, pairs, pool_idx,
                                                  calibrated=True, adaptive=False)  # fmt: skip
        pgd[f"{obj} (adaptive)"] = RA.pgd_success(models[obj], cache, ads, data.resumes, pairs, pool_idx,
                                                  calibrated=True, adaptive=True)  # fmt: skip
        log(f"attacks on {obj}")
    served = models.get(DEFAULT_OBJECTIVE, models["uncalibrated"])
    applier = RA.applier_gains(served, data.jobs, data.resumes, kandij_targets(data, pairs, cache, args.seed),
                               pool_docs, seed=args.seed)  # fmt: skip
    log(f"indiscriminate applier {applier}")
    real = list(load_kandij(DATA / "kandij-job-views").resumes) + category_resumes()
    detector = RA.detector_figures(ads, data.resumes, pairs, real)
    val_pairs, val_ads = detector_validation_pairs(split, args.pairs * 4, args.seed)
    detector_val = RA.detector_figures(val_ads, data.resumes, val_pairs, [])
    cache.save()
    return {"quality": quality, "calibration": fitted["reports"], "rank_gains": gains, "pgd": pgd,
            "applier": applier, "detector": detector, "detector_validation": detector_val,
            "pairs": len(pairs), "pool": len(pool_idx)}  # fmt: skip


def verdicts(r: dict) -> list[str]:
    obj = DEFAULT_OBJECTIVE if DEFAULT_OBJECTIVE in r["rank_gains"] else "sanitised"
    g = r["rank_gains"][obj]
    out = []
    for attack in ("stuffing", "job_ad_paste"):
        worst = max(v["median_rank_gain"] for k, v in g.items() if k.startswith(attack + "@"))
        raw = max(
            v["median_rank_gain"] for k, v in r["rank_gains"]["undefended"].items() if k.startswith(attack)
        )
        ok = "MET" if worst <= 1 else "NOT MET"
        out.append(f"GOAL median rank gain <= 1 under {attack} after calibration ({obj}, served): worst strength "
                   f"{worst:+.1f} positions (undefended {raw:+.1f}) {ok}")  # fmt: skip
    p0 = r["pgd"]["uncalibrated"]["success"][RA.STRONGEST]
    g0 = r["pgd"]["uncalibrated"]["median_logit_gain"][RA.STRONGEST]
    for mode in ("transfer", "adaptive"):
        key = f"{DEFAULT_OBJECTIVE} ({mode})"
        if key in r["pgd"]:
            p1 = r["pgd"][key]["success"][RA.STRONGEST]
            g1 = r["pgd"][key]["median_logit_gain"][RA.STRONGEST]
            if p0 == 0:
                ok = "NOT MET (the attack never succeeds uncalibrated at this epsilon: nothing to halve)"
            else:
                ok = "MET" if p1 <= p0 / 2 else "NOT MET"
            out.append(f"GOAL PGD success at L-inf 4/255 at least halved ({mode}): {p0:.2f} -> {p1:.2f}, median "
                       f"text-view logit gain {g0:+.2f} -> {g1:+.2f} {ok}")  # fmt: skip
    q0 = r["quality"]["uncalibrated"]["ndcg@10"]
    q1 = r["quality"].get(DEFAULT_OBJECTIVE, r["quality"]["uncalibrated"])["ndcg@10"]
    rel = (q1 - q0) / q0 if q0 else 0.0
    out.append(f"GOAL clean NDCG@10 within 1% of uncalibrated: {q0:.4f} -> {q1:.4f} ({rel:+.1%}) "
               f"{'MET' if abs(rel) <= 0.01 else 'NOT MET'}")  # fmt: skip
    d = r["detector"]
    ok = "MET" if d["recall"] >= 0.9 and d["false_flag_rate_real"] <= 0.01 else "NOT MET"
    out.append(f"GOAL detector recall >= 0.9 at <= 1% false flags: recall {d['recall']:.2f} (attacks in its scope; "
               f"synonyms {d['recall_per_attack'].get('synonyms', 0):.2f}), false flags {d['false_flag_rate_real']:.2%}"
               f" of {d['real_resumes']} real resumes, precision {d['precision']:.2f} {ok}")  # fmt: skip
    m = r.get("meta", {})
    if "total_seconds" in m:
        wall, cpu = m["total_seconds"] / 60, m.get("cpu_seconds", float("nan")) / 60
        out.append(f"GOAL the full benchmark in <= 20 min on 2 cores: {wall:.1f} min wall at load average "
                   f"{m['load_before']}-{m['load_after']} on the shared 2 cores, {cpu:.1f} min of its own CPU time "
                   f"{'MET' if wall <= 20 and m.get('scope', '').startswith('full') else 'NOT MET'}")  # fmt: skip
    return out


def markdown(r: dict) -> str:
    m = r["meta"]
    lines = [SECTION, "", f"{m['scope']}; {r['pairs']} mismatched resume-ad pairs, pool {r['pool']} resumes; "
             f"load average {m['load_before']} -> {m['load_after']} (other engineers' runs share the 2 cores); "
             f"{m['total_seconds'] / 60:.1f} min wall" + (f", {m['cpu_seconds'] / 60:.1f} min of CPU time" if "cpu_seconds"
             in m else "") + f"{'; ' + m['cache_note'] if m.get('cache_note') else ''}. Served = sanitised text, per-job "
             "guard, calibrated head.", ""]  # fmt: skip
    lines += [f"Caveat: {m['detector_note']}.", ""] if m.get("detector_note") else []
    lines += [f"- {v}" for v in r["verdicts"]] + [
        "",
        "Median rank gain (p90) / share pushed into the top 10:",
        "",
    ]
    cols = list(r["rank_gains"])
    lines += ["| attack | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for k in r["rank_gains"]["undefended"]:
        cells = [f"{r['rank_gains'][c][k]['median_rank_gain']:+.0f} ({r['rank_gains'][c][k]['p90_rank_gain']:+.0f}) "
                 f"/ {r['rank_gains'][c][k]['top10_share']:.0%}" for c in cols]  # fmt: skip
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    lines += ["", "PGD success (pushed into the top 10 by the text view) / median text-view logit gain:", ""]
    eps = list(r["pgd"]["uncalibrated"]["success"])
    lines += ["| variant | " + " | ".join(eps) + " |", "|---" * (len(eps) + 1) + "|"]
    lines += [f"| {k} | " + " | ".join(f"{v['success'][e]:.2f} / {v['median_logit_gain'][e]:+.2f}" for e in eps)
              + " |" for k, v in r["pgd"].items()]  # fmt: skip
    lines += ["", "| model | NDCG@10 | Recall@50 |", "|---|---|---|"]
    lines += [f"| {k} | {v['ndcg@10']:.4f} | {v['recall@50']:.4f} |" for k, v in r["quality"].items()]
    a = r["applier"]
    lines += ["", f"Indiscriminate applier (applies to {a['share_applied']:.0%} of all jobs, a mismatched kandij job "
              "among them): median (p90) rank gain for that job: " + "; ".join(
                  f"{k} {v['median_rank_gain']:+.0f} ({v['p90_rank_gain']:+.0f})" for k, v in a.items()
                  if isinstance(v, dict)) + "."]  # fmt: skip
    v = r["detector_validation"]
    lines += ["", f"Detector validation (training applicants, other ads; where its thresholds were set): recall "
              f"{v['recall']:.2f}, untouched pairs flagged {v['clean_pair_flag_rate']:.1%}."]  # fmt: skip
    d = r["detector"]
    per = ", ".join(f"{k} {v:.2f}" for k, v in d["recall_per_attack"].items())
    lines += ["", f"Detector: recall per attack {per}; {d['real_flagged']} of {d['real_resumes']} clean real resumes "
              f"flagged; untouched pairs flagged {d['clean_pair_flag_rate']:.1%}."]  # fmt: skip
    lines += ["", "| head | fitted in | adversarial examples | validation median score gain before -> after | "
              "clean median abs change |", "|---|---|---|---|---|"]  # fmt: skip
    lines += [f"| {k} | {c['seconds']:.0f} s | {c['adversarial_examples']} | {c['val_median_gain_before']:+.4f} -> "
              f"{c['val_median_gain_after']:+.4f} | {c['val_clean_median_abs_change']:.5f} |"
              for k, c in r["calibration"].items() if "seconds" in c]  # fmt: skip
    return "\n".join([*lines, "", *NOTES, ""])


NOTES = [
    "Notes. The first stage: a trained version's retrieval space holds each resume's vector through its calibration "
    "head (`embed_resumes`), so the ANN index and the reranker read the same calibrated vectors; zero-shot, and a "
    "version before its space is written, search the clean encoder space (shared by every version and #12's "
    "fallback; a head belongs to one version's artifact) and rely on the sanitised text and the per-job guard, "
    "which now also reads a few spare rows so a copier cannot push an honest candidate out of a short list "
    "(matching/integrity.py; tests/matching/test_gamed_resumes.py, test_gamed_first_stage.py). The detector's "
    "thresholds were set on the validation line's attacked training applicants, never on the test pairs. Synonym "
    "paraphrases are outside the detector's scope (the issue's list: stuffing density, pasted job text, injected "
    "instructions, hidden characters) and count in neither recall. Figures ran beside the other engineers' jobs on "
    "the same 2 cores (load average above); the network is bounded by epochs, so the figures do not depend on it.",
]


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.render:  # the stored run, its verdicts and section written again (no measurement)
        result = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
        result["verdicts"] = verdicts(result)
        publish(result, RESULTS_JSON, jsonable=lambda x: x, markdown=markdown(result), heading=SECTION)
        return result
    if args.quick:
        args.pairs, args.pool, args.epochs = min(args.pairs, 12), min(args.pool, 80), 1
    t0 = time.monotonic()
    load_before = round(os.getloadavg()[0], 2)

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - t0:6.0f} s] {msg}", flush=True)

    result = run(args, log)
    result["meta"] = {"scope": "quick (200 applicants)" if args.quick else "full kandij data",
                      "load_before": load_before, "load_after": round(os.getloadavg()[0], 2),
                      "total_seconds": time.monotonic() - t0, "seed": args.seed, "args": vars(args),
                      "cpu_seconds": sum(os.times()[:4])}  # fmt: skip
    result["verdicts"] = verdicts(result)
    out = RESULTS_JSON.with_name("robustness_quick.json") if args.quick else RESULTS_JSON
    publish(
        result, out, jsonable=lambda x: x, markdown=None if args.quick else markdown(result), heading=SECTION
    )
    return result


if __name__ == "__main__":
    main()
