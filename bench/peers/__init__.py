"""Peer rankers for bench/quality.py. Each has ``fit(split)`` and ``score(resume_index, job_indices) -> scores``
(some also ``score_batch(split, cases)``); all see only the split's training views and the documents, and any
tuning uses ``validation_split`` carved from training.

- ``classic``: popularity, BM25 (bm25s), MiniLM zero-shot, ALS (implicit), co-view item-kNN, LightFM (absent).
- ``place``: the place-and-company history count, and BM25 with field-aligned queries and tuned field weights.
- ``lambdarank``: a LightGBM LambdaRank model over hand features (the usual industry baseline).
"""

from bench.peers.classic import (
    ALS,
    BM25,
    LIGHTFM_ABSENT,
    ItemKNN,
    MiniLMZeroShot,
    Peer,
    Popularity,
    Tokenizer,
    make_peers,
    resume_section_texts,
    timed_fit,
)
from bench.peers.lambdarank import LambdaRank
from bench.peers.place import FieldBM25, PlaceHistory

__all__ = [
    "ALS",
    "BM25",
    "LIGHTFM_ABSENT",
    "FieldBM25",
    "ItemKNN",
    "LambdaRank",
    "MiniLMZeroShot",
    "Peer",
    "PlaceHistory",
    "Popularity",
    "Tokenizer",
    "make_peers",
    "resume_section_texts",
    "timed_fit",
]
