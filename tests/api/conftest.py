"""The matching fixtures the API-wide tests need."""

from tests.matching.conftest import hashing_encoder, model_storage  # noqa: F401
