"""Media on posts and replies (issue 22): a language's media are part of that language's text.

Attach, reorder, replace and remove through the real services; a change of French alt text is an
edit of French only (its version moves, the approvals that covered French are voided, the English
ones stay), a shared medium's change is an edit of both; the translation step writes the French
alt text and captions; four eyes counts who wrote them; the revision and the audit trail record
them; another organisation's medium, too many media and texts over their caps are refused in
English and French, and nothing is half-written."""
from __future__ import annotations

import pytest
from django.utils import translation

from tests.workflows import factories as f
from workflows import limits
from workflows.constants import PostState, Verdict
from workflows.exceptions import InvalidInput, NotPermitted, TextTooLong, Unpublishable
from workflows.models import AuditEvent, Decision, LaneStep, PostMedium, PostRevision, PostText
from workflows.services import media as media_service
from workflows.services import posts, reviews, translations
from workflows.services.engine import post_lock_for_transition
from workflows.services.four_eyes import approval_scope, contributors

pytestmark = pytest.mark.django_db

VTT = "WEBVTT\n\n00:00.000 --> 00:02.000\nOur office reopens on Monday.\n"
VTT_FR = "WEBVTT\n\n00:00.000 --> 00:02.000\nNotre bureau rouvre lundi.\n"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _versions(post) -> dict[str, int]:
    return dict(PostText.objects.filter(post_id=post.id).values_list("language", "version"))


def _rows(post) -> list[tuple]:
    return list(PostMedium.objects.filter(post_id=post.id).order_by("position").values_list(
        "position", "medium_id", "language", "alt_text_en", "alt_text_fr", "captions_en", "captions_fr",
        "focus_x", "focus_y"))


def _draft(demo, media, texts=None):
    return posts.post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post",
                             texts=texts or {"en": f.EN, "fr": f.FR}, rules_acknowledged=True, media=media)


def _changes_requested_after_sign_off_review(demo, media):
    """An English-only draft with `media`: the review step's approval sees English only, the
    translator writes French and completes the translation step (her approval saw both), then
    sign-off sends it back. Live: rami's approval (English), tess's (English and French)."""
    post = posts.post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post", texts={"en": f.EN},
                             rules_acknowledged=True, media=media)
    posts.post_submit(post_id=post.id, by=demo.dana)
    reviews.post_approve(post_id=post.id, by=demo.rami)
    french = [{"position": i, "alt_text": f"Un carré rouge sur fond blanc, le numéro {i + 1}."} for i, m in enumerate(media) if m.get("language", "") != "en"]
    translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=f.FR, media=french)
    reviews.post_approve(post_id=post.id, by=demo.tess)
    return reviews.post_request_changes(post_id=post.id, by=demo.cora, comment="The French alt text, please.")


def _live(post) -> dict[str, dict]:
    return {d.reviewer.username: d.text_versions for d in Decision.objects.filter(
        post_id=post.id, verdict=Verdict.APPROVE, invalidated_at__isnull=True).select_related("reviewer")}


# --- attach, reorder, replace, remove ----------------------------------------------------------

def test_a_draft_takes_media_in_order_with_texts_per_language(demo):
    shared, french = f.medium(demo), f.medium(demo, name="infographie.png")
    post = _draft(demo, [
        {"medium": shared.id, "alt_text": {"en": "A red square.", "fr": "Un carré rouge."}, "focus": [0.5, -0.25]},
        {"medium": french.id, "language": "fr", "alt_text": {"fr": "L’infographie en français."}},
    ])
    assert _rows(post) == [
        (0, shared.id, "", "A red square.", "Un carré rouge.", "", "", 0.5, -0.25),
        (1, french.id, "fr", "", "L’infographie en français.", "", "", 0.0, 0.0),
    ]
    [rev] = PostRevision.objects.filter(post_id=post.id)
    assert rev.media == [
        {"medium": shared.id, "position": 0, "language": "", "alt_text": {"en": "A red square.", "fr": "Un carré rouge."},
         "captions": {"en": "", "fr": ""}, "focus": [0.5, -0.25]},
        {"medium": french.id, "position": 1, "language": "fr", "alt_text": {"en": "", "fr": "L’infographie en français."},
         "captions": {"en": "", "fr": ""}, "focus": [0.0, 0.0]},
    ]
    created = AuditEvent.objects.get(post_id=post.id, verb="created")
    assert created.data["media"] == [{"medium": shared.id, "change": ["added"], "languages": ["en", "fr"]},
                                     {"medium": french.id, "change": ["added"], "languages": ["fr"]}]
    assert "Un carré rouge." not in str(created.data)  # texts are not in the audit trail
    assert _versions(post) == {"en": 1, "fr": 1}


