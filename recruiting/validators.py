"""Shape checks for the JSON fields, so a bad list is refused with the field named."""

from django.core.exceptions import ValidationError

MAX_LIST_ITEMS = 200
MAX_ITEM_CHARS = 5000
# Caps on the long free-text fields (a 9.9 MB description was accepted and peaked at 442 MB).
MAX_TEXT_CHARS = 100_000  # a job's description, a resume's summary
MAX_FULL_TEXT_CHARS = 200_000  # a resume's full text


def unstorable_character(text: str) -> str | None:
    """Why PostgreSQL cannot store `text` (a NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (invalid Unicode)"
    return None


def validate_storable_text(value) -> None:
    if isinstance(value, str) and (reason := unstorable_character(value)):
        raise ValidationError(f"The text {reason}.")


def validate_string_list(value) -> None:
    if not isinstance(value, list):
        raise ValidationError("Expected a list of strings.")
    if len(value) > MAX_LIST_ITEMS:
        raise ValidationError(f"At most {MAX_LIST_ITEMS} items.")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f"Item {i} must be a non-empty string.")
        if reason := unstorable_character(item):
            raise ValidationError(f"Item {i} {reason}.")
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
        unknown = {str(key) for key in entry} - allowed
        if unknown:
            raise ValidationError(
                f"Entry {i} has unknown keys: {', '.join(ascii(k) for k in sorted(unknown))}."
            )
        for key, item in entry.items():
            if item is not None and not isinstance(item, str | int):
                raise ValidationError(f"Entry {i}: '{key}' must be a string or a number.")
            if isinstance(item, str) and len(item) > MAX_ITEM_CHARS:
                raise ValidationError(f"Entry {i}: '{key}' is longer than {MAX_ITEM_CHARS} characters.")
            if isinstance(item, str) and (reason := unstorable_character(item)):
                raise ValidationError(f"Entry {i}: '{key}' {reason}.")
            if isinstance(item, int) and not isinstance(item, bool) and abs(item) > 10**15:
                raise ValidationError(f"Entry {i}: '{key}' is out of range.")


EXPERIENCE_KEYS = {"title", "company", "location", "start", "end", "description"}
EDUCATION_KEYS = {"degree", "institution", "field", "year", "description"}


def validate_experience(value) -> None:
    _validate_entries(value, EXPERIENCE_KEYS)


def validate_education(value) -> None:
    _validate_entries(value, EDUCATION_KEYS)
