"""What an import did: counts per outcome and the rejected rows with their line, field and reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The report lists at most this many rejected rows (the count is always exact).
MAX_REPORTED_REJECTIONS = 1000

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass
class ImportReport:
    """The outcome of one import, as the API and the command report it."""

    kind: str
    format: str
    total: int = 0  # records read (blank lines are not records)
    accepted: int = 0  # created + updated + unchanged
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # already there: duplicates of earlier imports or of earlier rows
    rejected_count: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # [{line, field, reason}], capped
    batches: int = 0
    batches_rolled_back: int = 0

    def reject(self, line: int, field_name: str, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED_REJECTIONS:
            self.rejected.append({"line": line, "field": field_name, "reason": reason})

    @property
    def rejected_truncated(self) -> bool:
        return self.rejected_count > len(self.rejected)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "format": self.format,
            "total": self.total,
            "accepted": self.accepted,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected_count": self.rejected_count,
            "rejected": list(self.rejected),
            "rejected_truncated": self.rejected_truncated,
            "batches": self.batches,
            "batches_rolled_back": self.batches_rolled_back,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        """The report `to_dict` wrote (a resumed import continues its counts)."""
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: (list(v) if k == "rejected" else v) for k, v in data.items() if k in names})

    def summary(self) -> str:
        return (
            f"{self.kind}: {self.total} rows, {self.accepted} accepted "
            f"({self.created} created, {self.updated} updated, {self.unchanged} unchanged), "
            f"{self.rejected_count} rejected"
            + (f", {self.batches_rolled_back} batch(es) rolled back" if self.batches_rolled_back else "")
        )
