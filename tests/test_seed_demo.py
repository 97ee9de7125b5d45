import pytest
from django.core.management import call_command

from accounts.models import Organisation, Team, User
from workflows.models import Channel, GuidelineRule, Lane, LaneStep


@pytest.mark.django_db
def test_seed_demo_is_idempotent(demo, capsys):
    call_command("seed_demo")  # the first run adds the morning's work (and its alerts channel)
    counts = [User.objects.count(), Channel.objects.count(), Team.objects.count(), Lane.objects.count(),
              LaneStep.objects.count(), GuidelineRule.objects.count(), Organisation.objects.count()]
    call_command("seed_demo")
    call_command("seed_demo")
    assert [User.objects.count(), Channel.objects.count(), Team.objects.count(), Lane.objects.count(),
            LaneStep.objects.count(), GuidelineRule.objects.count(), Organisation.objects.count()] == counts
    call_command("seed_demo", "--logins")
    out = capsys.readouterr().out
    assert "dana" in out and "omar" in out


@pytest.mark.django_db
def test_seed_demo_creates_named_users_and_lanes(demo):
    names = set(User.objects.values_list("username", flat=True))
    assert {"dana", "rami", "tess", "cora", "uma", "omar", "admin"} <= names
    assert demo.omar.organisation_id != demo.dana.organisation_id
    official = demo.lane("official")
    assert [s.kind for s in official.steps.all()] == ["review", "translation", "sign_off"]
    assert official.required_languages == ["en", "fr"]
    assert demo.lane("conversation").steps.count() == 0


@pytest.mark.django_db
def test_demo_password_from_environment(demo, settings):
    settings.DEMO_PASSWORD = "another-Secret-42"
    call_command("seed_demo")
    assert User.objects.get(username="rami").check_password("another-Secret-42")


@pytest.mark.django_db
def test_seed_demo_adds_a_mornings_work_once(demo, capsys):
    """make run shows a real morning's work: citizen messages in both languages (some overdue),
    posts in every state, a failed publication; seeding again adds nothing."""
    from datetime import timedelta

    from django.utils import timezone

    from workflows.constants import PostState, PublicationStatus
    from workflows.models import InboundMessage, Post, PostReview, Publication

    call_command("seed_demo")
    counts = (InboundMessage.objects.count(), Post.objects.count(), Publication.objects.count())
    call_command("seed_demo")
    assert (InboundMessage.objects.count(), Post.objects.count(), Publication.objects.count()) == counts
    msgs = InboundMessage.objects.filter(channel__organisation__slug="dpe")
    assert {"en", "fr"} <= set(msgs.values_list("language", flat=True))
    assert msgs.filter(status="new", received_at__lt=timezone.now() - timedelta(hours=1)).exists()  # overdue
    assert msgs.filter(source="manual").count() == 1
    states = set(Post.objects.values_list("state", flat=True))
    assert states >= {PostState.DRAFT, PostState.IN_REVIEW, PostState.CHANGES_REQUESTED, PostState.SCHEDULED,
                      PostState.PUBLISHED, PostState.REJECTED, PostState.WITHDRAWN, PostState.FAILED}
    steps = set(Post.objects.filter(state="in_review").values_list("current_step__kind", flat=True))
    assert steps == {"review", "translation", "sign_off"}
    # The French alerts account's server never answers: preflight fails the post before anything
    # is live (both languages or neither), so nothing of it was sent.
    failed = Publication.objects.filter(status=PublicationStatus.FAILED)
    assert {p.language for p in failed} == {"en", "fr"}
    assert failed[0].post.state == PostState.FAILED
    assert not failed[0].post.publications.filter(status="sent").exists()
    assert PostReview.objects.filter(status="open").count() == 2  # a spot-check and a retrospective
    assert "A morning's work added" in capsys.readouterr().out


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "words"), [("en", "DPE (English) (English)"), ("fr", "MEP (anglais) (anglais)")])
def test_the_failure_e_mail_names_channels_and_languages(demo, lang, words):
    """The author's "failed to publish" e-mail says which account and which language, in words."""
    from django.template.loader import render_to_string
    from django.utils import translation

    from workflows.models import Post

    call_command("seed_demo")
    post = Post.objects.get(state="failed")
    with translation.override(lang):
        body = render_to_string("workflows/email/failed.txt", {
            "post": post, "lang": lang, "publications": list(post.publications.select_related("channel"))},
            using="text")
    assert words in body
    assert "dpe-en" not in body and "dpe-alerts-fr" not in body and "preflight" not in body and "(en)" not in body


