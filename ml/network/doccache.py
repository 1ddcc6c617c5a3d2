"""Per-document representations that do not depend on the query, kept across scoring calls.

Serving reranks the same few thousand jobs on every request (``rank_jobs(resume, jobs, interactions=...)``);
before this cache every call redid, per job, work that depends on the job alone. ``DocCache`` keeps, per
document:

  * its frozen section embeddings (``embed_sections`` rows, (S, dim) float32);
  * its text-tower output (``TextView.job_tower`` / ``resume_tower``, (hidden,) float32);
  * for a job, its row of the history features' job side (``HistoryFeatures.job_side``: company, place and
    state key ids, stored-job index, TF-IDF row), added the first time a call needs it.

Not cached, on purpose: the graph vectors. A trained node's vector is a row of the trained states (a gather,
no faster from a cache); a document whose pairs the call's ``interactions`` change is re-attached for that
call; a document the graph does not know is attached with all the call's other unknown documents in one batch,
and that batch changes its vector (content-neighbour ties, matmul rounding), so a cached one would differ. The
history job-side rows do not depend on interactions (``FreshHistory`` applies a call's degree changes and
histories on top of them), so a document mentioned by the call's events uses its cached rows unchanged.

Numbers do not change: each cached quantity is a function of its row alone. The TF-IDF transform and its row
normalisation are per-row loops; the towers' matmuls and element-wise ops give every row the same bits whatever
the batch around it (checked on this torch build, MKL sgemm on AVX-512 with 1 and 2 threads, batches of 1 to 999
in any order and composition). ``tests/ml/test_doc_cache.py`` checks warm, partly warm and cold calls against the
uncached path, and a call whose documents all miss takes exactly the uncached path (one batch, same order).
The section rows are those the embedding cache gave when the document was first seen (``use_cache`` clears
this cache): a text the bounded embedding cache evicts and a later call re-encodes is not read again here.

Keys: the document value itself (``JobDoc``/``ResumeDoc`` are frozen dataclasses, equal by class and every
field), so an edited document is a new entry; a document whose fields do not hash is keyed by (class, id, a
128-bit digest of its ``repr``).

Bound: ``max_docs`` entries, least recently used first out. Memory per entry (tracemalloc; 384-d embeddings,
hidden 32): 6 KB of section embeddings, 4 bytes per hidden unit, 8 bytes per distinct TF-IDF term of a job's
text, the document the key holds (its text) and about 750 bytes of objects: 7.4 KB for a synthetic job (300
characters, 34 terms) plus its text, about 13 KB for a 3,000-character posting with 300 terms; so the default
20,000 documents take 170-260 MB. ``nbytes()`` estimates what a cache holds.

Thread-safe: one lock around the LRU; misses are computed outside it (two threads missing the same document
compute the same rows, the later one stays).
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, fields, is_dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ..features import JobSide

DEFAULT_MAX_DOCS = 20_000
_ENTRY_OVERHEAD = 750  # the key, the LRU's node, the entry objects and its arrays' headers (tracemalloc)

BaseFn = Callable[[list], tuple[np.ndarray, torch.Tensor | None]]  # docs -> (sections, tower output)
SideFn = Callable[[list, np.ndarray], JobSide]  # (jobs, their sections) -> their history job side


class _SideRow:
    """One job's row of a ``JobSide`` (its whole/title vectors are its section rows)."""

    __slots__ = ("keys", "tf_indices", "tf_data")

    def __init__(self, keys: tuple[int, int, int, int], tf_indices: np.ndarray, tf_data: np.ndarray):
        self.keys = keys  # company, place, state, degree_index
        self.tf_indices = tf_indices
        self.tf_data = tf_data


class _Entry:
    __slots__ = ("sections", "tower", "side")

    def __init__(self, sections: np.ndarray, tower: np.ndarray | None, side: _SideRow | None = None):
        self.sections = sections
        self.tower = tower
        self.side = side

    @property
    def nbytes(self) -> int:
        n = self.sections.nbytes + (self.tower.nbytes if self.tower is not None else 0)
        if self.side is not None:
            n += self.side.tf_indices.nbytes + self.side.tf_data.nbytes + 4 * 28
        return n + _ENTRY_OVERHEAD


@dataclass
class DocReprs:
    """A call's documents: sections (n, S, dim) float32, tower output (n, hidden) or None, job side or None."""

    sections: np.ndarray
    tower: torch.Tensor | None
    side: JobSide | None = None


def doc_key(doc) -> Hashable:
    """The document itself (a frozen dataclass: equal documents share an entry, an edited one gets a new
    one); one whose fields do not hash (a list where a tuple belongs) is keyed by its id and a 128-bit digest of
    its ``repr``."""
    try:
        hash(doc)
    except TypeError:
        digest = hashlib.blake2b(repr(doc).encode("utf-8", "surrogatepass"), digest_size=16).digest()
        return type(doc).__name__, str(doc.id), digest
    return doc


def _key_bytes(key) -> int:
    """The key's own memory: a document's object and field values (its text), or (class, id, digest)."""
    values = [getattr(key, f.name) for f in fields(key)] if is_dataclass(key) else list(key)
    values += [x for v in values if isinstance(v, tuple) for x in v]
    return sys.getsizeof(key) + sum(sys.getsizeof(v) for v in values)


