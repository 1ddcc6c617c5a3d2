"""The two ways an import refuses input: the whole file, or one row of it."""

from __future__ import annotations


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (nothing was written)."""


class RowError(Exception):
    """One row cannot be imported; `field` names the column ('' for the row as a whole)."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason
