"""The indexes this process has loaded, kept in step with ``VectorIndex.generation``: on every ``get`` one
indexed query reads the generation; newer deltas are applied in order, a new base (a rebuild) or a missing
delta reloads the artifact, a missing or corrupt artifact is rebuilt from PostgreSQL. No restart needed."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass

from matching.index.build import build_index
from matching.index.core import Index
from matching.index.storage import apply_delta_bytes, base_generation, delta_name_for, read_file
from matching.models import VectorIndex

log = logging.getLogger(__name__)


@dataclass
class LoadedIndex:
    space: str
    kind: str
    index: Index
    generation: int
    artifact_name: str

    @property
    def backend(self) -> str:
        return self.index.kind_label


class LoadedIndexes:
    """The indexes this process has loaded, kept in step with `VectorIndex.generation`."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], LoadedIndex] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def put(self, space: str, kind: str, index: Index, generation: int, artifact_name: str) -> LoadedIndex:
        entry = LoadedIndex(space, kind, index, generation, artifact_name)
        with self._lock:
            current = self._entries.get((space, kind))
            if current is None or current.generation <= generation:
                self._entries[(space, kind)] = entry
        return entry

    def rebuild(self, space: str, kind: str, *, backend: str | None = None) -> tuple[VectorIndex, Index]:
        """Build the index from PostgreSQL, publish it, and hold it in this process."""
        row, idx = build_index(space, kind, backend=backend)
        self.put(space, kind, idx, row.generation, row.artifact_name)
        return row, idx

    def peek(self, space: str, kind: str) -> LoadedIndex | None:
        return self._entries.get((space, kind))

    def _key_lock(self, key) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def get(self, space: str, kind: str, *, build: bool = True) -> LoadedIndex | None:
        """The index of (space, kind) at the latest generation; builds it when it was never built."""
        key = (space, kind)
        row = (
            VectorIndex.objects.filter(space=space, kind=kind)
            .values("generation", "artifact_name", "artifact_sha256")
            .first()
        )
        entry = self._entries.get(key)
        if (
            row
            and entry
            and row["artifact_name"] == entry.artifact_name
            and row["generation"] == entry.generation
        ):
            return entry
        with self._key_lock(key):
            entry = self._entries.get(key)
            if row is None or not row["artifact_name"]:
                if not build:
                    return None
                self.rebuild(space, kind)
                return self._entries.get(key)
            if (
                entry
                and entry.artifact_name == row["artifact_name"]
                and entry.generation >= row["generation"]
            ):
                return entry
            if entry and entry.artifact_name == row["artifact_name"]:
                try:
                    for g in range(entry.generation + 1, row["generation"] + 1):
                        apply_delta_bytes(entry.index, read_file(delta_name_for(entry.artifact_name, g)))
                        entry.generation = g
                    return entry
                except FileNotFoundError:
                    log.info("delta missing for %s/%s; reloading the artifact", space, kind)
            return self._load(space, kind, row)

    def _load(self, space: str, kind: str, row: dict) -> LoadedIndex:
        name = row["artifact_name"]
        try:
            data = read_file(name)
        except FileNotFoundError:
            log.warning("index artifact %s is missing; rebuilding from PostgreSQL", name)
            self.rebuild(space, kind)
            return self._entries[(space, kind)]
        if row["artifact_sha256"] and hashlib.sha256(data).hexdigest() != row["artifact_sha256"]:
            log.error("index artifact %s fails its sha256 check; rebuilding from PostgreSQL", name)
            self.rebuild(space, kind)
            return self._entries[(space, kind)]
        idx = Index.from_bytes(data)
        gen = base_generation(name)
        for g in range(gen + 1, row["generation"] + 1):
            try:
                apply_delta_bytes(idx, read_file(delta_name_for(name, g)))
            except FileNotFoundError:
                log.warning("delta %d of %s missing; rebuilding from PostgreSQL", g, name)
                self.rebuild(space, kind)
                return self._entries[(space, kind)]
            gen = g
        entry = LoadedIndex(space, kind, idx, gen, name)
        with self._lock:
            self._entries[(space, kind)] = entry
        return entry


loaded_indexes = LoadedIndexes()
