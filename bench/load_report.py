"""Verdicts and the docs/reliability.md text of bench/load.py (pure functions of its result, tested)."""

from __future__ import annotations


def _ratio(matrix: dict, name: str, clients: int) -> float:
    bare = matrix[f"bare@{clients}"]["throughput_rps"]
    return matrix[f"{name}@{clients}"]["throughput_rps"] / bare if bare else 0.0


def _loads(meta: dict) -> str:
    end = "/".join(f"{x:.1f}" for x in meta["load_avg_end"])
    start = meta.get("load_avg_start")
    return (
        f"{'/'.join(f'{x:.1f}' for x in start)} (1/5/15 min) when the timed part began, " if start else ""
    ) + f"{end} at the end"


def verdicts(result: dict) -> list[str]:
    m = result["matrix"]
    cached, ratio = m["cached@8"], _ratio(m, "cached", 8)
    ok = ratio >= 0.8 and cached["p99_ms"] < 50 and not cached["errors"]
    lines = [
        f"GOAL cached recommendations >= 80% of the bare endpoint's throughput, p99 < 50 ms, no errors at 8 "
        f"clients: {cached['throughput_rps']} vs {m['bare@8']['throughput_rps']} req/s ({ratio:.0%}), "
        f"p99 {cached['p99_ms']} ms, errors {cached['errors'] or 0}: {'MET' if ok else 'NOT MET'}"
    ]
    uncached, ratio = m["uncached@8"], _ratio(m, "uncached", 8)
    lines.append(
        f"GOAL uncached >= 30% of the bare endpoint's throughput at 8 clients: {uncached['throughput_rps']} vs "
        f"{m['bare@8']['throughput_rps']} req/s ({ratio:.0%}): {'MET' if ratio >= 0.3 else 'NOT MET'}"
    )
    for f in result["faults"]:
        if "complete" in f:
            lines.append(_worker_verdict(f))
            continue
        p99 = f.get("during_p99_ms")  # every answer in flight during the fault, 503s and others
        clean = f["non_503_errors"] == 0 and p99 is not None and p99 < 1000  # nothing observed: not met
        whole = f["recovery_s"] is not None and f["errors_5s_after_recovery"] == 0
        kept = f["rows_lost"] == 0 and f["rows_duplicated"] == 0
        lines.append(
            f"GOAL {f['fault']}: only fast clean 503s (p99 < 1 s), recovery without a restart, nothing lost or "
            f"duplicated: codes {f['during_codes']}, p99 of answers in flight {p99} ms, recovered in {f['recovery_s']} s, "
            f"{f['rows_lost']} lost / {f['rows_duplicated']} duplicated of {f['writes_acknowledged']} "
            f"acknowledged writes: {'MET' if clean and whole and kept else 'NOT MET'}"
        )
    if not result["faults"]:
        lines.append("GOAL faults replayed under load (not run: --no-faults): NOT MET")
    replayed = {f["fault"] for f in result["faults"] if "complete" in f}
    for missing in sorted({"worker killed during an import", "worker killed during training"} - replayed):
        lines.append(f"GOAL {missing}, under load: not replayed in this run: NOT MET")
    return lines


def _worker_verdict(f: dict) -> str:
    """A worker SIGKILLed under load: the API's answers while it is down, then the job finished by a fresh worker
    with nothing lost, duplicated or half-written."""
    p99 = f.get("during_p99_ms")
    clean = f["non_503_errors"] == 0 and p99 is not None and p99 < 1000
    kept = f["api_rows_lost"] == 0 and f["api_rows_duplicated"] == 0
    if "rows" in f:
        kept = kept and f["rows_lost"] == 0 and f["rows_duplicated"] == 0
        work = (f"import of {f['rows']} rows finished {f['recovery_s']} s after the new worker was ready "
                f"({f['finished']}), {f['rows_lost']} rows lost / {f['rows_duplicated']} duplicated")  # fmt: skip
    else:
        kept = kept and f["half_written_active"] == 0
        work = (f"run {f['finished']['status']} (attempt {f['finished']['attempt']}) {f['recovery_s']} s after the "
                f"new worker was ready, active versions {f['active_versions']}, half-written active "
                f"{f['half_written_active']}")  # fmt: skip
        if f.get("rerun_status") is not None:
            work += f", a new run answered {f['rerun_status']}"
    return (
        f"GOAL {f['fault']}, under load (8 clients): API answers fast and clean while the worker is down, the job "
        f"completes on a fresh worker, nothing lost, duplicated or half-written: codes {f['during_codes']}, p99 "
        f"{p99} ms (before the kill {f.get('before_p99_ms')} ms), new worker ready {f['restart_s']} s after the "
        f"kill, {work}, API writes {f['api_rows_lost']} lost / {f['api_rows_duplicated']} duplicated of "
        f"{f['writes_acknowledged']}: {'MET' if clean and kept and f['complete'] else 'NOT MET'}"
    )


