"""bench/load.py's verdicts and docs text, from a made-up result (the benchmark itself runs by hand)."""

from __future__ import annotations

from bench.load_report import markdown, summary, verdicts


def _cell(rps: float, p99: float = 10.0, errors: dict | None = None) -> dict:
    return {"throughput_rps": rps, "p50_ms": 5.0, "p95_ms": 8.0, "p99_ms": p99, "errors": errors or {}}


def _result(cached_rps: float, cached_p99: float, fault: dict) -> dict:
    matrix = {}
    for clients in (1, 8, 32):
        matrix[f"bare@{clients}"] = _cell(100.0)
        matrix[f"cached@{clients}"] = _cell(cached_rps, cached_p99)
        matrix[f"uncached@{clients}"] = _cell(25.0)
        matrix[f"mixed@{clients}"] = _cell(50.0)
    meta = {"jobs": 1, "resumes": 2, "seconds_per_cell": 1.0, "load_avg_end": (1.0, 1.0, 1.0)}
    return {"matrix": matrix, "faults": [fault], "meta": meta}


GOOD_FAULT = {
    "fault": "redis frozen",
    "during_codes": {"200": 10, "503": 3},
    "during_error_p99_ms": 120.0,
    "during_max_ms": 300.0,
    "during_p99_ms": 250.0,
    "non_503_errors": 0,
    "recovery_s": 0.4,
    "errors_5s_after_recovery": 0,
    "writes_acknowledged": 5,
    "rows_lost": 0,
    "rows_duplicated": 0,
}


def test_verdicts_follow_the_goals():
    lines = verdicts(_result(85.0, 20.0, GOOD_FAULT))
    assert all(line.startswith("GOAL") for line in lines)
    assert lines[0].endswith("MET") and "85%" in lines[0] and not lines[0].endswith("NOT MET")
    assert lines[1].endswith("NOT MET") and "25%" in lines[1]
    assert lines[2].endswith(": MET")
    assert lines[-1].endswith("NOT MET")  # the worker-kill faults are not replayed

    slow = verdicts(_result(85.0, 80.0, {**GOOD_FAULT, "during_codes": {"500": 1}, "non_503_errors": 1}))
    assert slow[0].endswith("NOT MET") and slow[2].endswith("NOT MET")
    lost = verdicts(_result(90.0, 10.0, {**GOOD_FAULT, "rows_lost": 1}))
    assert lost[2].endswith("NOT MET")
    held = verdicts(_result(90.0, 10.0, {**GOOD_FAULT, "during_p99_ms": 5100.0}))  # a freeze held requests
    assert held[2].endswith("NOT MET")
    unseen = verdicts(_result(90.0, 10.0, {**GOOD_FAULT, "during_codes": {}, "during_p99_ms": None}))
    assert unseen[2].endswith("NOT MET")  # nothing observed during the fault is no evidence


def test_markdown_has_every_cell_and_the_verdicts():
    result = _result(85.0, 20.0, GOOD_FAULT)
    result["verdicts"] = verdicts(result)
    text = markdown(result)
    assert text.count("| cached |") == 3 and "| redis frozen |" in text
    assert all(f"- {line}" in text for line in result["verdicts"])


def test_summary_has_the_8_client_cells_the_faults_and_the_verdicts():
    result = _result(85.0, 20.0, GOOD_FAULT)
    result["verdicts"] = verdicts(result)
    text = summary(result)
    assert text.startswith("## Reliability (bench/load.py)") and "| cached | 85.0 | 85% |" in text
    assert "| redis frozen |" in text and all(f"- {line}" in text for line in result["verdicts"])


IMPORT_KILL = {
    "fault": "worker killed during an import",
    "rows": 3000,
    "rows_in_db": 3000,
    "rows_lost": 0,
    "rows_duplicated": 0,
    "finished": {"stage": "finished", "processed": 3000, "created": 3000, "failed": 0, "attempt": 2},
    "restart_s": 20.0,
    "recovery_s": 12.0,
    "during_codes": {"200": 40, "201": 9},
    "during_p99_ms": 400.0,
    "before_p99_ms": 380.0,
    "non_503_errors": 0,
    "writes_acknowledged": 9,
    "api_rows_lost": 0,
    "api_rows_duplicated": 0,
    "complete": True,
}
TRAINING_KILL = {
    "fault": "worker killed during training",
    "finished": {"status": "succeeded", "attempt": 2, "error": ""},
    "rerun_status": None,
    "half_written_active": 0,
    "active_versions": 1,
    "restart_s": 25.0,
    "recovery_s": 60.0,
    "during_codes": {"200": 80},
    "during_p99_ms": 500.0,
    "before_p99_ms": 450.0,
    "non_503_errors": 0,
    "writes_acknowledged": 12,
    "api_rows_lost": 0,
    "api_rows_duplicated": 0,
    "complete": True,
}


def _with_workers(*faults: dict) -> dict:
    result = _result(85.0, 20.0, GOOD_FAULT)
    result["faults"] += list(faults)
    return result


def test_worker_kills_are_judged_on_answers_rows_and_versions():
    lines = verdicts(_with_workers(IMPORT_KILL, TRAINING_KILL))
    assert [line.endswith(": MET") for line in lines[3:]] == [True, True]
    assert "0 rows lost / 0 duplicated" in lines[3] and "run succeeded (attempt 2)" in lines[4]
    assert not any("not replayed" in line for line in lines)

    def judged(fault: dict) -> str:
        return verdicts(_with_workers(fault))[3]

    assert judged({**IMPORT_KILL, "rows_duplicated": 1}).endswith("NOT MET")
    assert judged({**IMPORT_KILL, "complete": False}).endswith("NOT MET")
    assert judged({**IMPORT_KILL, "during_p99_ms": 2500.0}).endswith("NOT MET")
    assert judged({**TRAINING_KILL, "half_written_active": 1}).endswith("NOT MET")
    assert judged({**TRAINING_KILL, "non_503_errors": 2, "during_codes": {"500": 2}}).endswith("NOT MET")
    failed = {
        **TRAINING_KILL,
        "finished": {"status": "failed", "attempt": 2, "error": "x"},
        "rerun_status": 201,
    }
    assert "a new run answered 201" in judged(failed)
    only_import = verdicts(_with_workers(IMPORT_KILL))
    assert (
        only_import[-1] == "GOAL worker killed during training, under load: not replayed in this run: NOT MET"
    )


def test_markdown_tables_the_worker_kills():
    result = _with_workers(IMPORT_KILL, TRAINING_KILL)
    result["verdicts"] = verdicts(result)
    text = markdown(result)
    assert "## A worker killed under load" in text
    assert "| worker killed during an import | {'200': 40, '201': 9} | 400.0 | 380.0 | 20.0 | 12.0 |" in text
    assert "half-written active 0" in text and "| 0 / 0 |" in text
    assert "| worker killed during training |" in summary(result)
