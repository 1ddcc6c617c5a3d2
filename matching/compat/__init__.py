"""Compatible model updates on the platform: a promoted version serves at once against the vectors an older
version indexed, while a low-priority backfill writes its own space behind it.

  projection  at promotion: fit the query projection (ml/compat drift compensation) from a fixed-size sample of
              documents embedded by both versions, so activation costs the same at any corpus size; at serving:
              the base version whose complete space the active one searches, and the projection into it
  backfill    the low-priority queue's work: the active version's vectors written in batches (resumable,
              no duplicates, stops when the version is no longer active), then the projection dropped and the
              older spaces' vectors deleted; the per-version vector counts the API shows

Every stored vector names the version that made it (`DocumentVector.space` = `model:<version>`); retrieval
(`matching.retrieval`) searches the active version's own part with the query as it is and the base version's
part with the projected query, and merges the two into one ranking.
"""