def summary(result: dict) -> str:
    """The short docs/results.md section: the 8-client cells, the faults, the verdicts (details in
    docs/reliability.md)."""
    m, meta = result["matrix"], result["meta"]
    load = _loads(meta)
    rows = ["| load @ 8 clients | req/s | vs bare | p99 ms | errors |", "|---|---|---|---|---|"]
    for name in ("bare", "cached", "uncached", "mixed"):
        c = m[f"{name}@8"]
        rows.append(
            f"| {name} | {c['throughput_rps']} | {_ratio(m, name, 8):.0%} | {c['p99_ms']} | {c['errors'] or '-'} |"
        )
    faults = [
        f"| {f['fault']} | {f['during_codes']} | {f.get('during_p99_ms')} | {f['recovery_s']} | "
        f"{f.get('rows_lost', '-')} / {f.get('rows_duplicated', '-')} |"
        for f in result["faults"]
    ]
    return "\n".join(
        [
            "## Reliability (bench/load.py)",
            "",
            f"gunicorn (2 gthread workers, 2 threads), private PostgreSQL and Redis, {meta['jobs']} jobs / {meta['resumes']} resumes,",
            f"{meta['seconds_per_cell']} s per cell, side by side in one run beside other engineers' jobs on the",
            f"shared 2-core machine (load average {load}). Full tables: docs/reliability.md;",
            "JSON: bench/results/load.json.",
            "",
            *rows,
            "",
            "| fault under load | codes in flight | p99 ms | recovery s | lost / dup |",
            "|---|---|---|---|---|",
            *faults,
            "",
            *[f"- {line}" for line in result["verdicts"]],
            "",
        ]
    )