def test_a_video_takes_captions_per_language(demo):
    video = f.medium(demo, kind="video", name="clip.mp4")
    post = _draft(demo, [{"medium": video.id, "alt_text": {"en": "A clip.", "fr": "Un extrait."},
                          "captions": {"en": VTT, "fr": VTT_FR}}])
    assert _rows(post)[0][5:7] == (VTT.strip(), VTT_FR.strip())


def test_editing_the_media_is_an_edit_of_the_languages_they_are_in(demo):
    a, b, fr_only = f.medium(demo), f.medium(demo, name="b.png"), f.medium(demo, name="fr.png")
    post = _draft(demo, [{"medium": a.id, "alt_text": {"en": "A.", "fr": "A fr."}},
                         {"medium": fr_only.id, "language": "fr", "alt_text": {"fr": "Seulement en français."}}])
    # The French-only medium's alt text: French only.
    post = posts.post_edit(post_id=post.id, by=demo.dana, media=[
        {"medium": a.id, "alt_text": {"en": "A.", "fr": "A fr."}},
        {"medium": fr_only.id, "language": "fr", "alt_text": {"fr": "Autre texte."}}])
    assert _versions(post) == {"en": 1, "fr": 2}
    # Reordering a shared medium against a French-only one: what the English post shows is the
    # same, the French post's order changed.
    post = posts.post_edit(post_id=post.id, by=demo.dana, media=[
        {"medium": fr_only.id, "language": "fr", "alt_text": {"fr": "Autre texte."}},
        {"medium": a.id, "alt_text": {"en": "A.", "fr": "A fr."}}])
    assert _versions(post) == {"en": 1, "fr": 3}
    # Replacing the shared medium: both languages.
    post = posts.post_edit(post_id=post.id, by=demo.dana, media=[
        {"medium": fr_only.id, "language": "fr", "alt_text": {"fr": "Autre texte."}},
        {"medium": b.id, "alt_text": {"en": "B.", "fr": "B fr."}}])
    assert _versions(post) == {"en": 2, "fr": 4}
    assert [r[1] for r in _rows(post)] == [fr_only.id, b.id]
    # The focus of a shared medium: both.
    post = posts.post_edit(post_id=post.id, by=demo.dana, media=[
        {"medium": fr_only.id, "language": "fr", "alt_text": {"fr": "Autre texte."}},
        {"medium": b.id, "alt_text": {"en": "B.", "fr": "B fr."}, "focus": [0, 1]}])
    assert _versions(post) == {"en": 3, "fr": 5}
    # Removing them all: both.
    post = posts.post_edit(post_id=post.id, by=demo.dana, media=[])
    assert _rows(post) == [] and _versions(post) == {"en": 4, "fr": 6}
    edits = list(AuditEvent.objects.filter(post_id=post.id, verb="edited").order_by("seq"))
    assert [e.data["languages"] for e in edits] == [["fr"], ["fr"], ["en", "fr"], ["en", "fr"], ["en", "fr"]]
    assert edits[0].data["media"] == [{"medium": fr_only.id, "change": ["alt_text:fr"], "languages": ["fr"]}]
    assert {c["medium"]: c["change"] for c in edits[2].data["media"]} == {
        b.id: ["added"], a.id: ["removed"]}
    assert {c["medium"]: c["change"] for c in edits[1].data["media"]} == {fr_only.id: ["position"], a.id: ["position"]}
    assert edits[3].data["media"] == [{"medium": b.id, "change": ["focus"], "languages": ["en", "fr"]}]
    assert [r.number for r in PostRevision.objects.filter(post_id=post.id)] == [1, 2, 3, 4, 5, 6]
    assert PostRevision.objects.get(post_id=post.id, number=6).media == []


