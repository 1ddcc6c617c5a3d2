"""What the model registry and training services raise; the API turns each into a 409 with its code."""

from __future__ import annotations


class RegistryError(Exception):
    code = "registry_error"


class ArtifactUnavailable(RegistryError):
    """The artifact is missing from storage or its bytes do not match the recorded sha256."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class ActivationRefused(RegistryError):
    code = "activation_refused"


class NothingToRollBack(RegistryError):
    code = "nothing_to_roll_back"


class Superseded(RegistryError):
    """A newer attempt of the same run took over (the task was redelivered while this one still ran)."""

    code = "superseded"


class TrainingBusy(RegistryError):
    code = "training_busy"


class NotEnoughData(RegistryError):
    code = "not_enough_data"


class ActiveChanged(RegistryError):
    code = "active_changed"
