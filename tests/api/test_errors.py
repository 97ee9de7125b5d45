"""One error shape everywhere (RFC 9457), and nothing a client sends produces a 500."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from .conftest import assert_problem

pytestmark = pytest.mark.django_db

CREATE = {"channels": ["dpe-en"], "kind": "reply", "texts": {"en": "Thanks, we are on it."},
          "rules_acknowledged": True}


def test_malformed_json_is_a_400_problem(client_for):
    response = client_for("dana").generic("POST", "/api/v1/posts/", "{not json", content_type="application/json")
    body = assert_problem(response, 400)
    assert body["type"].endswith("malformed_request")


@pytest.mark.parametrize("payload", ["[]", "3", "\"text\"", "null", "[{\"kind\": \"post\"}]"])
def test_a_body_that_is_not_an_object_is_a_400(client_for, payload):
    response = client_for("dana").generic("POST", "/api/v1/posts/", payload, content_type="application/json")
    assert_problem(response, 400)


def test_unknown_fields_are_rejected(client_for):
    response = client_for("dana").post("/api/v1/posts/", {**CREATE, "stat": "approved"}, format="json")
    body = assert_problem(response, 400, field="stat")
    assert body["errors"]["stat"] == ["Unknown field."]


def test_field_errors_are_listed_per_field(client_for):
    response = client_for("dana").post("/api/v1/posts/", {"kind": "tweet", "texts": "hi"}, format="json")
    body = assert_problem(response, 400)
    assert {"kind", "texts"} <= set(body["errors"])


def test_domain_invalid_input_keeps_its_field_errors(client_for):
    response = client_for("dana").post("/api/v1/posts/", {**CREATE, "texts": {"de": "Hallo"}}, format="json")
    assert_problem(response, 400, field="texts.de")


@pytest.mark.parametrize("payload", [
    {**CREATE, "texts": {"en": "nul \x00 byte"}},
    {**CREATE, "channels": ["dpe-\x00en"]},
    {**CREATE, "in_reply_to": 99999999999999999999999999},
    {**CREATE, "in_reply_to": -1},
    {**CREATE, "in_reply_to": "1; drop table"},
    {**CREATE, "scheduled_at": "0001-01-01T00:00:00+14:00"},
    {**CREATE, "scheduled_at": "2020-01-01T00:00:00+00:00"},
    {**CREATE, "scheduled_at": "not a date"},
    {**CREATE, "texts": {"en": "x" * 25000}},
    {**CREATE, "channels": "dpe-en"},
    {**CREATE, "texts": {"en": ["a list"]}},
    {**CREATE, "texts": {"en": {"nested": 1e308}}},
    {**CREATE, "rules_acknowledged": "maybe"},
    {**CREATE, "lane": "\x00"},
])
def test_hostile_values_are_4xx_never_500(client_for, payload):
    response = client_for("dana").post("/api/v1/posts/", payload, format="json")
    assert 400 <= response.status_code < 500, response.content
    assert_problem(response, response.status_code)


def test_far_future_schedule_is_accepted_not_a_crash(client_for):
    response = client_for("dana").post(
        "/api/v1/posts/", {**CREATE, "scheduled_at": "9999-12-31T23:59:59+14:00"}, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("url", [
    "/api/v1/posts/99999999999999999999999/",
    "/api/v1/posts/9223372036854775808/",
    "/api/v1/posts/9223372036854775807/history/",
    "/api/v1/inbound/99999999999999999999999/claim/",
    "/api/v1/posts/abc/",
    "/api/v1/nowhere/",
])
def test_ids_that_cannot_exist_are_404_problems(client_for, url):
    client = client_for("dana")
    response = client.post(url, {}, format="json") if url.endswith("claim/") else client.get(url)
    assert_problem(response, 404)


@pytest.mark.parametrize("query", [
    "state=nonsense", "author=%00", "channel=a%00b", "lane=%00", "kind=1",
])
def test_bad_filters_are_400_not_500(client_for, query):
    response = client_for("dana").get(f"/api/v1/posts/?{query}")
    assert_problem(response, 400)


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page=99999999999999999999", "ordering=%00", "page=%00"])
def test_odd_pagination_and_ordering_never_500(client_for, query):
    response = client_for("dana").get(f"/api/v1/posts/?{query}")
    assert response.status_code in (200, 404), response.content
    if response.status_code == 404:
        assert_problem(response, 404)


def test_no_credentials_is_401_problem_with_challenge():
    response = APIClient().get("/api/v1/posts/")
    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == "Token"


def test_invalid_token_is_401_problem():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token prl_not-a-real-key")
    assert_problem(client.get("/api/v1/me/"), 401)


def test_method_not_allowed_is_405_problem(client_for):
    assert_problem(client_for("dana").delete("/api/v1/posts/"), 405)
    assert_problem(client_for("dana").put("/api/v1/me/", {}, format="json"), 405)


def test_unsupported_media_type_is_415_problem(client_for):
    response = client_for("dana").generic("POST", "/api/v1/posts/", "kind=post", content_type="application/x-www-form-urlencoded")
    assert_problem(response, 415)


def test_not_acceptable_is_406_problem(client_for):
    response = client_for("dana").get("/api/v1/me/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 406


def test_throttled_is_429_problem_with_retry_after(client_for, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "rate", "2/minute", raising=False)
    client = client_for("dana")
    assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
    response = client.get("/api/v1/me/")
    assert_problem(response, 429)
    assert int(response["Retry-After"]) > 0


def test_session_auth_requires_csrf(demo):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(demo.dana)
    assert client.get("/api/v1/me/").status_code == 200
    response = client.post("/api/v1/posts/", CREATE, format="json")
    body = assert_problem(response, 403)
    assert "CSRF" in body["detail"]


def test_django_404_outside_the_api_stays_html(client_for):
    response = client_for("dana").get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/problem+json")


def test_unexpected_errors_are_500_problems_for_api_paths(rf):
    from workflows.api.errors import handler500

    response = handler500(rf.get("/api/v1/posts/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert b'"status": 500' in response.content


def test_guideline_violation_is_422_listing_each_violation(client_for, flow):
    response = client_for("dana").post("/api/v1/posts/", {
        "kind": "reply", "lane": "conversation", "channels": ["dpe-en"], "rules_acknowledged": True,
        "texts": {"en": "Call me at 613-555-0199, you idiot."}}, format="json")
    body = assert_problem(response, 422)
    rules = {v["rule"] for v in body["violations"]}
    assert {"personal_data", "forbidden_terms"} <= rules
    assert {v["code"] for v in body["violations"]} == {"personal_data.phone", "forbidden_terms.found"}
    assert sum(len(m) for m in body["errors"].values()) == len(body["violations"])


@pytest.mark.parametrize("raw", [
    "[" * 100_000 + "]" * 100_000,                      # nested beyond the decoder's recursion
    '{"in_reply_to": 1' + "0" * 5000 + ', "kind": "reply"}',  # an integer too long to convert
    '{"kind": NaN}',
    b'{"kind": "post", "texts": {"en": "\xff\xfe"}}',   # not UTF-8
])
def test_undecodable_bodies_are_400(client_for, raw):
    response = client_for("dana").generic("POST", "/api/v1/posts/", raw, content_type="application/json",
                                          HTTP_IDEMPOTENCY_KEY="same-key")
    assert_problem(response, 400)


def test_body_over_the_upload_limit_is_413(client_for):
    raw = '{"kind": "post", "texts": {"en": "' + "x" * 3_000_000 + '"}}'
    response = client_for("dana").generic("POST", "/api/v1/posts/", raw, content_type="application/json",
                                          HTTP_IDEMPOTENCY_KEY="same-key")
    body = assert_problem(response, 413)
    assert body["type"] == "urn:parley:problem:too_large"


def test_options_and_head_on_every_endpoint_never_500(client_for, flow):
    from .test_matrix import api_endpoints

    post, msg = flow.in_review(), flow.inbound()
    client = client_for("dana")
    for _method, route in sorted(api_endpoints()):
        url = route.format(pk=msg.id if "inbound" in route else post.id, lang="fr")
        assert client.options(url).status_code < 500, url
        assert client.head(url).status_code < 500, url
