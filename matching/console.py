"""Progress bars for long work started from the command line (manage.py embed_documents, train_model, demo),
over the same services the workers call."""

from __future__ import annotations

from collections.abc import Callable

from tqdm import tqdm

from matching import embedding
from matching.models import ModelVersion, TrainingRun
from matching.signals import training_progress
from matching.training.runs import start_training_run


def embed_backfill(*, batch_size: int | None = None, show_progress: bool = True) -> embedding.BatchResult:
    """`matching.embedding.backfill` with a bar over the flagged documents."""
    bar = tqdm(total=0, desc="embed", unit="doc", disable=not show_progress)

    def on_batch(result: embedding.BatchResult, flagged: int) -> None:
        bar.total = flagged
        bar.update(result.taken)

    try:
        return embedding.backfill(batch_size=batch_size, on_batch=on_batch)
    finally:
        bar.close()


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

    training_progress.connect(on_progress, dispatch_uid="cli-train-progress")
    try:
        run, created = start_training_run(trigger="cli")
    finally:
        training_progress.disconnect(dispatch_uid="cli-train-progress")
        bar.close()
    run.refresh_from_db()
    if not created:
        say(f"A training run is already in progress: run {run.pk} ({run.status}, stage {run.stage}).")
        return run
    say(f"Training run {run.pk}: {run.status}" + (f" — {run.error}" if run.error else ""))
    version: ModelVersion | None = run.model_version
    if version is not None:
        version.refresh_from_db()
        _report_version(version, say)
    return run


def _report_version(version: ModelVersion, say: Callable[[str], None]) -> None:
    m = version.metrics or {}
    zs = m.get("zero_shot") or {}
    nan = float("nan")
    say(
        f"  v{version.version} ({version.status}): held-out NDCG@10 {m.get('ndcg_at_10', nan):.3f} "
        f"vs zero-shot {zs.get('ndcg_at_10', nan):.3f}; "
        f"MRR {m.get('mrr', nan):.3f} vs {zs.get('mrr', nan):.3f}"
    )
    promotion = (m.get("promotion") or {}).get("reason")
    if promotion:
        say(f"  {promotion}")
