"""The docs/results.md section of bench/compatibility.py."""

from __future__ import annotations

from bench._compat_offline import CANDIDATES, METHODS, REPORT_METRICS


def _f(x) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _pct(x) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def _cpu(x) -> str:
    parts = [p for v in (x if isinstance(x, list) else [x]) for p in (v if isinstance(v, list) else [v])]
    return " + ".join(f"{p / 60:.1f} min" for p in parts if p is not None)


def markdown(result: dict, heading: str) -> str:
    meta = result["meta"]
    lines = [
        heading,
        "",
        f"Run {meta['finished']} on {meta['machine']} ({meta['cpus']} cores, load average {meta['load_start']} at "
        f"the start, {meta['load_end']} at the end: other engineers' tests and benchmarks shared the machine), "
        f"{'QUICK (plumbing only) ' if meta['quick'] else ''}{meta['total_seconds'] / 60:.1f} min wall. "
        "Command: `bench/compatibility.py`. JSON: `bench/results/compatibility.json`. "
        f"Every training ran exactly {meta.get('epochs', '?')} epochs (bounded by epochs, no wall-clock cap, so the "
        "figures do not depend on the load; the wall time does)"
        + (f"; CPU time {_cpu(meta['cpu_seconds'])}" if meta.get("cpu_seconds") else "")
        + ".",
        "",
    ]
    for v in result["verdicts"]:
        lines.append(f"- {v}")
    lines.append("")
    off = result.get("offline")
    if off:
        lines += _offline(off)
    plat = result.get("platform")
    if plat:
        lines += _platform(plat)
    return "\n".join(lines) + "\n"


def _candidate(name: str) -> str:
    method, n, ridge = CANDIDATES[name]
    return f"{method}, {'every document' if n is None else f'{n} documents per kind'}, ridge {ridge:g}"


def _offline(off: dict) -> list[str]:
    val = off["validation"]
    method = val["chosen_method"]
    cols = [*METHODS, method] if method not in METHODS else list(METHODS)
    lines = [
        f"**Real task** (kandij views, {off['n_applicants']} applicants, {off['n_jobs']} jobs, {off['n_test']} test "
        "cases, the quality benchmark's leave-last-new-job-out protocol, the FIRST STAGE alone: candidates ranked by "
        "the cosine of the stored vectors). Version 1: the earlier two thirds (by time) of the training views; "
        "version 2: all of them; same TrainConfig and seed (as the platform retrains). Projections fitted on a "
        "random sample of documents embedded by both versions (as at promotion; the table's columns on 500 per "
        "kind, ridge 0.001, as the platform fitted them before this run).",
        "",
        f"Chosen on the validation split ({off['n_validation']} cases, leave-last-out inside the training views): "
        f"projection **{method}** ({_candidate(method)}; mean share of the re-index gain recovered over both "
        "variants and metrics: "
        + ", ".join(f"{m} {s:.2f}" for m, s in val["method_scores"].items())
        + f"); head + distillation cost {val['head_distill_ndcg_cost']:+.2%} NDCG@10 there, so the default variant "
        f"is **{off['default_variant']}**.",
        "",
        "| variant | metric | old/old | "
        + " | ".join(f"new/old {x}" for x in cols)
        + " | half backfilled | new/new | criterion | gain recovered |",
        "|---|---|---|" + "---|" * len(cols) + "---|---|---|---|",
    ]
    for name, res in off["test"]["results"].items():
        c = res["cells"]
        for m in REPORT_METRICS:
            s = res["summary"][method][m]
            row = [name, m, _f(c["old/old"][m])]
            row += [_f(c[f"new/old {x}"][m]) for x in cols]
            row += [_f(c["half backfilled"][m]), _f(c["new/new"][m])]
            row += ["met" if s["compatible"] else "not met", _pct(s["gain_recovered"])]
            lines.append("| " + " | ".join(row) + " |")
    enc = off.get("encoder_upgrade")
    if enc:
        c = enc["cells"]
        for m in REPORT_METRICS:
            s = enc["summary"][method][m]
            row = ["2' (fine-tuned encoder)", m, _f(c["old/old"][m])]
            row += [_f(c[f"new/old {x}"][m]) for x in cols]
            row += [_f(c["half backfilled"][m]), _f(c["new/new"][m])]
            row += ["met" if s["compatible"] else "not met", _pct(s["gain_recovered"])]
            lines.append("| " + " | ".join(row) + " |")
        ft = enc["finetune"]
        lines += [
            "",
            f"Version 2': MiniLM fine-tuned (in-batch contrastive, {ft['steps']} steps on {ft['pairs']} (resume, job) "
            f"training pairs with text, {ft['seconds']:.0f} s, loss {ft['loss_first']:.3f} -> {ft['loss_last']:.3f}), "
            f"encoder `{ft['encoder_version']}`, then version 2 trained on it; its old/old is version 1 (MiniLM).",
        ]
    lines += [
        "",
        f"Criterion and gain recovered for the chosen projection ({method}); gain recovered = (new/old - old/old) / "
        "(new/new - old/old). Half backfilled: a random half of the jobs re-embedded by version 2 and searched with "
        "the query as it is, the rest searched in version 1's vectors with the projected query, merged by cosine. "
        "Training seconds per variant (v1, v2): "
        + "; ".join(f"{n} {r['train_seconds']}" for n, r in off["test"]["results"].items())
        + ".",
        "",
    ]
    return lines


def _platform(plat: dict) -> list[str]:
    lines = [
        "**Platform** (PostgreSQL, the services the promotion and the API run): a trained candidate made servable "
        "(projection fitted on the sample, activation) and its first ranked request, against corpora of synthetic "
        "resumes stored with version 1 vectors, the first 100,000 also with their section vectors (the later ones "
        "as if embedded before section vectors were stored). The projection's sample is drawn among the documents "
        "whose section vectors are stored, so the fit runs no encoder at any size. Re-embedding first = the corpus "
        "at the measured backfill throughput (the wait before activation without compatible updates).",
        "",
        "| resumes | fit projection s | activate s | first ranking s (its stages, ms) | serve total s | load "
        "| re-embedding first (est.) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in plat["sizes"]:
        stages = ", ".join(f"{k} {v:.0f}" for k, v in (r.get("first_ranking_timings_ms") or {}).items())
        lines.append(
            f"| {r['resumes']:,} | {r['fit_seconds']:.2f} | {r['activate_seconds']:.2f} | {r['first_ranking_seconds']:.2f} "
            f"({stages}) | {r['serve_seconds']:.2f} | {r.get('load')} | {r['reembed_hours']:.2f} h |"
        )
    b = plat["backfill"]
    lines += [
        "",
        f"Backfill throughput: {b['docs_per_second']:.1f} documents/s ({b['documents']} documents in {b['seconds']:.1f} s, "
        f"batches of {b['batch']}, encoder {b['encoder']}, one process, load {b['load']}).",
        "",
    ]
    return lines
