"""Plots rendered on the server as SVG with matplotlib (its object API: no pyplot state, safe in threads)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.figure import Figure

PALETTE = ("#1f5fbf", "#d9822b", "#1d7a46", "#a8322d", "#6b4fbb", "#5b6577")


def _svg(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="svg", bbox_inches="tight")
    return out.getvalue()


def _figure(title: str, size=(6.4, 3.0)) -> tuple[Figure, object]:
    fig = Figure(figsize=size)
    ax = fig.subplots()
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.tick_params(labelsize=8)
    return fig, ax


def empty(title: str, message: str) -> bytes:
    fig, ax = _figure(title, size=(6.4, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=9, color="#5b6577")
    return _svg(fig)


def training_curves(
    title: str,
    epochs: Sequence[int],
    losses: dict[str, Sequence[float | None]],
    kept: dict[str, Sequence[float | None]],
) -> bytes:
    """Losses per epoch (left) and the co-teaching kept fractions (right), legends outside the lines."""
    if not epochs:
        return empty(title, "no epoch finished yet")
    fig = Figure(figsize=(9.6, 3.2))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    fig.suptitle(title, fontsize=10)
    for ax, series, name in ((left, losses, "loss"), (right, kept, "fraction kept")):
        for (label, ys), color in zip(series.items(), PALETTE * 4, strict=False):
            values = [float("nan") if y is None else y for y in ys]
            ax.plot(epochs, values, marker="o", ms=3, lw=1.4, label=label, color=color)
        ax.set_xlabel("epoch", fontsize=9)
        ax.set_ylabel(name, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3)
    right.set_ylim(0, 1.05)
    return _svg(fig)


def grouped_bars(title: str, groups: Sequence[str], series: dict[str, Sequence[float | None]]) -> bytes:
    """Bars per group (e.g. versions), one bar per named series (e.g. metrics)."""
    if not groups:
        return empty(title, "no data yet")
    fig, ax = _figure(title)
    width = 0.8 / max(1, len(series))
    for i, ((name, ys), color) in enumerate(zip(series.items(), PALETTE * 4, strict=False)):
        xs = [g + i * width for g in range(len(groups))]
        ax.bar(xs, [0 if y is None else y for y in ys], width=width, label=name, color=color)
    ax.set_xticks([g + width * (len(series) - 1) / 2 for g in range(len(groups))], list(groups))
    ax.legend(fontsize=8, frameon=False)
    return _svg(fig)


def funnel(title: str, stages: Sequence[str], counts: Sequence[int]) -> bytes:
    """Horizontal bars, widest stage first, each labelled with its count and its share of the first."""
    if not stages or not any(counts):
        return empty(title, "no interactions yet")
    fig, ax = _figure(title, size=(6.4, 0.45 * len(stages) + 0.8))
    ys = list(range(len(stages)))[::-1]
    ax.barh(ys, counts, color=PALETTE[0])
    ax.set_yticks(ys, list(stages))
    top = max(counts[0], 1)
    for y, n in zip(ys, counts, strict=True):
        ax.text(n, y, f" {n} ({100 * n / top:.0f}%)", va="center", fontsize=8)
    ax.set_xlim(0, max(counts) * 1.25 + 1)
    return _svg(fig)


def stage_durations(title: str, stages: Sequence[str], days: Sequence[float | None]) -> bytes:
    if not any(d is not None for d in days):
        return empty(title, "no pair has moved past a stage yet")
    fig, ax = _figure(title, size=(6.4, 0.45 * len(stages) + 0.8))
    ys = list(range(len(stages)))[::-1]
    ax.barh(ys, [d or 0 for d in days], color=PALETTE[1])
    ax.set_yticks(ys, list(stages))
    ax.set_xlabel("median days in stage before the next", fontsize=9)
    for y, d in zip(ys, days, strict=True):
        ax.text(d or 0, y, " –" if d is None else f" {d:.1f} d", va="center", fontsize=8)
    return _svg(fig)
