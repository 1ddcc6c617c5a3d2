"""Signals the matching app sends; receivers connect in MatchingConfig.ready()."""

from django.dispatch import Signal

# sender: ModelVersion; kwargs: version_id, previous_id, rollback (bool). Sent after the switch commits.
model_activated = Signal()

# sender: TrainingRun; kwargs: run_id, fields. Sent on every progress write, in the training process: a
# command-line bar listens (manage.py train_model).
training_progress = Signal()
