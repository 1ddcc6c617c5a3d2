from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def test_token_for_username_and_password(django_user_model, settings):
    user = django_user_model.objects.create_user(username="rita", password="s3cret-pass")
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "rita", "password": "s3cret-pass"}, format="json")
    assert response.status_code == 200, response.content
    assert response.data == {"token": Token.objects.get(user=user).key}

    client.credentials(HTTP_AUTHORIZATION=f"Token {response.data['token']}")
    assert client.get("/api/jobs/").status_code == 200
    # The same token again, not a new one.
    again = APIClient().post(
        "/api/auth/token/", {"username": "rita", "password": "s3cret-pass"}, format="json"
    )
    assert again.data["token"] == response.data["token"]


def test_wrong_password_or_missing_fields_are_400(django_user_model, settings):
    django_user_model.objects.create_user(username="rita", password="s3cret-pass")
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "rita", "password": "nope"}, format="json")
    assert response.status_code == 400 and not Token.objects.exists()
    response = client.post("/api/auth/token/", {"username": "rita"}, format="json")
    assert response.status_code == 400 and "password" in response.data


def test_bad_token_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/jobs/").status_code == 401