def test_a_text_and_its_media_changed_together_move_the_version_once(demo):
    a = f.medium(demo)
    post = _draft(demo, [{"medium": a.id, "alt_text": {"en": "A."}}])
    post = posts.post_edit(post_id=post.id, by=demo.dana, texts={"en": f.EN + " Welcome.", "fr": f.FR},
                           media=[{"medium": a.id, "alt_text": {"en": "A, again."}}])
    assert _versions(post) == {"en": 2, "fr": 1}
    assert AuditEvent.objects.filter(post_id=post.id, verb="edited").get().data["languages"] == ["en"]


def test_the_same_media_again_is_no_edit(demo):
    a = f.medium(demo)
    media = [{"medium": a.id, "alt_text": {"en": "A.", "fr": "A fr."}, "focus": [0.1, 0.2]}]
    post = _draft(demo, media)
    version = post.version
    post = posts.post_edit(post_id=post.id, by=demo.dana, media=media)
    assert post.version == version and _versions(post) == {"en": 1, "fr": 1}
    assert not AuditEvent.objects.filter(post_id=post.id, verb="edited").exists()


def test_a_reply_takes_media(demo):
    from workflows.services.inbound import inbound_ingest

    msg, _ = inbound_ingest(by=demo.dana, channel="dpe-en", external_id="media-1", author="A citizen",
                            text="When does the office reopen?", language="en")
    pic = f.medium(demo)
    reply = posts.reply_send(inbound_id=msg.id, by=demo.dana, text="On Monday at 9:00.", language="en",
                             rules_acknowledged=True, media=[{"medium": pic.id, "alt_text": {"en": "Opening hours."}}])
    assert reply.state in (PostState.APPROVED, PostState.PUBLISHING, PostState.IN_REVIEW)
    assert _rows(reply)[0][1:4] == (pic.id, "", "Opening hours.")
    # A reply goes out in the citizen's language only: no French-only medium on it.
    with pytest.raises(InvalidInput) as exc:
        posts.post_create(author=demo.dana, kind="reply", in_reply_to=msg.id, texts={"en": "Monday."},
                          rules_acknowledged=True, media=[{"medium": pic.id, "language": "fr"}])
    assert exc.value.code == "media.attach.language_not_in_post"


# --- approvals are bound to the media ---------------------------------------------------------

def test_changing_the_french_alt_text_voids_the_approvals_that_covered_french_only(demo):
    pic = f.medium(demo)
    post = _changes_requested_after_sign_off_review(demo, [{"medium": pic.id, "language": "en",
                                                            "alt_text": {"en": "A red square."}}])
    fr_pic = f.medium(demo, name="fr.png")
    assert _live(post) == {"rami": {"en": 1}, "tess": {"en": 1, "fr": 1}}
    post = posts.post_edit(post_id=post.id, by=demo.dana, media=[
        {"medium": pic.id, "language": "en", "alt_text": {"en": "A red square."}},
        {"medium": fr_pic.id, "language": "fr", "alt_text": {"fr": "Un carré rouge."}}])
    assert _versions(post) == {"en": 1, "fr": 2}
    # French changed: the approval that saw French is voided; the one that saw English only stays.
    assert _live(post) == {"rami": {"en": 1}}
    edited = AuditEvent.objects.filter(post_id=post.id, verb="edited").get()
    assert edited.data["languages"] == ["fr"] and len(edited.data["voided_decisions"]) == 1


def test_changing_a_shared_medium_voids_every_approval(demo):
    pic, other = f.medium(demo), f.medium(demo, name="other.png")
    post = _changes_requested_after_sign_off_review(demo, [{"medium": pic.id, "alt_text": {"en": "A red square."}}])
    assert set(_live(post)) == {"rami", "tess"}
    post = posts.post_edit(post_id=post.id, by=demo.dana,
                           media=[{"medium": other.id, "alt_text": {"en": "Another square.", "fr": "Un autre carré."}}])
    assert _versions(post) == {"en": 2, "fr": 2}
    assert _live(post) == {}
    # Back in the lane, the review step asks again.
    post = posts.post_submit(post_id=post.id, by=demo.dana)
    assert post.current_step.order == 1


# --- the translation step ------------------------------------------------------------------------

