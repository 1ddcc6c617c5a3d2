"""Save/load round trip gives identical scores; corrupt, truncated or mismatched artifacts are refused."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from ml.artifacts import ArtifactError, load_model, load_model_from_bytes, save_model, save_model_to_bytes
from ml.types import ResumeDoc

from .conftest import index_pairs


def _probe(trained):
    test = trained["test"]
    pairs = index_pairs(test, test.interactions[:200])
    cold = ResumeDoc(
        id="never-seen", headline="Senior Python Developer", skills=("python", "django", "docker")
    )
    return test, pairs, cold


def test_round_trip_gives_identical_scores(trained, tmp_path):
    model = trained["model"]
    test, pairs, cold = _probe(trained)
    path = tmp_path / "model.tandem"
    digest = save_model(model, path)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not [p for p in tmp_path.iterdir() if p.name != "model.tandem"]  # no temp file left behind
    loaded = load_model(path, expected_sha256=digest)
    a = model.score_pairs(test.jobs, test.resumes, pairs)
    b = loaded.score_pairs(test.jobs, test.resumes, pairs)
    for x, y in ((a.total, b.total), (a.text, b.text), (a.relation, b.relation)):
        np.testing.assert_array_equal(x, y)
    # cold start goes through the stored graph too
    np.testing.assert_array_equal(
        model.rank_jobs(cold, test.jobs).total, loaded.rank_jobs(cold, test.jobs).total
    )
    np.testing.assert_array_equal(model.embed_jobs(test.jobs[:5]), loaded.embed_jobs(test.jobs[:5]))
    assert loaded.encoder_version == model.encoder_version
    assert loaded.config == model.config
    assert loaded.data_window == model.data_window
    assert loaded.metrics["history"] == model.metrics["history"]


def test_bytes_round_trip(trained):
    model = trained["model"]
    test, pairs, _ = _probe(trained)
    blob = save_model_to_bytes(model)
    loaded = load_model_from_bytes(blob, expected_sha256=hashlib.sha256(blob).hexdigest())
    np.testing.assert_array_equal(
        model.score_pairs(test.jobs, test.resumes, pairs).total,
        loaded.score_pairs(test.jobs, test.resumes, pairs).total,
    )


@pytest.mark.parametrize(
    "damage",
    ["flip_middle", "flip_header", "truncate", "truncate_header", "append", "empty"],
)
def test_corrupt_artifact_is_refused(trained, tmp_path, damage):
    path = tmp_path / "model.tandem"
    save_model(trained["model"], path)
    blob = bytearray(path.read_bytes())
    if damage == "flip_middle":
        blob[len(blob) // 2] ^= 0xFF
    elif damage == "flip_header":
        blob[10] ^= 0x01
    elif damage == "truncate":
        blob = blob[: len(blob) - 1000]
    elif damage == "truncate_header":
        blob = blob[:20]
    elif damage == "append":
        blob += b"junk"
    elif damage == "empty":
        blob = bytearray()
    path.write_bytes(bytes(blob))
    with pytest.raises(ArtifactError):
        load_model(path)


def test_checksum_mismatch_and_missing_file_are_refused(trained, tmp_path):
    path = tmp_path / "model.tandem"
    digest = save_model(trained["model"], path)
    with pytest.raises(ArtifactError, match="checksum"):
        load_model(path, expected_sha256="0" * 64)
    with pytest.raises(ArtifactError):
        load_model(tmp_path / "missing.tandem", expected_sha256=digest)
