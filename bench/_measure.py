"""Wall time and peak memory of one block of work.

Peak memory = the process's peak resident set size while the block ran, minus the resident size when it
started. The peak is the kernel's VmHWM, reset at the start of the block by writing "5" to /proc/self/clear_refs
(Linux >= 4.0), so each row gets its own high-water mark; torch, numpy and native libraries all count, which a
Python-level tracer (tracemalloc) would miss. Where clear_refs is not writable it falls back to the delta of
resource.getrusage(RUSAGE_SELF).ru_maxrss, which only shows growth above the process's earlier peak;
``Measure.method`` says which one was used.
"""

from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


@dataclass
class Measure:
    seconds: float = 0.0  # wall clock
    cpu_seconds: float = 0.0  # process CPU time (user + system, all threads): tells cost from CPU contention
    peak_mb: float = 0.0
    method: str = ""


@contextmanager
def measure():
    m = Measure()
    if _reset_peak() and _status_kb("VmHWM") is not None:
        m.method = "VmHWM after /proc/self/clear_refs reset, minus VmRSS at start"
        start_kb = _status_kb("VmRSS") or 0
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield m
        finally:
            m.seconds = time.perf_counter() - t0
            m.cpu_seconds = time.process_time() - c0
            m.peak_mb = max(0.0, ((_status_kb("VmHWM") or 0) - start_kb) / 1024.0)
    else:
        m.method = "ru_maxrss delta (growth above the earlier process peak only)"
        start_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield m
        finally:
            m.seconds = time.perf_counter() - t0
            m.cpu_seconds = time.process_time() - c0
            m.peak_mb = max(0.0, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start_kb) / 1024.0)


def trace_memory_highs(step_mb: int, *, every_s: float = 0.05, depth: int = 8) -> None:
    """Diagnostic (``--trace-memory``): a daemon thread prints the calling thread's innermost stack frames each time
    the resident set passes its last printed high by ``step_mb`` MB, so a run names the code behind its peak."""
    import threading
    import traceback

    main_id = threading.get_ident()

    def watch() -> None:
        high = 0
        while True:
            rss_mb = (_status_kb("VmRSS") or 0) // 1024
            if rss_mb >= high + step_mb:
                high = rss_mb
                frames = traceback.extract_stack(sys._current_frames().get(main_id))[-depth:]
                where = "\n".join(f"    {f.filename}:{f.lineno} {f.name}" for f in frames)
                print(f"[memory] RSS {rss_mb} MB at {time.strftime('%X')}\n{where}", flush=True)
            time.sleep(every_s)

    threading.Thread(target=watch, name="trace-memory", daemon=True).start()
