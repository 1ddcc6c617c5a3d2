from django import template

register = template.Library()


@register.filter
def dict_get(mapping, key):
    """`mapping[key]` in a template, None when absent (a loop variable cannot be a dotted lookup)."""
    return mapping.get(key) if isinstance(mapping, dict) else None