def test_the_translation_step_writes_the_french_alt_text_and_captions(demo):
    pic, video = f.medium(demo), f.medium(demo, kind="video", name="clip.mp4")
    post = posts.post_create(author=demo.dana, channels=["dpe-en", "dpe-fr"], kind="post", texts={"en": f.EN},
                             rules_acknowledged=True, media=[{"medium": pic.id, "alt_text": {"en": "A red square."}}])
    posts.post_submit(post_id=post.id, by=demo.dana)
    reviews.post_approve(post_id=post.id, by=demo.rami)
    post = translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=f.FR,
                                            media=[{"position": 0, "alt_text": "Un carré rouge."}])
    assert _rows(post)[0][3:5] == ("A red square.", "Un carré rouge.")
    assert _versions(post) == {"en": 1, "fr": 1}
    assert PostRevision.objects.filter(post_id=post.id).order_by("-number").first().media[0]["alt_text"] == {
        "en": "A red square.", "fr": "Un carré rouge."}
    # Only the French alt text again: still a translation of French (its version moves).
    post = translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=f.FR,
                                            media=[{"position": 0, "alt_text": "Un carré rouge vif."}])
    assert _versions(post) == {"en": 1, "fr": 2}
    translated = list(AuditEvent.objects.filter(post_id=post.id, verb="translated").order_by("seq"))
    assert translated[-1].data["media"] == [{"medium": pic.id, "change": ["alt_text:fr"], "languages": ["en", "fr"]}]
    assert _live(post) == {"rami": {"en": 1}}  # English untouched
    # A position that is not there, captions on an image: refused, nothing written.
    with pytest.raises(InvalidInput) as exc:
        translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=f.FR,
                                         media=[{"position": 3, "alt_text": "?"}])
    assert exc.value.code == "media.attach.no_position"
    with pytest.raises(InvalidInput) as exc:
        translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=f.FR,
                                         media=[{"position": 0, "captions": VTT_FR}])
    assert exc.value.code == "media.attach.captions_not_video"
    assert _versions(post) == {"en": 1, "fr": 2}
    del video


def test_a_translator_who_wrote_only_the_french_alt_text_may_not_approve_french(demo):
    """Four eyes by contribution: the French text is the author's, the translator changes only
    the French alt text — that is French she wrote, so she never approves French."""
    pic = f.medium(demo)
    post = _draft(demo, [{"medium": pic.id, "alt_text": {"en": "A red square.", "fr": "Un carré."}}])
    posts.post_submit(post_id=post.id, by=demo.dana)
    reviews.post_approve(post_id=post.id, by=demo.rami)
    post = translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=f.FR,
                                            media=[{"position": 0, "alt_text": "Un carré rouge."}])
    assert PostText.objects.get(post_id=post.id, language="fr").updated_by_id == demo.tess.id
    assert demo.tess.id in contributors(post)["fr"] and demo.tess.id not in contributors(post)["en"]
    sign_off = LaneStep.objects.get(lane=post.lane, kind="sign_off")
    scope = approval_scope(post=post, user=demo.tess, step=sign_off)
    assert (scope.refusal, scope.params) == ("four_eyes.contributed", {"languages": ["fr"]})
    # The review step's approval saw the French the alt text is part of: voided, asked again.
    assert post.current_step.order == 1
    post = reviews.post_approve(post_id=post.id, by=demo.rami)
    # Through the real approval (revisions read with the row lock): she completes the
    # translation step, then, were she on the sign-off team, she is refused there.
    post = reviews.post_approve(post_id=post.id, by=demo.tess)
    assert post.current_step.kind == "sign_off"
    demo.tess.groups.add(sign_off.team.group)
    with pytest.raises(NotPermitted) as exc:
        reviews.post_approve(post_id=post.id, by=demo.tess)
    assert exc.value.code == "four_eyes.contributed" and exc.value.params == {"languages": ["fr"]}
    post = reviews.post_approve(post_id=post.id, by=demo.cora)
    assert post.state == PostState.APPROVED


