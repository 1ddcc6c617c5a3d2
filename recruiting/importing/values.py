"""One cell or JSON value coerced to the type its field takes; a RowError naming the field when it cannot be."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from recruiting.importing.columns import COLUMNS
from recruiting.importing.errors import RowError
from recruiting.parsing.education import parse_education
from recruiting.parsing.experience import parse_experience


def split_list(value: Any, field_name: str) -> list[str]:
    """A list of strings from a list, a JSON array or a '|' / ';'-separated string; duplicates dropped."""
    if value is None:
        return []
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise RowError(field_name, "Expected a list of strings.")
        items = value
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list):
                return split_list(parsed, field_name)
        items = text.replace(";", "|").split("|")
    else:
        raise RowError(field_name, "Expected a list of strings or a '|'-separated string.")
    out, seen = [], set()
    for item in items:
        item = item.strip()
        if item and item.lower() not in seen:
            seen.add(item.lower())
            out.append(item)
    return out


def entry_list(value: Any, field_name: str) -> list[dict]:
    """Experience or education entries from a list, a JSON array or '|'-separated plain entries."""
    if value is None:
        return []
    if isinstance(value, list):
        return value  # shape checked by the model validators
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise RowError(field_name, f"Invalid JSON: {exc.msg}.") from exc
            if not isinstance(parsed, list):
                raise RowError(field_name, "Expected a JSON array of objects.")
            return parsed
        parts = [p.strip() for p in text.split("|") if p.strip()]
        entries: list[dict] = []
        for part in parts:
            if field_name == "experience":
                entries.extend(parse_experience([part]))
            else:
                entries.extend(parse_education([part]))
        return entries
    raise RowError(field_name, "Expected a list of objects or a '|'-separated string.")


def as_bool(value: Any, field_name: str) -> bool:
    """true/false, yes/no, 1/0 and the like."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "y", "t"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "n", "f", ""}:
        return False
    raise RowError(field_name, f"Expected true or false, got {value!r}.")


def as_int(value: Any, field_name: str) -> int | None:
    """A whole number (thousands separators allowed), None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RowError(field_name, "Expected a whole number.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = None
            if number is not None and number.is_integer():
                return int(number)
    raise RowError(field_name, f"Expected a whole number, got {value!r}.")


def as_str(value: Any, field_name: str) -> str:
    """A stripped string; numbers are written out."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise RowError(field_name, "Expected a string.")


def check_keys(record: dict, kind: str) -> None:
    """RowError naming the first key the kind does not know."""
    unknown = sorted(set(record) - COLUMNS[kind])
    if unknown:
        raise RowError(unknown[0], f"Unknown field for {kind}. Known: {', '.join(sorted(COLUMNS[kind]))}.")


def as_time(value: Any, field_name: str) -> datetime | None:
    """An aware datetime from ISO 8601 (a naive time is UTC) or a Unix timestamp; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str):
        raise RowError(field_name, "Expected an ISO 8601 date-time.")
    text = value.strip()
    try:
        moment = parse_datetime(text.replace(" ", "T", 1) if len(text) > 10 else text)
        if moment is None:
            day = parse_date(text)
            moment = datetime(day.year, day.month, day.day) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise RowError(
            field_name, f"Expected an ISO 8601 date-time (e.g. 2024-05-01T09:30:00Z), got {value!r}."
        )
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return moment
