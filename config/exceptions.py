"""API errors in one shape: a 4xx with the offending field named.

DRF already names fields for serializer errors; this adds the same shape for Django's
ValidationError raised in services, so a service can refuse input without knowing about HTTP.
"""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc, context) -> Response | None:
    if isinstance(exc, RequestDataTooBig):  # Django's own body limit: JSON 413, not an HTML 400 page
        return Response({"detail": "The request body is too large."}, status=413)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response({"detail": str(exc) or "Too many form fields."}, status=400)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"non_field_errors": exc.messages})
    return exception_handler(exc, context)