@pytest.mark.postgresql("the lock reads the media in its own statement through an array subquery (PostgreSQL); elsewhere they are read after it")
def test_the_lock_reads_the_media_with_the_post(demo):
    pic = f.medium(demo)
    post = _draft(demo, [{"medium": pic.id, "alt_text": {"en": "A.", "fr": "A fr."}}])
    locked, ctx = post_lock_for_transition(post_id=post.id, user=demo.dana, revisions=True)
    assert ctx.media == media_service.post_media(post)
    assert ctx.media[0].alt_text == {"en": "A.", "fr": "A fr."} and ctx.media[0].filename == "infographic.png"
    assert ctx.revisions is not None and ctx.revisions[0][2] == PostRevision.objects.get(post_id=post.id).media


def test_the_guideline_input_is_plain_data(demo):
    pic, video = f.medium(demo, name="IMG_0001.png"), f.medium(demo, kind="video", name="clip.mp4")
    post = _draft(demo, [{"medium": pic.id, "language": "en", "alt_text": {"en": "A."}},
                         {"medium": video.id, "language": "fr", "captions": {"fr": VTT_FR}}])
    from workflows.guidelines import MediaInfo

    assert media_service.guideline_media(media_service.post_media(post)) == (
        MediaInfo(kind="image", language="en", alt={"en": "A.", "fr": ""}, captions={"en": "", "fr": ""},
                  filename="IMG_0001.png"),
        MediaInfo(kind="video", language="fr", alt={"en": "", "fr": ""}, captions={"en": "", "fr": VTT_FR.strip()},
                  filename="clip.mp4"),
    )


# --- refused, in English and French, and nothing written ---------------------------------------

def _words(exc) -> tuple[str, str]:
    with translation.override("en"):
        en = str(exc.message) + " " + " ".join(m for ms in exc.rendered_errors().values() for m in ms)
    with translation.override("fr"):
        fr = str(exc.message) + " " + " ".join(m for ms in exc.rendered_errors().values() for m in ms)
    return en, fr


def test_another_organisations_medium_is_refused_as_if_it_did_not_exist(demo):
    theirs = f.medium(user=demo.omar)
    for mid in (theirs.id, 10**12):
        with pytest.raises(InvalidInput) as exc:
            _draft(demo, [{"medium": mid}])
        assert exc.value.code == "media.attach.unknown"
        assert set(exc.value.rendered_errors()) == {"media.0.medium"}
    en, fr = _words(exc.value)
    assert "There is no such medium." in en and "Ce média n’existe pas." in fr
    assert not PostMedium.objects.exists()


@pytest.mark.parametrize(("kinds", "code", "fr_words"), [
    (["image"] * 5, "media.attach.too_many_images", "accepte au plus 4 images"),
    (["video"] * 2, "media.attach.too_many_videos", "accepte au plus 1 vidéo"),
    (["image", "video"], "media.attach.mixed", "n’accepte pas d’images et de vidéo"),
])
def test_more_media_than_the_platform_takes_is_refused(demo, kinds, code, fr_words):
    items = [{"medium": f.medium(demo, kind=k, name=f"{i}.{'mp4' if k == 'video' else 'png'}").id}
             for i, k in enumerate(kinds)]
    with pytest.raises(Unpublishable) as exc:
        _draft(demo, items)
    assert exc.value.code == code and exc.value.status == 422
    assert exc.value.params["channel"] in ("@DPE_en", "@MEP_fr")
    en, fr = _words(exc.value)
    assert "on one post" in en or "same post" in en
    assert fr_words in fr


def test_four_images_pass_and_a_french_only_fifth_counts_for_french(demo):
    four = [{"medium": f.medium(demo, name=f"{i}.png").id} for i in range(4)]
    post = _draft(demo, four)
    assert len(_rows(post)) == 4
    fifth = f.medium(demo, name="5.png")
    with pytest.raises(Unpublishable) as exc:
        posts.post_edit(post_id=post.id, by=demo.dana, media=[*four, {"medium": fifth.id, "language": "fr"}])
    assert exc.value.params["language"] == "fr" and exc.value.params["channel"] == "@MEP_fr"
    assert len(_rows(post)) == 4 and _versions(post) == {"en": 1, "fr": 1}


def test_the_platform_limits_live_in_one_table():
    from workflows.guidelines import media_limits_for

    mastodon = media_limits_for(adapter="mastodon")
    assert (mastodon.images, mastodon.videos, mastodon.mixed, mastodon.alt_image) == (4, 1, False, 1500)
    assert media_limits_for(adapter="log", platform="Bluesky").images == 4
    assert media_limits_for(adapter="webhook", platform="") is None


