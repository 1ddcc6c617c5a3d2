"""TF-IDF over the history features' texts: a frozen vocabulary, sublinear tf, smooth idf, L2 rows."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class Tfidf:
    """Minimal TF-IDF (sublinear tf, smooth idf, L2 rows) with a frozen vocabulary; serialisable as lists.

    Written here rather than using scikit-learn's TfidfVectorizer because the artifact loader accepts only
    plain tensors and lists (torch ``weights_only=True``): a pickled vectorizer could not be stored safely.
    """

    max_cached_rows = 20_000

    def __init__(self, vocab: dict[str, int], idf: np.ndarray):
        self.vocab = vocab
        self.idf = np.asarray(idf, dtype=np.float32)
        self._rows: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def fit(cls, texts: Sequence[str]) -> Tfidf:
        vocab: dict[str, int] = {}
        df: list[int] = []
        for t in texts:
            for w in dict.fromkeys(tokens(t)):  # first-seen order: the same vocabulary in every process
                k = vocab.get(w)
                if k is None:
                    vocab[w] = len(df)
                    df.append(0)
                    k = vocab[w]
                df[k] += 1
        n = len(texts)
        idf = np.log((1 + n) / (1 + np.asarray(df, dtype=np.float64))) + 1.0
        return cls(vocab, idf)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """L2-normalised rows; a text seen recently is not tokenised again (serving scores the same resumes
        for job after job: tokenising 200 of them was half of a warm rerank)."""
        found = [self._row(t) for t in texts]
        cols = [k for k, _ in found]
        vals = [v for _, v in found]
        # the row index of every term in one call (an array per text was most of transform's time)
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), [len(k) for k in cols])
        m = sp.csr_matrix(
            (
                np.concatenate(vals) if vals else np.zeros(0, np.float32),
                (rows, np.concatenate(cols) if cols else np.zeros(0, np.int64)),
            ),
            shape=(len(texts), len(self.idf)),
        )
        return _l2_rows(m)

    def _row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(term ids, sublinear tf * idf) of one text, from a bounded LRU of recent texts."""
        with self._lock:
            hit = self._rows.get(text)
            if hit is not None:
                self._rows.move_to_end(text)
                return hit
        counts: dict[int, int] = {}
        for w in tokens(text):
            k = self.vocab.get(w)
            if k is not None:
                counts[k] = counts.get(k, 0) + 1
        ids = np.fromiter(counts.keys(), np.int64, len(counts))
        tf = np.fromiter(counts.values(), np.float64, len(counts))
        row = ids, ((1.0 + np.log(tf)) * self.idf[ids]).astype(np.float32)
        with self._lock:
            self._rows[text] = row
            while len(self._rows) > self.max_cached_rows:
                self._rows.popitem(last=False)
        return row


def _l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    m = sp.csr_matrix(m, dtype=np.float32)
    n = np.sqrt(np.asarray(m.multiply(m).sum(1)).ravel())
    return sp.diags(np.where(n > 0, 1.0 / np.maximum(n, 1e-12), 0.0).astype(np.float32)) @ m
