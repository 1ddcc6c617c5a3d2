"""What training reports: one record per stage and epoch, passed to the caller and kept with the model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from .model import to_jsonable


@dataclass
class TrainProgress:
    """What ``train`` tells its ``progress`` callback after encoding, graph building, each epoch and evaluation."""

    stage: str  # "encode" | "graph" | "train" | "evaluate"
    epoch: int
    epochs: int
    losses: dict[str, float] = field(default_factory=dict)
    kept_fraction: float = 1.0
    clean_kept_fraction: float | None = None  # fraction of kept OBSERVED pairs that are clean (when known)


class TrainingLog:
    """Every progress record plus its extra figures (the model keeps them as ``metrics["history"]``), each also
    passed to the caller's callback."""

    def __init__(self, progress: Callable[[TrainProgress], None] | None):
        self.history: list[dict] = []
        self.progress = progress

    def report(self, p: TrainProgress, extra: dict | None = None) -> None:
        rec = {**asdict(p), **(extra or {})}
        self.history.append(to_jsonable(rec))
        if self.progress is not None:
            self.progress(p)
