"""ml.erase on a hand-made model state: the erased node, its vector row, its edges, keyword nodes only it had
and its history rows go; everything else is renumbered and kept."""

from __future__ import annotations

import numpy as np
import torch

from ml.erase import erase_documents, stored_resume_ids

KEYS = ["job:1", "job:2", "resume:10", "resume:11", "skill:python", "skill:xylophonics", "location:berlin"]


def _state() -> dict:
    x = np.arange(len(KEYS) * 2, dtype=np.float32).reshape(len(KEYS), 2)
    pairs = [(2, 5), (5, 2), (2, 4), (4, 2), (3, 4), (4, 3), (0, 4), (4, 0), (0, 2), (2, 0), (1, 3), (3, 1),
             (2, 6), (6, 2), (3, 2)]  # fmt: skip
    edges = np.array([[r, c, 0, 1.0, -1] for r, c in pairs], dtype=np.float64)
    graph = {
        "keys": list(KEYS),
        "types": torch.tensor([0, 0, 1, 1, 2, 2, 4]),
        "x": torch.from_numpy(x),
        "edges": torch.from_numpy(edges),
        "n_folds": 3,
        "knn": 5,
    }
    history = {"resume_ids": ["10", "11"], "edges": torch.tensor([[0, 0, 1], [0, 1, 2], [1, 1, 0]])}
    return {"graph": graph, "history": history}


def test_erasing_a_resume_leaves_nothing_of_it_and_keeps_the_rest():
    state = _state()
    assert stored_resume_ids(state) == {"10", "11"}
    removed = erase_documents(state, resumes=[10])
    graph, history = state["graph"], state["history"]
    # resume:10, and the skill and location only it had; python stays (shared with resume:11 and job:1)
    assert removed == {"graph_nodes": 3, "history_resumes": 1}
    assert graph["keys"] == ["job:1", "job:2", "resume:11", "skill:python"]
    assert graph["types"].tolist() == [0, 0, 1, 2]
    assert graph["x"].numpy().tolist() == [[0, 1], [2, 3], [6, 7], [8, 9]]  # the rows of the kept nodes
    ends = {(int(r), int(c)) for r, c in graph["edges"].numpy()[:, :2]}
    assert ends == {
        (2, 3),
        (3, 2),
        (0, 3),
        (3, 0),
        (1, 2),
        (2, 1),
    }  # resume:11-python, job:1-python, job:2-resume:11
    assert history["resume_ids"] == ["11"] and history["edges"].tolist() == [[0, 1, 0]]
    assert stored_resume_ids(state) == {"11"}


def test_erasing_what_is_not_there_changes_nothing():
    state = _state()
    assert erase_documents(state, resumes=["99"]) == {"graph_nodes": 0, "history_resumes": 0}
    assert state["graph"]["keys"] == KEYS and len(state["graph"]["edges"]) == 15
