"""A stored guideline result renders (CheckSerializer, a plain DRF serializer) in both languages,
for every shape stored results take: the declared fields in order, the message in words."""
from __future__ import annotations

import pytest
from django.utils import translation

from tests.workflows import factories as f
from workflows.api.serializers import CheckSerializer
from workflows.models import Post

pytestmark = pytest.mark.django_db


ODD = [
    {"rule": "length", "severity": "block", "ok": False, "code": "length.too_long",
     "params": {"max": 500, "length": 612, "channel": "dpe-en"}, "language": "en", "field": "texts.en"},
    {"rule": "tone", "severity": "warn", "ok": 1, "language": "fr"},  # no code, params or field
    {"rule": "x", "severity": "unknown-severity", "ok": "false", "code": "", "params": {1: None}, "language": ""},
    {"rule": None, "severity": None, "ok": None, "code": None, "params": None, "language": None, "field": None},
    {"rule": 7, "severity": "", "ok": 0, "code": "languages_present.missing", "params": {"languages": ["fr"]},
     "language": "fr", "message": "older result without a code"},
    {"rule": "legacy", "severity": "info", "ok": True, "message": "An older stored message", "language": "en"},
]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_stored_shape_renders(demo, lang):
    for state_factory in (f.reply_draft, f.official_draft, f.at_review, f.published):
        state_factory(demo)
    stored = [c for checks in Post.objects.values_list("checks", flat=True) for c in (checks or [])]
    assert len(stored) > 10
    with translation.override(lang):
        for item in stored + ODD:
            data = CheckSerializer(item).data
            assert [k for k in data if k != "field"] == ["rule", "severity", "ok", "code", "params", "message",
                                                         "language"], item
            assert isinstance(data["message"], str), item
        for item in stored:
            data = CheckSerializer(item).data
            assert data["code"] == item.get("code", "") and data["params"] == item.get("params", {})
            if data["code"]:
                assert data["message"] and data["message"] != data["code"], item  # words, not the code
