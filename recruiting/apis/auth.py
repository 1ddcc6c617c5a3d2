"""Token authentication, rate-limited per client address, with a lockout on repeated wrong passwords."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from config import throttling
from recruiting.apis.base import BAD_REQUEST

TOO_MANY = OpenApiResponse(
    description="Too many attempts (per address, or for this username): see Retry-After."
)


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


@extend_schema(
    tags=["auth"],
    auth=[],
    responses={200: TokenOutputSerializer, 400: BAD_REQUEST, 413: BAD_REQUEST, 429: TOO_MANY},
)
class TokenObtainApi(ObtainAuthToken):
    """POST username and password; get the API token to send as `Authorization: Token <key>`.

    After SIGNIN_LOCKOUT_FAILURES wrong passwords for one username, that username is refused (429) until
    the lockout window ends, without its password being checked."""

    parser_classes = api_settings.DEFAULT_PARSER_CLASSES  # bounded JSON (ObtainAuthToken names DRF's own)
    throttle_classes = [throttling.SignInThrottle]

    def post(self, request, *args, **kwargs):
        data = request.data
        username = data.get("username") if hasattr(data, "get") else None
        username = username[:150] if isinstance(username, str) else ""
        remaining = throttling.lockout_remaining(username)
        if remaining:
            return Response(
                {"detail": "Too many failed sign-ins for this username; try again later."},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(remaining)},
            )
        try:
            response = super().post(request, *args, **kwargs)
        except serializers.ValidationError:
            throttling.record_failure(username)
            raise
        throttling.clear_failures(username)
        return response


class MeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_staff = serializers.BooleanField()


@extend_schema(tags=["auth"], responses={200: MeOutputSerializer})
class MeApi(APIView):
    """Who the token belongs to (also the load benchmark's bare authenticated endpoint)."""

    def get(self, request):
        user = request.user
        return Response({"id": user.pk, "username": user.get_username(), "is_staff": user.is_staff})