@pytest.mark.django_db
def test_the_demo_morning_has_no_trap_and_says_little(demo, capsys):
    """Issue 21: the seed's output is a few lines (no e-mails, no task logs, no failure reported
    before the browser opens); every channel a person can pick has a valid configuration; the
    deliberate failure is on an account that is closed, and its name says so."""
    from workflows.channels.config import check_config
    from workflows.demo_scenario import BROKEN_CHANNEL
    from workflows.selectors import channels_draftable

    call_command("seed_demo")
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) <= 6, out
    assert "Subject:" not in out and "Failed" not in out and '"level"' not in out
    for user in (demo.dana, demo.uma, demo.admin):
        for chan in channels_draftable(user=user):
            assert chan.is_active and not check_config(chan.adapter, chan.adapter_config), chan.slug
    broken = demo.channel(BROKEN_CHANNEL)
    assert not broken.is_active and "closed" in broken.name_en and "fermé" in broken.name_fr


@pytest.mark.django_db
def test_the_demo_morning_is_overdue_in_the_queue_and_the_inbox(demo):
    from django.test import Client

    from workflows import selectors

    call_command("seed_demo")
    assert any(item.overdue for item in selectors.queue_for(user=demo.rami))
    client = Client()
    client.force_login(demo.dana)
    page = client.get("/inbox/").content.decode()
    assert page.count('class="overdue-flag"') >= 2  # 150 and 95 minutes old; the response time is 1 h


@pytest.mark.django_db(transaction=True)  # TRUNCATE, as on a developer's database
def test_reset_gives_a_fresh_morning(demo, settings):
    from django.core.management.base import CommandError

    from workflows.models import InboundMessage, Post

    call_command("seed_demo")
    counts = (InboundMessage.objects.count(), Post.objects.count())
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", "--reset")
    settings.DEBUG = True
    Organisation.objects.create(slug="real-dept", name="A real department")
    with pytest.raises(CommandError, match="real-dept"):
        call_command("seed_demo", "--reset")
    assert Organisation.objects.filter(slug="real-dept").exists()
    Organisation.objects.filter(slug="real-dept").delete()
    post = Post.objects.filter(state="draft").first()
    post.texts.update(body="Changed by someone trying the demo.")
    call_command("seed_demo", "--reset")
    assert (InboundMessage.objects.count(), Post.objects.count()) == counts
    assert not Post.objects.filter(texts__body="Changed by someone trying the demo.").exists()


@pytest.mark.django_db
def test_the_demo_has_images_described_in_both_languages_and_one_blocked(demo, settings, tmp_path):
    """Issue 22: posts with images (PNG infographics drawn at seed time) and their alternative
    text in English and French; one official post whose French alternative text is missing,
    blocked by the pre-screen, and its page says so in both languages."""
    from django.test import Client

    from workflows.constants import PostState
    from workflows.exceptions import GuidelineViolation
    from workflows.models import PostMedium
    from workflows.services import posts

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo")
    described = PostMedium.objects.exclude(alt_text_en="").exclude(alt_text_fr="").select_related("medium", "post")
    assert described.count() >= 2
    assert all(pm.medium.content_type == "image/png" and pm.medium.thumbnail for pm in described)
    assert {pm.post.state for pm in described} == {PostState.IN_REVIEW}
    blocked = PostMedium.objects.get(alt_text_fr="", post__lane__slug="official").post
    assert blocked.state == PostState.DRAFT and blocked.texts.filter(language="fr").exists()
    with pytest.raises(GuidelineViolation) as refused:
        posts.post_submit(post_id=blocked.id, by=demo.dana)
    assert [v["code"] for v in refused.value.violations] == ["alt_text.missing"]
    client = Client()
    client.force_login(demo.dana)
    for lang, words in (("en", ["Blocks submission", "Image 1 has no French alternative text",
                                "No description in French"]),
                        ("fr", ["Bloque la soumission", "L'image 1 n'a pas de texte de remplacement en français",
                                "Aucune description en français"])):
        client.cookies["django_language"] = lang
        page = client.get(f"/posts/{blocked.id}/").content.decode().replace("&#x27;", "'")
        for w in words:
            assert w in page, (lang, w)
