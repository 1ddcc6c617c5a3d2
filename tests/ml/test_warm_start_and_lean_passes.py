"""The final refit's warm start (``train(init=...)``) and the memory-lean paths of a big retrain: the served
model's full-graph pass in destination chunks, and an artifact serialised in one buffer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ml.artifacts import load_model_from_bytes, load_state_from_bytes, save_model_to_bytes
from ml.embedding import EmbeddingCache
from ml.network import TrainConfig, train, warm_start_weights

SMALL = TrainConfig(epochs=1, seed=3, calibration="none")


def _weights(model) -> dict[str, torch.Tensor]:
    out = {}
    for key, w in warm_start_weights(model.to_state()).items():
        if key == "history_heads":
            out |= {f"head.{h}.{k}": v for h, sd in w.items() for k, v in sd.items()}
        else:
            out |= {f"{key}.{k}": v for k, v in w.items()}
    return out


def test_warm_start_begins_from_the_given_weights(trained, hashing_encoder):
    """With lr 0 nothing moves, so the trained weights ARE the init's (a random start differs); the history
    heads' input statistics are still set from the new data (they are data, not weights)."""
    init = warm_start_weights(trained["model"].to_state())
    cache = EmbeddingCache(hashing_encoder)
    config = dataclasses.replace(SMALL, lr=0.0, weight_decay=0.0, selection=trained["model"].config.selection)
    warm = train(trained["train"], config, cache=cache, init=init)
    cold = train(trained["train"], config, cache=cache)
    want, got, other = _weights(trained["model"]), _weights(warm), _weights(cold)
    learned = [k for k in want if not k.endswith((".mu", ".sd"))]
    assert learned and all(torch.equal(got[k], want[k]) for k in learned)
    assert any(not torch.equal(other[k], want[k]) for k in learned)


def test_warm_start_refuses_weights_that_do_not_fit(trained, hashing_encoder):
    init = warm_start_weights(trained["model"].to_state())
    cache = EmbeddingCache(hashing_encoder)
    with pytest.raises(ValueError, match="relation_view"):
        train(trained["train"], SMALL, cache=cache, init={**init, "relation_view": None})
    with pytest.raises(RuntimeError, match="size mismatch"):
        train(trained["train"], dataclasses.replace(SMALL, hidden=16), cache=cache, init=init)


def test_warm_started_epochs_still_learn(trained, hashing_encoder):
    """A warm start is a start: its epochs move the weights away from the init."""
    init = warm_start_weights(trained["model"].to_state())
    warm = train(trained["train"], SMALL, cache=EmbeddingCache(hashing_encoder), init=init)
    want, got = _weights(trained["model"]), _weights(warm)
    assert any(not torch.equal(got[k], want[k]) for k in want if not k.endswith((".mu", ".sd")))


@pytest.mark.parametrize("rows", [7, 100_000])  # many chunks (each node range's own adjacency), and one
def test_full_graph_pass_in_destination_chunks_equals_the_whole_graph_pass(trained, rows):
    model = trained["model"]
    g, rv = model.graph, model.relation_view
    x, types = torch.from_numpy(g.x), torch.from_numpy(g.types)
    with torch.no_grad():
        whole = rv.node_states(x, types, g.relation_adjacency(None))
        chunked = rv.node_states_in_chunks(x, types, g.adjacency_rows(), rows=rows)
        first = rv.node_states_in_chunks(x, types, g.adjacency_rows(), layers=1, rows=rows)
    assert len(chunked) == len(whole) and len(first) == 2
    for a, b in zip(whole, chunked, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(first[1], whole[1], atol=1e-5, rtol=1e-5)
    # the served vectors come from the chunked pass
    model._graph_states = None
    torch.testing.assert_close(model._states()[-1], whole[-1], atol=1e-5, rtol=1e-5)


def test_artifact_written_in_one_buffer_reads_back_and_checks_itself(trained):
    blob = save_model_to_bytes(trained["model"])
    state = load_state_from_bytes(blob)
    assert state["data_window"] == trained["model"].data_window
    again = load_model_from_bytes(blob)
    np.testing.assert_array_equal(again.graph.edges, trained["model"].graph.edges)
    bad = bytearray(blob)
    bad[-1] ^= 1
    with pytest.raises(Exception, match="corrupted"):
        load_state_from_bytes(bytes(bad))


def test_calibrated_sections_and_teacher_vectors_by_block_equal_the_whole_batch(trained):
    """A retrain's held-out evaluation and its distillation teacher read every resume a block at a time; the
    values are the same bits as one batch."""
    from ml.compat.distill import PreviousVectors

    model, data = trained["model"], trained["train"]
    assert model.calibration is not None
    resumes = list(data.resumes)
    np.testing.assert_array_equal(model.resume_sections(resumes, block=7), model.resume_sections(resumes))
    whole = PreviousVectors.of(model, data.jobs, data.resumes)
    model.doc_cache.clear()
    blocks = PreviousVectors.of(model, data.jobs, data.resumes, block=9)
    assert torch.equal(whole.jobs, blocks.jobs) and torch.equal(whole.resumes, blocks.resumes)
    assert whole.resumes.shape == (len(resumes), model.retrieval_dim)
