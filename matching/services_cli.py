"""Command-line front ends for long work: progress bars over the same services the workers call."""

from __future__ import annotations

from collections.abc import Callable

from tqdm import tqdm

from matching import embedding_services, registry
from matching.models import EmbeddingMark, ModelVersion, TrainingRun


def embed_backfill(
    *, batch_size: int | None = None, show_progress: bool = True
) -> embedding_services.BatchResult:
    """Flag every document without a current vector, then embed the flagged ones batch by batch."""
    embedding_services.mark_missing()
    total = embedding_services.BatchResult()
    remaining = EmbeddingMark.objects.filter(dirty=True).count()
    with tqdm(total=remaining, desc="embed", unit="doc", disable=not show_progress) as bar:
        while True:
            r = embedding_services.process_dirty_batch(batch_size)
            for f in ("taken", "embedded", "unchanged", "missing", "cleared"):
                setattr(total, f, getattr(total, f) + getattr(r, f))
            bar.update(r.taken)
            if not r.remaining or r.taken == 0:
                return total


def train_in_process(*, say: Callable[[str], None], show_progress: bool = True) -> TrainingRun:
    """Train, evaluate and promote in this process (tasks run eagerly), with a bar per stage and epoch."""
    bar = tqdm(total=0, desc="train", unit="epoch", disable=not show_progress)

    def on_progress(sender, run_id, fields, **kwargs) -> None:
        if "epochs" in fields and fields["epochs"] and bar.total != fields["epochs"]:
            bar.total = fields["epochs"]
        bar.set_description(f"train [{fields.get('stage', '')}]")
        if "epoch" in fields:
            bar.n = fields["epoch"]
        losses = (fields.get("progress") or {}).get("losses") or {}
        kept = (fields.get("progress") or {}).get("kept_fraction")
        postfix = {k: f"{v:.3f}" for k, v in list(losses.items())[:3]}
        if kept is not None:
            postfix["kept"] = f"{kept:.2f}"
        bar.set_postfix(postfix, refresh=True)

    registry.training_progress.connect(on_progress, dispatch_uid="cli-train-progress")
    try:
        run, created = registry.start_training_run(trigger="cli")
    finally:
        registry.training_progress.disconnect(dispatch_uid="cli-train-progress")
        bar.close()
    run.refresh_from_db()
    if not created:
        say(f"A training run is already in progress: run {run.pk} ({run.status}, stage {run.stage}).")
        return run
    version: ModelVersion | None = run.model_version
    say(f"Training run {run.pk}: {run.status}" + (f" — {run.error}" if run.error else ""))
    if version is not None:
        version.refresh_from_db()
        m = version.metrics or {}
        zs = m.get("zero_shot") or {}
        say(
            f"  v{version.version} ({version.status}): held-out NDCG@10 {m.get('ndcg_at_10', float('nan')):.3f} "
            f"vs zero-shot {zs.get('ndcg_at_10', float('nan')):.3f}; "
            f"MRR {m.get('mrr', float('nan')):.3f} vs {zs.get('mrr', float('nan')):.3f}"
        )
        promotion = (m.get("promotion") or {}).get("reason")
        if promotion:
            say(f"  {promotion}")
    return run
