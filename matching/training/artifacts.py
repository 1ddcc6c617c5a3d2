"""Model artifacts in storages["models"]: written atomically, read back verified against their sha256.

A version only becomes `candidate` after its artifact is complete in storage and verified. Artifacts are
written under a temporary name and moved/saved to the final name only when complete, so a killed job never
leaves a half-written model behind a version.
"""

from __future__ import annotations

import hashlib
import os
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from matching.models import ModelVersion
from matching.training.errors import ArtifactUnavailable
from ml.artifacts import ArtifactError, load_model_from_bytes
from ml.embedding import encoder_for_version, shared_cache

ARTIFACT_DIR = "models"
TEMP_DIR = "tmp"


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
    storage = model_storage()
    try:
        with storage.open(version.artifact_name, "rb") as f:
            data = f.read()
    except (FileNotFoundError, OSError) as exc:
        raise ArtifactUnavailable(
            "artifact_missing", f"artifact {version.artifact_name} of v{version.version} is missing: {exc}"
        ) from exc
    got = hashlib.sha256(data).hexdigest()
    if got != version.artifact_sha256:
        raise ArtifactUnavailable(
            "artifact_corrupt",
            f"artifact {version.artifact_name} of v{version.version} is corrupt: "
            f"sha256 {got[:12]}… does not match the recorded {version.artifact_sha256[:12]}…",
        )
    return data


def load_version_model(version: ModelVersion):
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
