"""The post serializers render through WrittenOut (issue 14: the per-field dispatch planned once
per serializer): the output must be exactly DRF's, key order included, for posts in every state,
in both languages, on the list and on the detail."""
from __future__ import annotations

import json

import pytest
from django.utils import translation

from tests.workflows import factories as f
from workflows import selectors
from workflows.api import serializers as s

pytestmark = pytest.mark.django_db


def _render(serializer_class, posts, user, *, written_out: bool, monkeypatch) -> str:
    monkeypatch.setattr(s.WrittenOut, "enabled", written_out)
    data = serializer_class(posts, many=True, context={"user": user}).data
    return json.dumps(data)  # the bytes a client reads: keys in order


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_posts_render_exactly_as_drf_does(demo, lang, monkeypatch):
    for make in (f.official_draft, f.reply_draft, f.at_review, f.at_translation, f.at_sign_off, f.approved,
                 f.changes_requested, f.rejected, f.withdrawn, f.scheduled, f.publishing_, f.published,
                 f.failed, f.retracted):
        make(demo)
    posts = list(selectors.posts_visible(user=demo.dana))
    assert len(posts) >= 14
    with translation.override(lang):
        for serializer_class in (s.PostSerializer, s.PostDetailSerializer):
            fast = _render(serializer_class, posts, demo.dana, written_out=True, monkeypatch=monkeypatch)
            drf = _render(serializer_class, posts, demo.dana, written_out=False, monkeypatch=monkeypatch)
            assert fast == drf
    assert '"decisions": [{' in fast and '"publications": [{' in fast and '"current_step": {' in fast