def _split_side(side: JobSide) -> list[_SideRow]:
    """Per job, its own copy of its row (a view would keep the whole call's arrays alive)."""
    tf = side.tfidf
    bounds = tf.indptr.tolist()
    keys = np.stack([side.company, side.place, side.state, side.degree_index], 1).tolist()
    return [
        _SideRow(tuple(k), tf.indices[a:b].copy(), tf.data[a:b].copy())
        for k, a, b in zip(keys, bounds[:-1], bounds[1:], strict=True)
    ]


def _join_side(rows: Sequence[_SideRow], sections: np.ndarray, n_terms: int) -> JobSide:
    """The ``JobSide`` that ``HistoryFeatures.job_side`` gives for these jobs, from their rows (each TF-IDF row
    keeps its stored order, so sparse products sum in the same order)."""
    keys = np.array([r.keys for r in rows], dtype=np.int64).reshape(-1, 4)
    indptr = np.zeros(len(rows) + 1, np.int64)
    np.cumsum([len(r.tf_indices) for r in rows], out=indptr[1:])
    idx = np.concatenate([r.tf_indices for r in rows]) if rows else np.zeros(0, np.int32)
    data = np.concatenate([r.tf_data for r in rows]) if rows else np.zeros(0, np.float32)
    tf = sp.csr_matrix((data, idx, indptr), shape=(len(rows), n_terms))
    sec = np.asarray(sections, dtype=np.float32)
    return JobSide(sec[:, -1].copy(), sec[:, 0].copy(), keys[:, 0], keys[:, 1], keys[:, 2], tf, keys[:, 3])


class DocCache:
    """LRU of per-document representations, at most ``max_docs`` documents (0: off, every call uncached)."""

    def __init__(self, max_docs: int = DEFAULT_MAX_DOCS):
        self.max_docs = int(max_docs)
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def nbytes(self) -> int:
        """Approximate memory held: the entries' arrays, the documents the keys hold, per-entry overhead."""
        with self._lock:
            return sum(e.nbytes + _key_bytes(k) for k, e in self._entries.items())

    def reprs(self, docs: Sequence, base: BaseFn, side: SideFn | None = None, n_terms: int = 0) -> DocReprs:
        """The documents' representations: cached rows where there are, ``base`` (and ``side``, when given,
        for jobs: ``n_terms`` is the TF-IDF vocabulary size) for the distinct others in one batch."""
        docs = list(docs)
        if self.max_docs <= 0 or not docs or len(docs) > self.max_docs:
            # a batch bigger than the cache (a retrain's held-out evaluation: 100k resumes) would only copy every
            # row into entries it evicts at once, and stack them again: ~1 GB at 1M interactions, for nothing
            return _uncached(docs, base, side)
        keys = [doc_key(d) for d in docs]
        with self._lock:
            found = [self._get(k) for k in keys]
        todo = {k: d for k, d, e in zip(keys, docs, found, strict=True) if e is None}
        if len(todo) == len(docs):  # a cold call: exactly the uncached computation
            out = _uncached(docs, base, side)
            self._store(keys, out)
            return out
        entries = dict(zip(keys, found, strict=True))
        if todo:
            entries.update(self._store(list(todo), _uncached(list(todo.values()), base, side)))
        rows = [entries[k] for k in keys]
        if side is not None:
            self._add_sides(keys, docs, rows, side)
        sections = np.stack([e.sections for e in rows])
        tower = None if rows[0].tower is None else torch.from_numpy(np.stack([e.tower for e in rows]))
        js = _join_side([e.side for e in rows], sections, n_terms) if side is not None else None
        return DocReprs(sections, tower, js)

    def _add_sides(self, keys, docs, rows: list[_Entry], side: SideFn) -> None:
        """Job-side rows for the entries that lack them (computed for the distinct ones in one batch)."""
        need = {k: i for i, (k, e) in enumerate(zip(keys, rows, strict=True)) if e.side is None}
        if not need:
            return
        at = list(need.values())
        js = side([docs[i] for i in at], np.stack([rows[i].sections for i in at]))
        with self._lock:
            for i, row in zip(at, _split_side(js), strict=True):
                rows[i].side = row
                self._put(keys[i], rows[i])

    def _get(self, key) -> _Entry | None:
        e = self._entries.get(key)
        if e is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return e

    def _put(self, key, entry: _Entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_docs:
            self._entries.popitem(last=False)

    def _store(self, keys: list, out: DocReprs) -> dict:
        """Split a computed batch into entries (keys[i] is row i) and add them to the LRU."""
        n = len(keys)
        towers = list(out.tower.numpy()) if out.tower is not None else [None] * n
        sides = _split_side(out.side) if out.side is not None else [None] * n
        new = {
            k: _Entry(e.copy(), t.copy() if t is not None else None, s)
            for k, e, t, s in zip(keys, out.sections, towers, sides, strict=True)
        }
        with self._lock:
            for k, e in new.items():
                self._put(k, e)
        return new


def _uncached(docs: list, base: BaseFn, side: SideFn | None) -> DocReprs:
    e, t = base(docs)
    return DocReprs(e, t, side(docs, e) if side is not None else None)
