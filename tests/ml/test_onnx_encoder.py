"""The ONNX INT8 encoder path: built once from the local float weights, close to the float encoder, versioned."""

from __future__ import annotations

import os

import numpy as np
import pytest

from ml.embedding import encoder_for_version
from ml.onnx_encoder import ONNX_INT8_SUFFIX, _length_batches, get_onnx_int8_encoder, onnx_int8_path

TEXTS = [
    "Senior Python developer with Django, PostgreSQL and Celery experience",
    "Registered nurse, intensive care unit, night shifts",
    "Data analyst: SQL, Excel, Tableau dashboards for the sales team " * 12,  # a long text (~200 tokens)
    "Java",
]


@pytest.fixture(scope="module")
def int8(tmp_path_factory):
    return get_onnx_int8_encoder(str(tmp_path_factory.mktemp("encoders")))


@pytest.mark.timeout(600)
def test_int8_vectors_stay_close_to_the_float_encoder(int8, minilm):
    got = int8.encode(TEXTS)
    ref = minilm.encode(TEXTS)
    cos = (got * ref).sum(1)
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert cos.min() >= 0.98, cos  # INT8 moves a vector a little, never to another meaning
    # order of the batch does not change a vector (length-sorted batches are put back in place)
    again = int8.encode(TEXTS[::-1])[::-1]
    assert np.allclose(again, got, atol=1e-4)


def test_int8_vectors_carry_their_own_version(int8, minilm):
    assert int8.version == minilm.version + ONNX_INT8_SUFFIX
    assert encoder_for_version(int8.version) is int8  # a model trained on INT8 vectors loads with it
    assert os.path.exists(onnx_int8_path(int8_model_dir(), os.path.dirname(int8.path)))


def test_empty_text_is_a_zero_vector(int8):
    out = int8.encode(["", "   ", "Welder"])
    assert not out[:2].any() and out[2].any()


def test_length_batches_cover_every_row_once_and_bound_padding():
    lengths = np.array([5, 250, 12, 250, 7, 30, 250])
    batches = _length_batches(lengths, batch_size=4)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 4 and len(b) * lengths[b].max() <= max(8192, lengths[b].max())


def int8_model_dir() -> str:
    from ml.embedding import minilm_model_dir

    return minilm_model_dir()


def test_export_is_fused_smoothed_and_its_projections_int8(int8):
    """The v3 recipe chosen on the validation sample: fused attention and layer norms, the 12 LayerNorm-fed
    projections smoothed (a Mul on their branch), MatMul weights and the attention's QKV projection INT8, the
    embeddings in float."""
    import onnx

    graph = onnx.load(int8.path).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count("QAttention") == 6 and "Attention" not in ops  # one per MiniLM layer
    assert "EmbedLayerNormalization" in ops and not any(op.startswith("QEmbed") for op in ops)
    assert sum(n.name.startswith("Smooth_") for n in graph.node) == 12
    assert sum(op in ("MatMulInteger", "DynamicQuantizeMatMul") for op in ops) >= 12  # 2 FFN matmuls a layer
    int8_weights = {i.name for i in graph.initializer if i.data_type == onnx.TensorProto.INT8}
    assert int8_weights and not any("embeddings" in name for name in int8_weights)


def test_the_shipped_calibration_is_the_v3_recipe_s():
    from ml.onnx_smooth import load_calibration

    maxima = load_calibration()  # raises when the file's digest is not the one v3 was built with
    assert sorted(maxima) == sorted([f"qkv.{i}" for i in range(6)] + [f"ffn1.{i}" for i in range(6)])
    assert all(v.shape == (384,) and (v > 0).all() for v in maxima.values())


def test_smoothing_leaves_the_float_function_unchanged(tmp_path):
    """Scaling an input channel down and the matching weight row up is exact in float arithmetic (up to rounding):
    the smoothed float graph gives the fused graph's hidden states."""
    import onnxruntime as ort

    from ml.onnx_encoder import export_fused, model_feeds
    from ml.onnx_smooth import load_calibration, smooth

    fused = export_fused(int8_model_dir(), str(tmp_path))
    smoothed = str(tmp_path / "smoothed.onnx")
    assert smooth(fused, smoothed, load_calibration()) == 12
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(int8_model_dir(), "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=256)
    (_, feed), *_ = list(model_feeds(tok.encode_batch(TEXTS), 64))
    a, b = (
        ort.InferenceSession(p, providers=["CPUExecutionProvider"]).run(None, feed)[0]
        for p in (fused, smoothed)
    )
    assert np.allclose(a, b, atol=1e-3), np.abs(a - b).max()
