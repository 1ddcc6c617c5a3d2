"""Where an index lives outside a process: artifact and delta files in storages["models"], and the
PostgreSQL vectors (the source of truth) it is built from."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterable

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from matching.index.core import Index
from matching.models import DocumentVector

log = logging.getLogger(__name__)


def index_storage():
    return storages["models"]


def _space_dir(space: str, kind: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", space)[:80]
    digest = hashlib.sha256(space.encode("utf-8")).hexdigest()[:8]
    return f"indexes/{slug}-{digest}/{kind}"


def artifact_name_for(space: str, kind: str, generation: int) -> str:
    return f"{_space_dir(space, kind)}/g{generation:010d}.idx"


def delta_name_for(artifact_name: str, generation: int) -> str:
    return f"{artifact_name.removesuffix('.idx')}.d{generation:010d}.npz"


def base_generation(artifact_name: str) -> int:
    m = re.search(r"/g(\d+)\.idx$", artifact_name or "")
    return int(m.group(1)) if m else 0


def write_file(name: str, data: bytes) -> str:
    storage = index_storage()
    if storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, ContentFile(data))
    if saved != name:  # a storage that renamed it anyway; keep what it wrote
        log.warning("index artifact %s was stored as %s", name, saved)
    return saved


def read_file(name: str) -> bytes:
    with index_storage().open(name, "rb") as f:
        return f.read()


def delete_quietly(names: Iterable[str]) -> None:
    storage = index_storage()
    for name in names:
        try:
            if storage.exists(name):
                storage.delete(name)
        except Exception:
            log.warning("could not delete index artifact %s", name, exc_info=True)


def delta_bytes(up_ids: np.ndarray, up_vecs: np.ndarray, rm_ids: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, up_ids=up_ids, up_vecs=up_vecs, rm_ids=rm_ids)
    return buf.getvalue()


def apply_delta_bytes(idx: Index, data: bytes) -> None:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        rm = z["rm_ids"].astype(np.int64)
        up_ids = z["up_ids"].astype(np.int64)
        up_vecs = z["up_vecs"].astype(np.float32)
    if len(rm):
        idx.remove(rm)
    if len(up_ids):
        idx.add(up_ids, up_vecs)


def _fk(kind: str) -> str:
    if kind not in (DocumentVector.Kind.JOB, DocumentVector.Kind.RESUME):
        raise ValueError(f"unknown kind {kind!r}")
    return "job_id" if kind == DocumentVector.Kind.JOB else "resume_id"


def load_vectors(space: str, kind: str, *, ids: Iterable[int] | None = None, chunk: int = 5000):
    """(object ids int64 (n,), vectors float32 (n, dim)) of one (space, kind) from PostgreSQL.

    With `ids`, the rows are found through the document foreign key alone and the space is checked
    here: given `space` too, PostgreSQL may walk the (space, kind, id) index over the whole space.
    """
    fk = _fk(kind)
    if ids is not None:
        ids = list(ids)
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        rows = (  # a plain query per `chunk` ids: a server-side cursor costs three round trips for a few hundred
            row
            for s in range(0, len(ids), chunk)
            for row in DocumentVector.objects.filter(**{f"{fk}__any": ids[s : s + chunk]})
            .order_by()
            .values_list(fk, "dim", "vector", "space")
        )
        rows = ((oid, d, vec) for oid, d, vec, sp in rows if sp == space)
    else:
        rows = (
            DocumentVector.objects.filter(space=space, kind=kind)
            .order_by()
            .values_list(fk, "dim", "vector")
            .iterator(chunk_size=chunk)
        )
    out_ids: list[int] = []
    bufs: list[bytes] = []
    dim = None
    for oid, d, vec in rows:
        if dim is None:
            dim = d
        elif d != dim:
            raise ValueError(f"space {space!r} mixes dimensions {dim} and {d}")
        out_ids.append(oid)
        bufs.append(bytes(vec))
    if not out_ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    mat = np.frombuffer(b"".join(bufs), dtype="<f4").reshape(len(out_ids), dim).astype(np.float32)
    return np.asarray(out_ids, dtype=np.int64), mat
