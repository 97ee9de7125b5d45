"""Property-based fuzzing of the whole API against its own OpenAPI schema (schemathesis 4).

For every operation, FUZZ_EXAMPLES generated requests (default 10; `make fuzz` uses 200) are
sent to the WSGI app as dana (token auth): no response may be a 5xx, and every response must
match the schema (status code documented, content type, body shape)."""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
schema.config.generation.update(max_examples=FUZZ_EXAMPLES)
schema = schema.include(path_regex=r"^/api/v1/")

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django's WSGI handler closes the database connection at the end of each request; the
    test client avoids that, and so must this test (its data lives in the test transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def auth_header(demo):
    from accounts.services import token_issue

    _, key = token_issue(user=demo.dana)
    return {"Authorization": f"Token {key}"}


@pytest.fixture
def seeded(flow):
    """A few objects so detail endpoints have something to hit (ids are small)."""
    flow.in_review()
    flow.draft()
    flow.inbound()


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, auth_header, seeded):
    case.call_and_validate(headers=auth_header, checks=CHECKS)
