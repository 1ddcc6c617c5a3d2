"""What one import batch changed, announced with one bulk signal once the batch commits.

The appliers write with `notify=False` (no per-row `document_saved` / `interaction_recorded`) and note
each row's documents or events here; a row's notes count only once the row is applied (a rejected row
in a partial batch leaves none), and the batch registers one `transaction.on_commit` callback, so a
batch that rolls back announces nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from recruiting import signals
from recruiting.models import Interaction, Job, Resume


@dataclass
class _Row:
    documents: list[tuple[int, bool]] = field(default_factory=list)  # (pk, content changed)
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (job_id, resume_id)


@dataclass
class BatchNotices:
    """The documents (`model` Job or Resume) or interactions (`model` Interaction) of one batch."""

    model: type[Job] | type[Resume] | type[Interaction]
    content_ids: dict[int, None] = field(default_factory=dict)  # ordered sets
    saved_ids: dict[int, None] = field(default_factory=dict)
    pairs: dict[tuple[int, int], None] = field(default_factory=dict)
    _row: _Row = field(default_factory=_Row)

    def start_row(self) -> None:
        self._row = _Row()

    def document(self, pk: int, *, content_changed: bool) -> None:
        self._row.documents.append((pk, content_changed))

    def interaction(self, job_id: int, resume_id: int) -> None:
        self._row.pairs.append((job_id, resume_id))

    def keep_row(self) -> None:
        """The row was applied: its notes join the batch's."""
        for pk, content_changed in self._row.documents:
            self.saved_ids.setdefault(pk)
            if content_changed:
                self.content_ids.setdefault(pk)
        for pair in self._row.pairs:
            self.pairs.setdefault(pair)
        self._row = _Row()

    def send_on_commit(self) -> None:
        """Register the batch's one signal to be sent when the enclosing transaction commits."""
        model = self.model
        if model is Interaction:
            pairs = list(self.pairs)
            if pairs:
                transaction.on_commit(lambda: signals.interactions_imported.send(sender=model, pairs=pairs))
            return
        instance_ids, saved_ids = list(self.content_ids), list(self.saved_ids)
        if saved_ids:
            transaction.on_commit(
                lambda: signals.documents_imported.send(
                    sender=model, instance_ids=instance_ids, saved_ids=saved_ids
                )
            )
