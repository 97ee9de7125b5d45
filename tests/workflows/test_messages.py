"""The message catalogue: every code has French words that differ from the English, every code
is documented, and the services raise errors only with codes the catalogue knows."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

from workflows import guidelines as g
from workflows import messages
from workflows.constants import RuleKind

ROOT = Path(__file__).resolve().parents[2]

SAMPLE_PARAMS = {"language": "en", "languages": ["en", "fr"], "detected": "fr", "length": 612, "limit": 500,
                 "terms": ["minister"], "links": ["https://evil.example"], "match": "x", "reason": "",
                 "channels": ["x"], "lane": "x", "from_state": "draft", "to_state": "published",
                 "state": "approved", "action": "approve", "given": 1, "current": 2, "team": "Managers",
                 "permission": "publish_channel", "count": 2, "detail": "d", "status": "claimed",
                 "channel": "x", "problems": ["x"], "period": {"en": "2027 general election", "fr": "Élections générales de 2027"},
                 "pattern": "AB-(", "url_length": 23, "step": "Translation", "id": "109876",
                 # the accessibility pre-screen (issue 22)
                 "number": 2, "prefix": "Image of", "cue": 3, "cues": 12, "size": 24000, "grade": 9.4, "max": 8,
                 "words": 12, "min_words": 30, "tags": ["#opengovernment"], "emoji": ["🎉🎉"],
                 "phrases": ["click here"], "key": "max", "min": 0,
                 # publish.media.* (issue 22, publishing)
                 "platform": "Mastodon", "position": 1, "content_type": "video/mp4",
                 # media.upload.* (issue 22, uploads)
                 "format": "JPEG", "found": "application/pdf", "size_mb": 17.5, "limit_mb": 16, "limit_mp": 40,
                 "frames": 600, "limit_frames": 500, "length_s": 150, "limit_s": 140}


@pytest.mark.parametrize("code", sorted(messages.CATALOGUE))
def test_every_code_has_a_french_message_that_differs_from_the_english(code):
    with translation.override("en"):
        en = messages.render(code, SAMPLE_PARAMS)
    with translation.override("fr"):
        fr = messages.render(code, SAMPLE_PARAMS)
    assert en and fr and "…" not in fr.replace("{\"fr\": \"…\"}", "")
    assert fr != en, code


@pytest.mark.parametrize("table", [messages.ACTIONS, messages.PERMISSIONS, messages.LANGUAGES_INLINE])
def test_every_word_inserted_in_a_message_is_translated(table):
    for key, word in table.items():
        with translation.override("en"):
            en = str(word)
        with translation.override("fr"):
            fr = str(word)
        assert fr and fr != en, key


def test_every_code_is_documented_in_the_api_docs():
    doc = (ROOT / "docs" / "api.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", doc, re.M))
    assert set(messages.CATALOGUE) <= documented, sorted(set(messages.CATALOGUE) - documented)


def test_every_guideline_result_code_is_in_the_catalogue():
    ctx = g.Context(texts={"en": g.canonical("Call 613-555-0199, stupid, see https://evil.example")},
                    channels=[g.ChannelInfo("c", 5, ("en",))], required_languages=["en", "fr"], reply_language="en",
                    media=(g.MediaInfo(kind="image", alt={"en": "IMG_1.jpg"}), g.MediaInfo(kind="video")))
    for kind, fn in g.RULES.items():
        for result in fn(g.Rule(kind=kind, params={"terms": ["stupid"], "postal_codes": True}), ctx):
            assert messages.known(result.code), result.code
    assert set(g.RULES) == set(RuleKind.values)


SERVICE_FILES = ["workflows/services/posts.py", "workflows/services/reviews.py", "workflows/services/translations.py",
                 "workflows/services/common.py", "workflows/services/engine.py", "workflows/services/four_eyes.py",
                 "workflows/services/publishing.py",
                 "workflows/services/caretaker.py", "workflows/services/signatures.py", "accounts/services.py",
                 *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "workflows/services/media").glob("*.py")),
                 *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "workflows/selectors").glob("*.py"))]


@pytest.mark.parametrize("path", SERVICE_FILES)
def test_services_raise_errors_with_catalogue_codes_not_sentences(path):
    tree = ast.parse((ROOT / path).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            call = node.exc
            name = getattr(call.func, "id", "")
            if name not in {"InvalidInput", "NotFound", "NotPermitted", "InvalidTransition", "Conflict",
                            "GuidelineViolation", "TextTooLong"}:
                continue
            assert not call.args, f"{path}:{node.lineno}: an English sentence instead of a code"
            codes = [k.value.value for k in call.keywords if k.arg == "code" and isinstance(k.value, ast.Constant)]
            for code in codes:
                assert messages.known(code), f"{path}:{node.lineno}: unknown code {code}"


def test_stored_results_are_rendered_when_read():
    stored = {"code": "personal_data.phone", "params": {"language": "fr"}}
    with translation.override("fr"):
        assert messages.render_stored(stored) == "Le texte en français semble contenir un numéro de téléphone."
    with translation.override("en"):
        assert messages.render_stored(stored) == "The French text seems to contain a phone number."
    assert messages.render_stored({"message": "Legacy words"}) == "Legacy words"
