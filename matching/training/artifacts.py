"""Model artifacts in storages["models"]: written atomically, read back verified against their sha256.

A version only becomes `candidate` after its artifact is complete in storage and verified. Artifacts are
written under a temporary name and moved/saved to the final name only when complete, so a killed job never
leaves a half-written model behind a version.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from matching.models import ModelVersion
from matching.training.errors import ArtifactUnavailable
from ml.artifacts import ArtifactError, load_model_from_bytes
from ml.embedding import (
    Encoder,
    SentenceTransformerEncoder,
    encoder_for_version,
    register_encoder,
    shared_cache,
)

ARTIFACT_DIR = "models"
TEMP_DIR = "tmp"
FINETUNED_DIR = "finetuned"  # under settings.ENCODER_CACHE_DIR


def model_storage():
    return storages["models"]


def write_artifact(data: bytes, final_name: str, *, temp_prefix: str) -> tuple[str, str]:
    """Write `data` so that `final_name` never holds a partial file; returns (stored name, sha256).

    Filesystem storage: bytes go to a temporary name, are fsync'ed, then os.replace'd onto the final name
    (atomic rename). Other storages (object stores): one save() of the complete bytes, which such stores
    publish atomically. Either way the bytes are read back and checked before the name is returned.
    """
    storage = model_storage()
    sha = hashlib.sha256(data).hexdigest()
    temp_name = f"{TEMP_DIR}/{temp_prefix}-{uuid.uuid4().hex[:8]}.partial"
    try:
        local_final = storage.path(final_name)
    except NotImplementedError:
        local_final = None
    if local_final is not None:
        temp_name = storage.save(temp_name, ContentFile(data))
        local_temp = storage.path(temp_name)
        try:
            with open(local_temp, "rb+") as f:
                os.fsync(f.fileno())
            os.makedirs(os.path.dirname(local_final), exist_ok=True)
            if os.path.exists(local_final) and _sha256_of(final_name) != sha:
                raise FileExistsError(f"artifact {final_name} already exists with other contents")
            os.replace(local_temp, local_final)
        except BaseException:
            if os.path.exists(local_temp):
                os.unlink(local_temp)
            raise
        name = final_name
    else:
        name = storage.save(final_name, ContentFile(data))
    got = _sha256_of(name)
    if got != sha:
        storage.delete(name)
        raise ArtifactUnavailable(
            "artifact_corrupt", f"artifact {name} read back with sha256 {got}, wrote {sha}"
        )
    return name, sha


def _sha256_of(name: str) -> str:
    h = hashlib.sha256()
    with model_storage().open(name, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_verified_artifact(version: ModelVersion) -> bytes:
    """The artifact's bytes, or ArtifactUnavailable("artifact_missing" | "artifact_corrupt")."""
    if not version.artifact_name or not version.artifact_sha256:
        raise ArtifactUnavailable("artifact_missing", f"v{version.version} has no artifact recorded")
    return _read_verified(version.artifact_name, version.artifact_sha256, f"v{version.version}")


def _read_verified(name: str, sha: str, owner: str) -> bytes:
    storage = model_storage()
    try:
        with storage.open(name, "rb") as f:
            data = f.read()
    except (FileNotFoundError, OSError) as exc:
        raise ArtifactUnavailable(
            "artifact_missing", f"artifact {name} of {owner} is missing: {exc}"
        ) from exc
    got = hashlib.sha256(data).hexdigest()
    if got != sha:
        raise ArtifactUnavailable(
            "artifact_corrupt",
            f"artifact {name} of {owner} is corrupt: "
            f"sha256 {got[:12]}… does not match the recorded {sha[:12]}…",
        )
    return data


# ------------------------------------------------------------------------------ fine-tuned encoders
def pack_encoder(model_dir: str) -> bytes:
    """A sentence-transformers directory as one uncompressed tar (the weights do not compress)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for root, dirs, files in os.walk(model_dir):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                tar.add(full, arcname=os.path.relpath(full, model_dir), recursive=False)
    return buf.getvalue()


def encoder_dir(encoder_version: str) -> str:
    """Where this machine keeps the unpacked fine-tuned encoder of that version (one per version, shared)."""
    return os.path.join(settings.ENCODER_CACHE_DIR, FINETUNED_DIR, encoder_version.replace(":", "-"))


def version_encoder(version: ModelVersion) -> Encoder | None:
    """The fine-tuned encoder ``version`` was trained on, unpacked from its verified artifact on first use and
    registered so the version's model resolves it; None when it uses the deployment's encoder."""
    if not version.encoder_artifact_name:
        return None
    try:
        return encoder_for_version(version.encoder_version)
    except ValueError:
        pass
    target = encoder_dir(version.encoder_version)
    if not os.path.isfile(os.path.join(target, "model.safetensors")):
        owner = f"the encoder of v{version.version}"
        _unpack(_read_verified(version.encoder_artifact_name, version.encoder_artifact_sha256, owner), target)
    from ml.compat.encoder import FINETUNED_NAME  # torch and sentence-transformers only where one is used

    encoder = SentenceTransformerEncoder(target, name=FINETUNED_NAME)
    if encoder.version != version.encoder_version:
        raise ArtifactUnavailable(
            "artifact_corrupt",
            f"{target} holds {encoder.version}, v{version.version} needs {version.encoder_version}",
        )
    register_encoder(encoder)
    return encoder


def _unpack(data: bytes, target: str) -> None:
    """Unpack into a temporary directory beside ``target``, then rename it (atomic: never a partial encoder)."""
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=".tmp-")
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data")
        try:
            os.rename(tmp, target)
        except OSError:
            if not os.path.isdir(target):  # not another process having unpacked it first
                raise
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def load_version_model(version: ModelVersion):
    version_encoder(version)  # a fine-tuned encoder first: the model resolves it by version
    data = read_verified_artifact(version)
    try:
        model = load_model_from_bytes(data, expected_sha256=version.artifact_sha256)
    except ArtifactError as exc:
        raise ArtifactUnavailable(
            "artifact_corrupt", f"artifact of v{version.version} is unreadable: {exc}"
        ) from exc
    _share_section_cache(model)
    return model


def _share_section_cache(model) -> None:
    """Score with the process-wide section cache, so evaluation and serving reuse what training encoded."""
    try:
        encoder = encoder_for_version(model.encoder_version)
    except ValueError:
        return  # another encoder: the model's own cache will say so when it is used
    model.use_cache(shared_cache(encoder, path=settings.TRAINING_EMBEDDING_CACHE or None))


def delete_temp_artifacts(prefix: str) -> int:
    storage = model_storage()
    try:
        _, files = storage.listdir(TEMP_DIR)
    except (FileNotFoundError, NotImplementedError):
        return 0
    n = 0
    for name in files:
        if name.startswith(prefix):
            storage.delete(f"{TEMP_DIR}/{name}")
            n += 1
    return n
