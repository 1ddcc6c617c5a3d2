"""Nearest-neighbour indexes over the stored vectors of one (space, kind).

PostgreSQL (`DocumentVector`) is the source of truth; an index is derived from it and can always be
rebuilt from it.

Back-ends
    * ``exact``: a NumPy float32 matrix and one matrix-vector product per query. Used below
      ``settings.ANN_MIN_SIZE`` (default 20 000) vectors, where it is as fast as any ANN index and
      exact.
    * ``faiss``: at and above ``ANN_MIN_SIZE``. The FAISS structure is ``settings.ANN_FAISS_KIND``:
      ``ivf_pq_sq8`` (default: 2*sqrt(n) inverted lists over 4-bit PQ codes, a code per 2 dimensions,
      scanned with SIMD lookups, nprobe 8, more when k is large; the best max(k, ANN_REFINE_CANDIDATES)
      re-scored from 8-bit codes), ``ivf_sq8`` (the same lists over 8-bit scalar-quantised vectors),
      ``hnsw`` (HNSW over float vectors) or ``flat`` (brute force in FAISS). IVF-PQ is the default because
      at 1M vectors on 2 cores it builds in under a minute and answers a top-20 in p95 0.9 ms at recall@20
      0.97, where IVF-SQ8 reads four times the bytes (p95 2.0 ms at 0.98) and HNSW builds ~10x slower.
      bench/serving.py measures them at 10k / 100k / 1M; see docs/results.md, "Serving".

Slots and incremental updates
    Every vector lives in a *slot* (its position in the index). ``slot_ids[slot]`` is the document id,
    ``alive[slot]`` says whether the slot still counts. Adding a document appends a slot; updating it
    appends a new slot and tombstones the old one; removing it tombstones its slot. Tombstoned slots
    are filtered at query time (the search over-fetches by the number of tombstones, or hands FAISS an
    ID selector when there are many), and disappear when the index is rebuilt. This works for every
    back-end, HNSW included (which cannot remove vectors).

Artifacts and generations
    ``build_index`` writes the whole index as one artifact through ``storages["models"]``
    (``indexes/<space>/<kind>/g<generation>.idx``; sha256 recorded in ``VectorIndex``).
    ``apply_changes`` writes one small *delta* file per change
    (``indexes/<space>/<kind>/g<base>.d<generation>.npz``) and raises ``VectorIndex.generation`` in the
    same transaction, under a row lock, so writers in different processes serialise.

    ``LoadedIndexes`` (one per process, ``loaded_indexes``) holds the loaded indexes. On every ``get`` it
    reads the row's generation (one indexed query); when it is newer it applies the missing delta
    files in order, or reloads the artifact when the base changed (a rebuild) or a delta is gone. No

Modules
    engines   the exact and FAISS back-ends and their settings
    core      ``Index``: ids -> unit vectors over one engine, with slots and tombstones
    storage   artifact and delta files, and the PostgreSQL vectors an index is built from
    build     ``build_index``, ``apply_changes`` (one delta per change), ``needs_rebuild``
    loaded    the indexes this process holds (``loaded_indexes``), kept at the latest generation
    upkeep    signal receivers and periodic tasks that keep indexes and the match cache in step
"""

from matching.index.build import apply_changes, build_index, needs_rebuild
from matching.index.core import Index
from matching.index.engines import QUANTISED_KINDS, ann_params, choose_backend
from matching.index.loaded import LoadedIndex, LoadedIndexes, loaded_indexes
from matching.index.storage import delta_name_for, load_vectors

__all__ = [
    "Index",
    "LoadedIndex",
    "LoadedIndexes",
    "QUANTISED_KINDS",
    "ann_params",
    "apply_changes",
    "build_index",
    "choose_backend",
    "delta_name_for",
    "load_vectors",
    "loaded_indexes",
    "needs_rebuild",
]