def markdown(result: dict, previous: str = "") -> str:
    m, meta = result["matrix"], result["meta"]
    rows = [
        "| load | clients | req/s | vs bare | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for clients in (1, 8, 32):
        for name in ("bare", "cached", "uncached", "mixed"):
            c = m[f"{name}@{clients}"]
            rows.append(
                f"| {name} | {clients} | {c['throughput_rps']} | {_ratio(m, name, clients):.0%} | {c['p50_ms']} | "
                f"{c['p95_ms']} | {c['p99_ms']} | {c['errors'] or '-'} |"
            )
    faults = [
        "| fault (5 s, mixed load, 8 clients) | codes in flight | p99 ms | error p99 ms | slowest ms | recovery s | lost | dup |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in (f for f in result["faults"] if "complete" not in f):
        faults.append(
            f"| {f['fault']} | {f['during_codes']} | {f.get('during_p99_ms')} | {f['during_error_p99_ms']} | {f['during_max_ms']} | "
            f"{f['recovery_s']} | {f['rows_lost']} | {f['rows_duplicated']} |"
        )
    load = _loads(meta)
    return "\n".join(
        [
            "# Reliability: load and faults",
            "",
            "`python bench/load.py` (one command; `--quick` for a small run): gunicorn with 2 gthread workers (2 threads) as the",
            "README's deployment section says, a private PostgreSQL and Redis on 127.0.0.1 (faults are injected",
            "into those, never into the shared instances), sample data embedded with MiniLM, zero-shot ranking.",
            f"{meta['jobs']} jobs, {meta['resumes']} resumes, {meta['seconds_per_cell']} s per cell, all cells side by",
            "side in one run. The bare endpoint is `GET /api/auth/me/` (token authentication and a tiny body: the",
            "framework's ceiling); cached is one warmed `jobs/{id}/candidates/`; uncached a different job and `k`",
            "per request; mixed 70% cached, 10% uncached, 20% interaction writes. JSON: `bench/results/load.json`.",
            "",
            f"**The machine was shared** (2 cores; load average {load}, other engineers'",
            "tests and benchmarks running) and the load clients are threads on the same machine, so absolute",
            "figures are low and noisy; the ratios to the bare endpoint are measured side by side.",
            "",
            "## Throughput and latency",
            "",
            *rows,
            "",
            "## Faults under load",
            "",
            *(faults if result["faults"] else ["Not run (`--no-faults`)."]),
            "",
            "Codes: every request in flight during the fault (also those sent just before it); `0` is a",
            "client-side timeout or refused connection. Recovery: seconds from the dependency's",
            "return to the first successful answer; no process was restarted. Lost/dup: interaction writes",
            "acknowledged with 201 and missing from, or twice in, PostgreSQL afterwards (each carries a unique",
            "external id).",
            "",
            *worker_table(result["faults"]),
            "## Verdicts",
            "",
            *[f"- {line}" for line in result["verdicts"]],
            "",
            "## How the service fails fast",
            "",
            "- PostgreSQL: `connect_timeout` 2 s (libpq's floor) and `statement_timeout` 60 s; a connection error",
            "  answers a JSON 503 with `Retry-After`, and the process answers 503 at once for 2 s after it. A request",
            "  inside a query when PostgreSQL freezes would wait for the server (a frozen server enforces no statement",
            "  timeout, and keepalives never fire while its kernel ACKs): `config.query_deadline` probes the server",
            "  once a request's query passes 0.3 s (an SSLRequest on a fresh socket, answered before authentication,",
            "  0.4 s timeout) and cuts the query's socket when it gets no answer (503 in under a second); a slow query",
            "  on a live server answers the probe and runs on, up to `DATABASE_REQUEST_QUERY_SECONDS` (5 s). For 30 s",
            "  after a failure each request probes before it connects, so none spends libpq's 2 s connect timeout on a",
            "  server that is still frozen.",
            "- Redis (broker): publishing connections have their own 0.5 s socket and 0.25 s connect timeouts and no",
            "  retry (`BROKER_PUBLISH_TIMEOUTS`; consumers keep theirs, longer than the 1 s BRPOP poll), then a 5 s",
            "  breaker per process; the durable records the beat re-sends are the documents' dirty flags",
            "  (`EMBEDDING_RESEND_SECONDS`), queued import jobs (`IMPORT_RESEND_SECONDS`) and training runs left",
            "  `waiting for the broker` (`TRAINING_DISPATCH_SECONDS`; a start takes the training lock through a 0.3 s",
            "  client, and with Redis down the run commits without the lock; the dispatcher takes it before sending).",
            "  The match cache and the rate limits fail open (uncached, not throttled) with 50-200 ms timeouts and a",
            "  5 s breaker.",
            "- Imports run on the `imports` queue, not in the request: 202 and a status URL; each committed batch",
            "  records its checkpoint in its own transaction, so a killed worker's import resumes without",
            "  duplicates.",
            "",
        ]
    )


def worker_table(faults: list[dict]) -> list[str]:
    """The worker kills: the API while the worker is down, then what the fresh worker finished."""
    rows = [f for f in faults if "complete" in f]
    if not rows:
        return []
    out = [
        "## A worker killed under load",
        "",
        "| fault (SIGKILL, mixed load, 8 clients) | codes while down | p99 ms | p99 before ms | worker back s "
        "| job done s | outcome | lost / dup |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in rows:
        if "rows" in f:
            outcome = f"{f['rows_in_db']} of {f['rows']} rows, {f['finished']['stage']}, attempt {f['finished']['attempt']}"
            lost = f"{f['rows_lost']} / {f['rows_duplicated']}"
        else:
            outcome = (f"run {f['finished']['status']}, attempt {f['finished']['attempt']}, active versions "
                       f"{f['active_versions']}, half-written active {f['half_written_active']}")  # fmt: skip
            lost = "-"
        out.append(
            f"| {f['fault']} | {f['during_codes']} | {f['during_p99_ms']} | {f.get('before_p99_ms')} | "
            f"{f['restart_s']} | {f['recovery_s']} | {outcome} | {lost} |"
        )
    out += [
        "",
        "Codes while down: every API answer in flight from the kill to the fresh worker being ready. Worker back:",
        "the fresh worker's start (a new process, the model and encoder loaded); job done: from then to the import",
        "finished or the run ended (the killed task is handed out again after the visibility timeout, 5 s here).",
        "Lost/dup: the import's rows (each with a unique external id) missing from, or twice in, PostgreSQL.",
        "",
    ]
    return out