def test_a_channel_on_no_known_platform_takes_up_to_the_requests_cap(demo):
    from workflows.models import Channel

    Channel.objects.filter(slug__in=["dpe-en", "dpe-fr"]).update(platform="intranet")
    post = _draft(demo, [{"medium": f.medium(demo, name=f"{i}.png").id} for i in range(6)])
    assert len(_rows(post)) == 6


def test_texts_over_their_caps_are_refused_before_anything_reads_them(demo):
    pic, video = f.medium(demo), f.medium(demo, kind="video", name="clip.mp4")
    with pytest.raises(TextTooLong) as exc:
        _draft(demo, [{"medium": pic.id, "alt_text": {"fr": "x" * (limits.ALT_TEXT_MAX + 1)}}])
    assert exc.value.code == "media.attach.alt_text_too_long" and exc.value.status == 422
    assert exc.value.params == {"length": limits.ALT_TEXT_MAX + 1, "limit": limits.ALT_TEXT_MAX, "language": "fr"}
    en, fr = _words(exc.value)
    assert "alternative text is 2001 characters long" in en and "texte de remplacement compte 2001 caractères" in fr
    with pytest.raises(TextTooLong) as exc:
        _draft(demo, [{"medium": video.id, "captions": {"en": "WEBVTT\n\n" + "x" * limits.CAPTIONS_MAX}}])
    assert exc.value.code == "media.attach.captions_too_long"
    assert not PostMedium.objects.exists()


@pytest.mark.parametrize(("item", "code", "field"), [
    ({"focus": [0, 1.5]}, "media.attach.focus_invalid", "media.0.focus"),
    ({"focus": [float("nan"), 0]}, "media.attach.focus_invalid", "media.0.focus"),
    ({"focus": [0]}, "media.attach.focus_invalid", "media.0.focus"),
    ({"language": "de"}, "media.attach.invalid", "media.0.language"),
    ({"alt_text": {"de": "x"}}, "media.attach.invalid", "media.0.alt_text.de"),
    ({"alt_text": "A red square."}, "media.attach.invalid", "media.0.alt_text"),
    ({"alt_text": {"en": "a\x00b"}}, "media.attach.invalid", "media.0.alt_text.en"),
    ({"language": "en", "alt_text": {"fr": "Un carré."}}, "media.attach.text_other_language", "media.0.alt_text.fr"),
    ({"captions": {"en": VTT}}, "media.attach.captions_not_video", "media.0.captions"),
    ({"colour": "red"}, "media.attach.invalid", "media.0.colour"),
])
def test_what_a_medium_says_is_checked(demo, item, code, field):
    pic = f.medium(demo)
    with pytest.raises(InvalidInput) as exc:
        _draft(demo, [{"medium": pic.id, **item}])
    assert exc.value.code == code
    assert field in exc.value.rendered_errors()
    en, fr = _words(exc.value)
    assert en != fr


def test_captions_must_be_webvtt(demo):
    video = f.medium(demo, kind="video", name="clip.mp4")
    with pytest.raises(InvalidInput) as exc:
        _draft(demo, [{"medium": video.id, "captions": {"fr": "1\n00:00:00,000 --> 00:00:02,000\nSRT, pas WebVTT"}}])
    assert exc.value.code == "media.attach.captions_invalid"
    en, fr = _words(exc.value)
    assert "French captions are not valid WebVTT" in en and "sous-titres en français" in fr


def test_the_same_medium_twice_and_shapes_that_are_no_list_are_refused(demo):
    pic = f.medium(demo)
    with pytest.raises(InvalidInput) as exc:
        _draft(demo, [{"medium": pic.id}, {"medium": pic.id}])
    assert exc.value.code == "media.attach.duplicate" and "media.1.medium" in exc.value.rendered_errors()
    for raw, code in (({"medium": pic.id}, "media.attach.not_list"), (["x"], "media.attach.invalid"),
                      ([{"medium": True}], "media.attach.unknown"),
                      ([{"medium": pic.id}] * (limits.MEDIA_PER_POST_MAX + 1), "media.attach.too_many")):
        with pytest.raises(InvalidInput) as exc:
            _draft(demo, raw)
        assert exc.value.code == code


