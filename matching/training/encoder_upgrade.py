"""Encoder upgrade as a training option: the run first fine-tunes the deployment's MiniLM on the interactions of
its training window (contrastive, ml.compat.encoder), then trains the network on that encoder.

Why an option of platform training and not an offline step: the fine-tuned encoder moves the whole vector space,
the costly case compatible updates exist for; run here, it is versioned and stored like the model. The encoder
directory is packed into a tar written atomically beside the model's artifact (matching.training.artifacts) and
recorded on the version only when the candidate is recorded, so a failed or killed run leaves nothing active;
its version string (`all-MiniLM-L6-v2-ft:<sha12 of its weights>`) is the model's `encoder_version`, so every
vector of the version's space names, through its version, the encoder that made it. Serving unpacks and loads
it with the version (`artifacts.version_encoder`); the compatible update serves it at once against the previous
version's vectors through the drift projection while the backfill re-embeds; a rollback loads the previous
version, and with it the previous encoder.

Who decides: staff per run (`finetune_encoder` in POST /api/training-runs/), else
settings.TRAINING_ENCODER_FINETUNE; the budget (settings.ENCODER_FINETUNE) is a number of steps, so it does not
depend on the machine's load.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass

from django.conf import settings

from matching.encoders import current_encoder
from matching.models import ModelVersion, TrainingRun
from matching.training.artifacts import (
    ARTIFACT_DIR,
    FINETUNED_DIR,
    encoder_dir,
    pack_encoder,
    version_encoder,
    write_artifact,
)
from matching.training.errors import NotEnoughData, RegistryError
from ml.embedding import Encoder, SentenceTransformerEncoder, register_encoder
from ml.types import MatchingData

log = logging.getLogger(__name__)

OPTION = "finetune_encoder"  # the key in TrainingRun.config (TrainConfig.from_dict ignores it)


class EncoderNotFinetunable(RegistryError):
    code = "encoder_not_finetunable"


@dataclass
class EncoderUpgrade:
    encoder: Encoder
    record: dict  # pairs, steps, losses, seconds, base and new encoder versions
    artifact: tuple[str, str]  # (stored name, sha256)


def finetunable(encoder: Encoder | None = None) -> bool:
    """Only the float sentence-transformers MiniLM has weights to fine-tune (not the hashing or ONNX encoders)."""
    return isinstance(encoder or current_encoder(), SentenceTransformerEncoder)


def run_option(finetune: bool | None) -> dict:
    """What a new run records: the caller's choice, else settings.TRAINING_ENCODER_FINETUNE. An explicit request
    on an encoder that cannot be fine-tuned is refused; the setting's default is then skipped with a warning."""
    want = settings.TRAINING_ENCODER_FINETUNE if finetune is None else bool(finetune)
    if want and not finetunable():
        if finetune is not None:
            raise EncoderNotFinetunable(
                f"the deployment's encoder ({current_encoder().version}) cannot be fine-tuned: use TANDEM_ENCODER=minilm"
            )
        log.warning("TRAINING_ENCODER_FINETUNE is on but %s cannot be fine-tuned", current_encoder().version)
        want = False
    return {OPTION: want}


def requested(config: dict) -> bool:
    return bool((config or {}).get(OPTION))


def training_encoder(version: ModelVersion) -> Encoder:
    """The encoder a version trains (or is refitted) on: its fine-tuned one, else the deployment's."""
    return version_encoder(version) or current_encoder()


def finetune_for_run(run: TrainingRun, version: ModelVersion, data: MatchingData, stage) -> EncoderUpgrade:
    """Fine-tune on the window's positive (resume, job) pairs, store the tar, register the encoder here.

    ``stage(name, **progress)`` shows the steps on the run (ProgressWriter.stage)."""
    from ml.compat.encoder import FinetuneConfig, finetune_encoder, interaction_pairs

    base = current_encoder()
    if not finetunable(base):
        raise EncoderNotFinetunable(f"the deployment's encoder ({base.version}) cannot be fine-tuned")
    pairs = interaction_pairs(data)
    if len(pairs) < 2:
        raise NotEnoughData(f"{len(pairs)} positive interaction pairs: too few to fine-tune the encoder")
    config = FinetuneConfig(**settings.ENCODER_FINETUNE, seed=int(run.config.get("seed", 0)))
    root = os.path.join(settings.ENCODER_CACHE_DIR, FINETUNED_DIR)
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=root, prefix=".tmp-")

    def on_step(step: int, steps: int, loss: float) -> None:
        stage("encoder", encoder={"step": step, "steps": steps, "loss": round(loss, 4)})

    try:
        encoder, record = finetune_encoder(pairs, tmp, config, base_dir=base.model_dir, progress=on_step)
        blob = pack_encoder(tmp)
        name, sha = write_artifact(
            blob,
            f"{ARTIFACT_DIR}/v{version.version:05d}-run{run.pk}-a{run.attempt}-encoder-"
            f"{encoder.version.rsplit(':', 1)[-1]}.tar",
            temp_prefix=f"run{run.pk}-a{run.attempt}-encoder",
        )
        target = encoder_dir(encoder.version)
        if not os.path.isdir(target):
            os.rename(tmp, target)  # the weights in memory stay valid; later loads read the same files
            encoder.model_dir = target
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    register_encoder(encoder)
    record.update(base=base.version, version=encoder.version, artifact_bytes=len(blob), budget=vars(config))
    log.info("run %s: encoder fine-tuned (%s steps) -> %s", run.pk, record["steps"], encoder.version)
    return EncoderUpgrade(encoder, record, (name, sha))
