"""API errors in one shape: a 4xx with the offending field named.

DRF already names fields for serializer errors; this adds the same shape for Django's
ValidationError raised in services, so a service can refuse input without knowing about HTTP.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc, context) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"non_field_errors": exc.messages})
    return exception_handler(exc, context)
