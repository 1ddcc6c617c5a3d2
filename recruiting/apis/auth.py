"""Token authentication."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken

from recruiting.apis.base import BAD_REQUEST


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


@extend_schema(tags=["auth"], auth=[], responses={200: TokenOutputSerializer, 400: BAD_REQUEST})
class TokenObtainApi(ObtainAuthToken):
    """POST username and password; get the API token to send as `Authorization: Token <key>`."""
