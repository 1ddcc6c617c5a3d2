"""Shape checks for the JSON fields, so a bad list is refused with the field named."""

from django.core.exceptions import ValidationError

MAX_LIST_ITEMS = 200
MAX_ITEM_CHARS = 5000


def validate_string_list(value) -> None:
    if not isinstance(value, list):
        raise ValidationError("Expected a list of strings.")
    if len(value) > MAX_LIST_ITEMS:
        raise ValidationError(f"At most {MAX_LIST_ITEMS} items.")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f"Item {i} must be a non-empty string.")
        if len(item) > 200:
            raise ValidationError(f"Item {i} is longer than 200 characters.")


def _validate_entries(value, allowed: set[str]) -> None:
    if not isinstance(value, list):
        raise ValidationError("Expected a list of objects.")
    if len(value) > MAX_LIST_ITEMS:
        raise ValidationError(f"At most {MAX_LIST_ITEMS} entries.")
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise ValidationError(f"Entry {i} must be an object.")
        unknown = set(entry) - allowed
        if unknown:
            raise ValidationError(f"Entry {i} has unknown keys: {', '.join(sorted(unknown))}.")
        for key, item in entry.items():
            if item is not None and not isinstance(item, str | int):
                raise ValidationError(f"Entry {i}: '{key}' must be a string or a number.")
            if isinstance(item, str) and len(item) > MAX_ITEM_CHARS:
                raise ValidationError(f"Entry {i}: '{key}' is longer than {MAX_ITEM_CHARS} characters.")


EXPERIENCE_KEYS = {"title", "company", "location", "start", "end", "description"}
EDUCATION_KEYS = {"degree", "institution", "field", "year", "description"}


def validate_experience(value) -> None:
    _validate_entries(value, EXPERIENCE_KEYS)


def validate_education(value) -> None:
    _validate_entries(value, EDUCATION_KEYS)
