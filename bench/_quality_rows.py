"""The rows of bench/quality.py and their display names, shared by the runner and its report."""

from __future__ import annotations

from bench import peers as P
from bench._tandem import ORACLE, TANDEM_ROWS

SECTION = "## Quality (bench/quality.py)"
SEEDS_SECTION = "## Quality over training seeds (bench/quality.py --seeds)"
VALIDATION_SECTION = "## Quality on the validation split (bench/quality.py --validation)"
COTEACHING_SECTION = "## Quality: co-teaching under noise (bench/quality.py --coteaching)"
PEER_ROWS = {
    "popularity": "popularity",
    "bm25": "BM25 (bm25s)",
    "minilm": "MiniLM zero-shot",
    "als": "ALS (implicit)",
    "knn": "co-view item-kNN",
    "lightfm": "LightFM (content features)",
    "place": "place-and-company history",
    "fieldbm25": "BM25, field weights (bm25s)",
    "lambdarank": "LightGBM LambdaRank (hand features)",
}
ALL_ROWS = [*PEER_ROWS, *TANDEM_ROWS]
# the full run: every peer and the network's views at every noise rate (one training seed)
DEFAULT_ROWS = [*PEER_ROWS, "tandem-text", "tandem-relation", "tandem-both", "tandem-full", "tandem-oracle"]
# the seeds command (--seeds 0,1,2, noise 0): every peer and the two co-teaching rows
SEEDS_ROWS = [*PEER_ROWS, "tandem-both", "tandem-full"]
# the validation command (--validation, noise 0): where Tandem's choices are read, ablations included
VALIDATION_ROWS = [
    "bm25",
    "place",
    "fieldbm25",
    "lambdarank",
    "tandem-both",
    "tandem-full",
    "tandem-batch",
    "tandem-memory",
    "tandem-noshort",
    "tandem-alpha0",
    "tandem-peeronly",
]
# the co-teaching command (--coteaching, noise 0/20/40%): the two co-teaching rows and the oracle
COTEACHING_ROWS = ["tandem-both", "tandem-full", "tandem-oracle"]
ROW_NAMES = {**PEER_ROWS, **{k: v[0] for k, v in TANDEM_ROWS.items()}}
ABSENT = {"lightfm": P.LIGHTFM_ABSENT}
FULL, NO_COTEACH = "tandem-full", "tandem-both"
SUBSETS = ("all", "profile", "cold", "warm")
RUNTIME_GOAL_SECONDS = 20 * 60

__all__ = [
    "ABSENT",
    "COTEACHING_ROWS",
    "COTEACHING_SECTION",
    "ALL_ROWS",
    "DEFAULT_ROWS",
    "FULL",
    "NO_COTEACH",
    "ORACLE",
    "PEER_ROWS",
    "ROW_NAMES",
    "RUNTIME_GOAL_SECONDS",
    "SECTION",
    "SEEDS_ROWS",
    "SEEDS_SECTION",
    "SUBSETS",
    "TANDEM_ROWS",
    "VALIDATION_ROWS",
    "VALIDATION_SECTION",
]
