"""One artifact per trained model: weights, config, encoder version, metrics, data window and the relation
graph it needs to serve (node features + typed edges), in one self-checking file.

File layout (all integers big-endian):
    MAGIC (8 bytes, b"TNDMML01") | payload length (8 bytes) | sha256(payload) (32 bytes) | payload
payload = ``torch.save`` of a dict of tensors / plain Python values, read back with ``weights_only=True``
(no arbitrary unpickling). Writes are atomic: temp file in the same directory, fsync, ``os.replace``.

``format_version`` in the payload names the model format; a file of another version is refused with an
ArtifactError that says so ("written by an incompatible model format vN; retrain"), before any weights are read.
    v1: original MV-CoN.
    v2: subgraph-sampled relation-view training (TrainConfig.fanout), relation_adjacency layout for serving.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile

import torch

from .network.model import MatchingModel

MAGIC = b"TNDMML01"
FORMAT_VERSION = 2
_HEADER = len(MAGIC) + 8 + 32


class ArtifactError(Exception):
    """The artifact is missing, truncated, corrupted, or not the file the caller expected."""


def save_model_to_bytes(model: MatchingModel) -> bytes:
    return save_state_to_bytes(model.to_state())


def save_state_to_bytes(state: dict) -> bytes:
    """An artifact of a model state (``MatchingModel.to_state``, possibly edited: ``ml.erase``)."""
    # One buffer: the header is written in place after the payload, so a 370 MB model costs one copy of itself,
    # not three (getvalue, then header + payload concatenated: bench/training_scale.py's artifact stage, 1M)
    buf = io.BytesIO()
    buf.write(bytes(_HEADER))
    torch.save({"format_version": FORMAT_VERSION, "model": state}, buf)
    with buf.getbuffer() as view:
        n = len(view) - _HEADER
        with view[_HEADER:] as payload:
            digest = hashlib.sha256(payload).digest()
        view[:_HEADER] = MAGIC + struct.pack(">Q", n) + digest
    return buf.getvalue()


def load_model_from_bytes(blob: bytes, *, expected_sha256: str | None = None) -> MatchingModel:
    """Inverse of ``save_model_to_bytes``. ``expected_sha256`` is the hex digest of the WHOLE blob/file."""
    state = load_state_from_bytes(blob, expected_sha256=expected_sha256)
    try:
        return MatchingModel.from_state(state)
    except Exception as e:
        raise ArtifactError(f"artifact does not describe a valid model: {e}") from e


def load_state_from_bytes(blob: bytes, *, expected_sha256: str | None = None) -> dict:
    """The verified model state of an artifact (no model is built)."""
    if expected_sha256 is not None:
        got = hashlib.sha256(blob).hexdigest()
        if got != expected_sha256.lower():
            raise ArtifactError(f"artifact checksum mismatch: expected {expected_sha256}, got {got}")
    if len(blob) < _HEADER or blob[: len(MAGIC)] != MAGIC:
        raise ArtifactError("not a Tandem model artifact (bad magic or too short)")
    (n,) = struct.unpack(">Q", blob[len(MAGIC) : len(MAGIC) + 8])
    digest = blob[len(MAGIC) + 8 : _HEADER]
    payload = blob[_HEADER:]
    if len(payload) != n:
        raise ArtifactError(f"artifact truncated or padded: payload is {len(payload)} bytes, header says {n}")
    if hashlib.sha256(payload).digest() != digest:
        raise ArtifactError("artifact corrupted: internal sha256 does not match the payload")
    try:
        obj = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as e:  # pragma: no cover - only reachable if the digest matched a bad payload
        raise ArtifactError(f"artifact payload unreadable: {e}") from e
    if not isinstance(obj, dict) or "model" not in obj:
        raise ArtifactError("artifact payload is not a Tandem model (no model state)")
    version = obj.get("format_version")
    if version != FORMAT_VERSION:
        raise ArtifactError(
            f"artifact written by an incompatible model format v{version}; retrain "
            f"(this code reads format v{FORMAT_VERSION})"
        )
    return obj["model"]


def save_model(model: MatchingModel, path: str | os.PathLike) -> str:
    """Atomically write the artifact; returns the sha256 hex digest of the file."""
    blob = save_model_to_bytes(model)
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".tandem")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename durable
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return hashlib.sha256(blob).hexdigest()


def load_model(path: str | os.PathLike, *, expected_sha256: str | None = None) -> MatchingModel:
    """Load and verify an artifact; raises ArtifactError on a missing/corrupt/truncated/mismatched file."""
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise ArtifactError(f"cannot read artifact {os.fspath(path)!r}: {e}") from e
    return load_model_from_bytes(blob, expected_sha256=expected_sha256)
