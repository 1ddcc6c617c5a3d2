"""The projection a compatible update is served through is fitted without running the encoder when the section
vectors of the sampled documents are stored: its cost must not grow with the corpus (at a million resumes the
random sample used to be mostly documents outside the training window, encoded one by one)."""

from __future__ import annotations

import pytest

import ml.embedding
from matching import selectors
from matching.compat.projection import prepare_compatible, stored_section_ids
from matching.models import ModelVersion, SectionVectors
from matching.training import runs
from recruiting.models import Resume
from tests.matching.test_compat_serving import platform  # noqa: F401 (fixture)
from tests.matching.test_section_vectors import encoded_texts  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _candidate() -> ModelVersion:
    run, _ = runs.start_training_run(enqueue=False)
    version = ModelVersion.objects.get(pk=runs.train_run(run.pk))
    runs.finish_run(run.pk)
    return version


def _fit_in_a_fresh_process(version: ModelVersion) -> ModelVersion:
    """prepare_compatible as the promotion of a worker that did not train the model runs it (no section cache)."""
    ModelVersion.objects.filter(pk=version.pk).update(compat={})
    version.refresh_from_db()
    selectors.clear_model_cache()
    ml.embedding._shared_caches.clear()
    assert prepare_compatible(version, selectors.load_model_cached(version))
    version.refresh_from_db()
    return version


def test_the_projection_fit_runs_no_encoder_when_section_vectors_are_stored(
    platform,  # noqa: F811
    encoded_texts,  # noqa: F811
    settings,
):
    settings.COMPAT_FIT_SAMPLE = 20
    version = _candidate()
    # only the latest quarter of the resumes were embedded since section vectors are stored: a sample drawn
    # from the whole base space holds too few of them and encodes the rest
    resumes = list(Resume.objects.order_by("pk").values_list("pk", flat=True))
    stored = resumes[-(len(resumes) // 4) :]
    assert len(stored) > settings.COMPAT_FIT_SAMPLE
    SectionVectors.objects.filter(kind="resume").exclude(resume_id__in=stored).delete()

    encoded_texts.clear()
    version = _fit_in_a_fresh_process(version)
    assert encoded_texts == []
    assert version.compat["fitted_on"] == {"job": 20, "resume": 20}
    encoder = version.encoder_version
    assert set(stored_section_ids("resume", encoder, 20, seed=3)) <= set(stored)

    # the same fit without the stored rows encodes its sample: the check above could fail
    SectionVectors.objects.all().delete()
    version = _fit_in_a_fresh_process(version)
    assert len(encoded_texts) > 0
    assert version.compat["fitted_on"] == {"job": 20, "resume": 20}


def test_stored_section_ids_are_a_random_sample_of_the_stored_documents(platform):  # noqa: F811
    encoder = SectionVectors.objects.values_list("encoder_version", flat=True).first()
    n_resumes = SectionVectors.objects.filter(kind="resume").count()
    a = stored_section_ids("resume", encoder, 10, seed=1)
    b = stored_section_ids("resume", encoder, 10, seed=2)
    assert len(a) == len(set(a)) == 10 and len(b) == 10 and a != b
    assert len(stored_section_ids("resume", encoder, n_resumes + 5, seed=1)) == n_resumes
    assert stored_section_ids("resume", "another-encoder:0", 10) == []