def test_a_refused_edit_leaves_the_media_and_the_versions_as_they_were(demo):
    pic = f.medium(demo)
    post = _draft(demo, [{"medium": pic.id, "alt_text": {"en": "A."}}])
    before = (_rows(post), _versions(post), post.version, PostRevision.objects.filter(post_id=post.id).count())
    with pytest.raises(InvalidInput):
        posts.post_edit(post_id=post.id, by=demo.dana, texts={"en": "Changed.", "fr": f.FR},
                        media=[{"medium": pic.id, "alt_text": {"en": "B."}}, {"medium": 10**12}])
    post.refresh_from_db()
    assert (_rows(post), _versions(post), post.version, PostRevision.objects.filter(post_id=post.id).count()) == before
    assert PostText.objects.get(post_id=post.id, language="en").body == f.EN


def test_who_changed_a_languages_media_stays_its_contributor_after_others_edit_its_text(demo):
    """Contributions are read from the revisions' media too, not only from each text's last
    writer: rami changes the French alt text, dana then rewrites the French text; rami wrote
    French (never approves it), not English."""
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    pic = f.medium(demo)
    post = _draft(demo, [{"medium": pic.id, "alt_text": {"en": "A red square."}}])
    editors = Group.objects.create(name="media-editors")
    demo.rami.groups.add(editors)
    for slug in ("dpe-en", "dpe-fr"):
        assign_perm("workflows.draft_channel", editors, demo.channel(slug))
    posts.post_edit(post_id=post.id, by=demo.rami,
                    media=[{"medium": pic.id, "alt_text": {"en": "A red square.", "fr": "Un carré rouge."}}])
    posts.post_edit(post_id=post.id, by=demo.dana, texts={"en": f.EN, "fr": f.FR + " Bienvenue."})
    assert PostText.objects.get(post_id=post.id, language="fr").updated_by_id == demo.dana.id
    wrote = contributors(post)
    assert demo.rami.id in wrote["fr"] and demo.rami.id not in wrote["en"]
    review = LaneStep.objects.get(lane=post.lane, order=1)
    scope = approval_scope(post=post, user=demo.rami, step=review)
    assert (scope.refusal, scope.params) == ("four_eyes.contributed", {"languages": ["fr"]})
    post = posts.post_submit(post_id=post.id, by=demo.dana)
    with pytest.raises(NotPermitted) as exc:
        reviews.post_approve(post_id=post.id, by=demo.rami)  # the lock's revisions carry the media
    assert exc.value.code == "four_eyes.contributed"


# --- the access-to-information export --------------------------------------------------------

def test_the_atip_export_holds_the_media_files_and_their_texts(demo, settings, tmp_path):
    import csv
    import io
    import json
    import zipfile

    from workflows.models import AtipExport
    from workflows.services import atip

    settings.EXPORT_ROOT = tmp_path / "exports"
    shared = f.medium(demo, data=f.png_bytes(colour=(1, 2, 3)))
    french = f.medium(demo, name="infographie.png", data=f.png_bytes(colour=(4, 5, 6)))
    post = _draft(demo, [
        {"medium": shared.id, "alt_text": {"en": "Jean Tremblay opens the office.", "fr": "Jean Tremblay ouvre le bureau."}},
        {"medium": french.id, "language": "fr", "alt_text": {"fr": "L’infographie."}, "focus": [0.5, 0.5]},
    ])
    export = atip.atip_export_request(by=demo.cora, post_id=post.id, redact_patterns=[r"Tremblay", r"[0-9]+"])
    assert atip.atip_export_build(export_id=export.id) == "done"
    zf = zipfile.ZipFile(atip.export_file(AtipExport.objects.get(id=export.id)))
    files = {f"media/{post.id}/0-{shared.id}.png": shared, f"media/{post.id}/1-{french.id}.png": french}
    assert set(files) <= set(zf.namelist())
    for name, medium in files.items():
        with medium.file.open("rb") as fh:
            assert zf.read(name) == fh.read()
    data = json.loads(zf.read("export.json"))
    assert set(files) <= set(data["manifest"]["files"])
    [rec] = data["posts"]
    # The texts, redacted like every text; the system values (the file's place, its hash) not.
    assert [(m["file"], m["language"], m["alt_text"], m["focus"]) for m in rec["media"]] == [
        (f"media/{post.id}/0-{shared.id}.png", "", {"en": "Jean [REDACTED] opens the office.",
                                                     "fr": "Jean [REDACTED] ouvre le bureau."}, [0.0, 0.0]),
        (f"media/{post.id}/1-{french.id}.png", "fr", {"en": "", "fr": "L’infographie."}, [0.5, 0.5]),
    ]
    assert rec["media"][0]["sha256"] == shared.sha256
    assert rec["revisions"][0]["media"][1]["alt_text"]["fr"] == "L’infographie."
    rows = list(csv.DictReader(io.StringIO(zf.read("csv/media.csv").decode())))
    assert [(r["post"], r["position"], r["file"], r["alt_text_fr"]) for r in rows] == [
        (str(post.id), "0", f"media/{post.id}/0-{shared.id}.png", "Jean [REDACTED] ouvre le bureau."),
        (str(post.id), "1", f"media/{post.id}/1-{french.id}.png", "L’infographie."),
    ]
    summary = zf.read("summary.html").decode()
    assert f'href="media/{post.id}/1-{french.id}.png"' in summary and "L’infographie." in summary
    assert "Tremblay" not in summary


