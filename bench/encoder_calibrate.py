"""Calibrate the INT8 encoder's smoothing on the validation sample, and read the recipe's agreement there.

    .venv/bin/python bench/encoder_calibrate.py [--write] [--alpha 0.5]

The validation sample is the section texts whose hash starts with "0" (``bench/encoder_speed.is_validation``,
1/16 of the real texts; ``bench/encoder_speed.py`` never times nor compares them). Its first half (second hash
digit 0-7) calibrates: the per-channel activation maxima of the projections ``ml.onnx_smooth`` smooths.
``--write`` stores them in ``ml/onnx_smooth_v3.json`` (then put its sha256, printed, in
``ml.onnx_smooth.CALIBRATION_SHA256``; new maxima make new vectors: bump ``ONNX_INT8_SUFFIX``). Either way the
recipe is built from these maxima and its cosine to the float model is printed for both halves, the figures the
recipe was chosen on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.encoder_speed import is_validation, real_texts  # noqa: E402
from ml import onnx_encoder as OE  # noqa: E402
from ml import onnx_smooth as OS  # noqa: E402
from ml.embedding import get_encoder, minilm_model_dir, text_hash  # noqa: E402


def calibration_half(text: str) -> bool:
    return text_hash(text)[1] in "01234567"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help=f"store the maxima in {OS.CALIBRATION_FILE}")
    ap.add_argument("--alpha", type=float, default=OS.ALPHA)
    args = ap.parse_args(argv)
    from tokenizers import Tokenizer

    validation = [t for t in real_texts() if is_validation(t)]
    calib = [t for t in validation if calibration_half(t)]
    tok = Tokenizer.from_file(os.path.join(minilm_model_dir(), "tokenizer.json"))
    tok.enable_truncation(max_length=OE.MAX_SEQ_LENGTH)
    tok.no_padding()
    with tempfile.TemporaryDirectory() as tmp:
        fused = OE.export_fused(minilm_model_dir(), tmp)
        feeds = (feed for _, feed in OE.model_feeds(tok.encode_batch(calib), 32))
        maxima = OS.activation_maxima(fused, feeds)
        if args.write:
            doc = {
                "about": "ml.onnx_smooth activation maxima: bench/encoder_calibrate.py, validation sample's "
                f"first half ({len(calib)} section texts, hash '0[0-7]...')",
                "maxima": {k: [float(f"{v:.6g}") for v in vals] for k, vals in maxima.items()},
            }
            raw = (json.dumps(doc, indent=0, sort_keys=True) + "\n").encode("utf-8")
            Path(OS.CALIBRATION_FILE).write_bytes(raw)
            print(f"wrote {OS.CALIBRATION_FILE}: sha256 {hashlib.sha256(raw).hexdigest()}")
        OS.ALPHA = args.alpha
        path = OE.onnx_int8_path(minilm_model_dir(), tmp)  # where the encoder below looks first
        OE.build_onnx_int8(minilm_model_dir(), path, maxima={k: np.asarray(v) for k, v in maxima.items()})
        return report(OE.OnnxInt8Encoder(minilm_model_dir(), tmp), validation)


def report(enc, validation: list[str]) -> dict:
    ref = get_encoder()
    out = {}
    for name, half in (("calibration half", True), ("selection half", False)):
        texts = [t for t in validation if calibration_half(t) == half]
        cos = (enc.encode(texts) * ref.encode(texts)).sum(1)
        out[name] = {"texts": len(texts), "mean": float(cos.mean()), "min": float(cos.min())}
        print(f"{name}: {len(texts)} texts, mean cosine {cos.mean():.4f}, min {cos.min():.4f}")
    return out


if __name__ == "__main__":
    main()
