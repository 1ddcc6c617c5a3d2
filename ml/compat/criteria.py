"""Compatibility figures from a matrix C[t][i] = quality of version t's queries against version i's index.

Empirical compatibility criterion: C[t][i] > C[i][i] for t > i; AC: the share of pairs i < t that meet it; AM:
the mean of the lower triangle, diagonal included; the share of the full re-index gain recovered:
(C[t][i] - C[i][i]) / (C[t][t] - C[i][i]).
"""

from __future__ import annotations

import numpy as np


def gain_recovered(new_old: float, old_old: float, new_new: float) -> float | None:
    """Share of the full re-index gain a new query on the old index recovers (None when there is no gain)."""
    gain = new_new - old_old
    if not np.isfinite(gain) or abs(gain) < 1e-12:
        return None
    return float((new_old - old_old) / gain)


def compatibility_report(c: np.ndarray) -> dict:
    """Criterion per pair (i < t), AC and AM of a square matrix C (rows: query version, columns: index version)."""
    c = np.asarray(c, dtype=float)
    n = len(c)
    pairs = []
    for t in range(n):
        for i in range(t):
            pairs.append(
                {
                    "query": t,
                    "index": i,
                    "value": float(c[t, i]),
                    "old_old": float(c[i, i]),
                    "compatible": bool(c[t, i] > c[i, i]),
                    "gain_recovered": gain_recovered(c[t, i], c[i, i], c[t, t]),
                }
            )
    ac = float(np.mean([p["compatible"] for p in pairs])) if pairs else None
    am = float(np.mean([c[t, i] for t in range(n) for i in range(t + 1)])) if n else None
    return {"pairs": pairs, "ac": ac, "am": am}
