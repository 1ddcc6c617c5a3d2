"""Events other apps subscribe to, sent after the transaction that caused them commits.

recruiting does not know what is derived from its rows (embeddings, index entries, cached
scores); the matching app and the workers connect here in their AppConfig.ready().
"""

from django.dispatch import Signal

# sender: the model class; kwargs: instance_id, content_changed (bool)
document_saved = Signal()
# sender: the model class; kwargs: instance_id
document_erased = Signal()
# sender: Interaction; kwargs: instance_id, job_id, resume_id, kind
interaction_recorded = Signal()
