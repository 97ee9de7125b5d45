import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import ApiToken, hash_token
from accounts.services import token_issue, token_revoke

pytestmark = pytest.mark.django_db

# Any authenticated endpoint answers 200 with a valid token; /api/schema/ is one from the start.
URL = "/api/v1/me/"


def _client(key=None, header=None):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    elif key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_issue_token_command_prints_a_key_and_stores_only_its_hash(demo, capsys):
    call_command("issue_token", "dana")
    key = capsys.readouterr().out.strip()
    assert key.startswith("prl_") and len(key) > 30
    token = ApiToken.objects.get(user=demo.dana)
    assert token.key_hash == hash_token(key)
    assert key not in (token.key_hash, token.prefix)


def test_valid_token_authenticates(demo):
    _, key = token_issue(user=demo.dana)
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from accounts.authentication import TokenAuthentication

    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {key}"))
    user, token = TokenAuthentication().authenticate(request)
    assert user.id == demo.dana.id
    assert token.last_used_at is not None or ApiToken.objects.get(id=token.id).last_used_at is not None


@pytest.mark.parametrize("header", ["Token prl_wrong", "Token", "Token a b", "Bearer x"])
def test_wrong_or_malformed_key_is_401(demo, header):
    token_issue(user=demo.dana)
    response = _client(header=header).get("/api/v1/me/")
    assert response.status_code == 401


def test_revoked_token_is_401(demo):
    """Through the HTTP path a client takes: the key works, is revoked, and is refused from then on."""
    token, key = token_issue(user=demo.dana)
    client = _client(key)
    assert client.get(URL).status_code == 200
    token_revoke(token_id=token.id)
    response = client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert client.post("/api/v1/posts/", {}, format="json").status_code == 401


def test_last_used_is_written_at_most_every_five_minutes(demo, django_assert_num_queries):
    """Every request reads the token; only the first in five minutes writes last_used_at (one
    conditional UPDATE)."""
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    token, key = token_issue(user=demo.dana)
    client = _client(key)

    def updates():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL).status_code == 200
        return [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('UPDATE "accounts_apitoken"')]

    assert len(updates()) == 1  # first use
    first = ApiToken.objects.get(id=token.id).last_used_at
    assert first is not None
    assert updates() == []  # a second later
    ApiToken.objects.filter(id=token.id).update(last_used_at=timezone.now() - timedelta(minutes=4))
    assert updates() == []  # four minutes later
    ApiToken.objects.filter(id=token.id).update(last_used_at=timezone.now() - timedelta(minutes=6))
    assert len(updates()) == 1  # six minutes later
    assert ApiToken.objects.get(id=token.id).last_used_at > first


def test_inactive_user_token_is_rejected(demo):
    _, key = token_issue(user=demo.dana)
    demo.dana.is_active = False
    demo.dana.save()
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from accounts.authentication import TokenAuthentication

    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {key}"))
    with pytest.raises(AuthenticationFailed):
        TokenAuthentication().authenticate(request)


def test_issue_token_for_unknown_user_fails(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("issue_token", "nobody")


def test_valid_token_reaches_the_api_and_revoked_does_not(demo):
    token, key = token_issue(user=demo.dana)
    response = _client(key).get(URL)
    assert response.status_code == 200
    assert response.json()["username"] == "dana"
    token_revoke(token_id=token.id)
    assert _client(key).get(URL).status_code == 401
    assert _client().get(URL).status_code in (401, 403)
