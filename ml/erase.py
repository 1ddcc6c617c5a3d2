"""Erasing documents from a trained model's stored state: what serving keeps of a resume (or job) besides weights.

A model's state (``MatchingModel.to_state``) holds, per training document, a relation-graph node (its key
``resume:<id>``, its frozen embedding row, its content, interaction and neighbour edges) and, for resumes, its
history edges. Erasing removes the node, its row and every edge that touches it, then every keyword node
(skill, category, location: strings taken from documents' text) left with no edge, and the history rows of the
erased resumes. The weights stay: they are an aggregate over all training documents, not a copy of one.
Node indices are renumbered in order, so the graph keeps its layout (jobs, resumes, keyword nodes).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch


def _ids(values: Iterable[str | int]) -> set[str]:
    return {str(v) for v in values}


def erase_from_graph(graph: dict, keys_to_drop: set[str]) -> int:
    """Drop these node keys, their edges, and keyword nodes left without edges; returns the nodes removed."""
    keys = list(graph["keys"])
    drop = np.fromiter((k in keys_to_drop for k in keys), dtype=bool, count=len(keys))
    if not drop.any():
        return 0
    edges = graph["edges"].numpy()
    ends = edges[:, :2].astype(np.int64)
    edges = edges[~(drop[ends[:, 0]] | drop[ends[:, 1]])]
    types = graph["types"].numpy()
    document = np.fromiter((k.startswith(("job:", "resume:")) for k in keys), dtype=bool, count=len(keys))
    linked = np.zeros(len(keys), dtype=bool)
    linked[edges[:, :2].astype(np.int64).ravel()] = True
    drop |= ~document & ~linked  # a skill/category/location only the erased documents had
    keep = ~drop
    new_index = np.cumsum(keep) - 1
    edges = edges.copy()
    edges[:, 0] = new_index[edges[:, 0].astype(np.int64)]
    edges[:, 1] = new_index[edges[:, 1].astype(np.int64)]
    graph["keys"] = [k for k, kept in zip(keys, keep, strict=True) if kept]
    graph["types"] = torch.from_numpy(types[keep].copy())
    graph["x"] = torch.from_numpy(graph["x"].numpy()[keep].copy())
    graph["edges"] = torch.from_numpy(edges)
    return int(drop.sum())


def erase_from_history(history: dict, resume_ids: set[str]) -> int:
    """Drop these resumes' rows and history edges; returns the resumes removed."""
    ids = list(history["resume_ids"])
    drop = np.fromiter((str(r) in resume_ids for r in ids), dtype=bool, count=len(ids))
    if not drop.any():
        return 0
    edges = history["edges"].numpy().reshape(-1, 3)
    edges = edges[~drop[edges[:, 0].astype(np.int64)]].copy()
    new_index = np.cumsum(~drop) - 1
    edges[:, 0] = new_index[edges[:, 0].astype(np.int64)]
    history["resume_ids"] = [r for r, dropped in zip(ids, drop, strict=True) if not dropped]
    history["edges"] = torch.from_numpy(edges)
    return int(drop.sum())


def stored_resume_ids(state: dict) -> set[str]:
    """The ids of the resumes a model state holds (graph nodes and history rows)."""
    ids = {k[len("resume:") :] for k in (state.get("graph") or {}).get("keys", []) if k.startswith("resume:")}
    return ids | {str(r) for r in (state.get("history") or {}).get("resume_ids", [])}


def erase_documents(
    state: dict, *, resumes: Iterable[str | int] = (), jobs: Iterable[str | int] = ()
) -> dict:
    """Erase these documents from a model state in place; returns what was removed (all zero: unchanged)."""
    resume_ids, job_ids = _ids(resumes), _ids(jobs)
    removed = {"graph_nodes": 0, "history_resumes": 0}
    if state.get("graph") is not None:
        keys = {f"resume:{r}" for r in resume_ids} | {f"job:{j}" for j in job_ids}
        removed["graph_nodes"] = erase_from_graph(state["graph"], keys)
    if state.get("history") is not None and resume_ids:
        removed["history_resumes"] = erase_from_history(state["history"], resume_ids)
    return removed