def test_an_export_in_french_names_the_media_in_french(demo, settings, tmp_path):
    import zipfile

    from workflows.models import AtipExport
    from workflows.services import atip

    settings.EXPORT_ROOT = tmp_path / "exports"
    pic = f.medium(demo)
    post = _draft(demo, [{"medium": pic.id, "alt_text": {"en": "A red square.", "fr": "Un carré rouge."}}])
    export = atip.atip_export_request(by=demo.cora, post_id=post.id, language="fr")
    assert atip.atip_export_build(export_id=export.id) == "done"
    summary = zipfile.ZipFile(atip.export_file(AtipExport.objects.get(id=export.id))).read("summary.html").decode()
    assert "<h3>Médias</h3>" in summary and "Texte de remplacement" in summary and "Les deux langues" in summary


def test_the_history_diff_says_what_changed_per_language():
    def m(mid, pos, lang="", en="", fr="", focus=(0.0, 0.0)):
        return {"medium": mid, "position": pos, "language": lang, "alt_text": {"en": en, "fr": fr},
                "captions": {"en": "", "fr": ""}, "focus": list(focus)}

    old = [m(1, 0, en="One.", fr="Un."), m(2, 1, en="Two."), m(3, 2, lang="fr", fr="Trois.")]
    new = [m(9, 0, lang="en", en="Nine."), m(2, 1, en="Two."), m(1, 2, en="One.", fr="Un !"), m(3, 3, lang="fr", fr="Trois.")]
    assert media_service.media_diff(old, new) == [
        ("en", [{"medium": 9, "what": "added", "old": "", "new": "Nine."},
                {"medium": 2, "what": "moved", "old": 2, "new": 1},
                {"medium": 1, "what": "moved", "old": 1, "new": 2}]),
        ("fr", [{"medium": 2, "what": "moved", "old": 2, "new": 1},
                {"medium": 1, "what": "moved", "old": 1, "new": 2},
                {"medium": 1, "what": "alt_text", "old": "Un.", "new": "Un !"}]),
    ]
    assert media_service.media_diff(new, new) == []


def test_the_pre_screen_sees_the_media_on_submit(demo):
    """The media reach the guideline rules (services.media.guideline_media): an official post
    with a French text and an image without French alt text is refused on submit; once described,
    it goes in."""
    from workflows.exceptions import GuidelineViolation

    pic = f.medium(demo)
    post = _draft(demo, [{"medium": pic.id, "alt_text": {"en": "A red square."}}])
    assert any(c["rule"] == "alt_text" and not c["ok"] and c["language"] == "fr" for c in post.checks)
    with pytest.raises(GuidelineViolation) as exc:
        posts.post_submit(post_id=post.id, by=demo.dana)
    assert {v["rule"] for v in exc.value.violations} == {"alt_text"}
    posts.post_edit(post_id=post.id, by=demo.dana, media=[
        {"medium": pic.id, "alt_text": {"en": "A red square.", "fr": "Un carré rouge."}}])
    assert posts.post_submit(post_id=post.id, by=demo.dana).state == PostState.IN_REVIEW
