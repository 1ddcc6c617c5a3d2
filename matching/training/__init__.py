"""Model registry and training: snapshot -> train -> evaluate -> artifact -> candidate -> promote -> activate.

errors      what the services raise (the API answers 409 with the code)
lock        one training at a time (Redis lock holding the run id)
artifacts   atomic, verified model artifacts in storages["models"]
snapshot    the data a run sees, with a time-aware held-out slice
evaluation  held-out metrics of a model or of zero-shot cosine
progress    the trainer's progress written to the run row
encoder_upgrade  the training option that fine-tunes the encoder first and versions it with the model
runs        start, train (idempotent on the run id), finish, fail
promotion   compare with the active version; promote only when better
refit       the promoted candidate trained again with the held-out slice (warm: from the measured weights)
activation  switch the active version; roll back
"""
