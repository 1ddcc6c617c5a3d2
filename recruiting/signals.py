"""Events other apps subscribe to, sent after the transaction that caused them commits.

recruiting does not know what is derived from its rows (embeddings, index entries, cached
scores); the matching app and the workers connect here in their AppConfig.ready().

One object written through the services (API, admin, uploads) sends the per-object signals. The bulk
import sends none of those: it sends one `documents_imported` or `interactions_imported` per committed
batch, so receivers can embed, index and invalidate in bulk. A batch that rolls back sends nothing.
"""

from django.dispatch import Signal

# sender: the model class (Job or Resume); kwargs: instance_id (int), content_changed (bool: a field of
# `*_CONTENT_FIELDS` changed, or the document is new)
document_saved = Signal()
# sender: the model class; kwargs: instance_id
document_erased = Signal()
# sender: Interaction; kwargs: instance_id, job_id, resume_id, kind
interaction_recorded = Signal()

# One committed import batch of jobs or resumes. sender: the model class (Job or Resume); kwargs:
#   instance_ids: list[int], the documents created or whose content (`*_CONTENT_FIELDS`) changed,
#                 i.e. those a per-object save would have sent with content_changed=True (may be empty);
#   saved_ids: list[int], every document the batch created or changed in any field (a superset of
#              instance_ids: status, salary and the like changed too; cached rankings naming them are
#              stale). Sent only when saved_ids is not empty; ids are distinct, in row order.
documents_imported = Signal()
# One committed import batch of interactions. sender: Interaction; kwargs:
#   pairs: list[tuple[int, int]], the distinct (job_id, resume_id) pairs of the events the batch recorded,
#          in row order. Sent only when the batch recorded at least one event.
interactions_imported = Signal()
