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
    # The French alerts channel was never set up: preflight fails the post before anything is
    # live (both languages or neither), so nothing of it was sent.
    failed = Publication.objects.filter(status=PublicationStatus.FAILED)
    assert {p.language for p in failed} == {"en", "fr"}
    assert failed[0].post.state == PostState.FAILED
    assert not failed[0].post.publications.filter(status="sent").exists()
    assert PostReview.objects.filter(status="open").count() == 2  # a spot-check and a retrospective
    assert "A morning's work added" in capsys.readouterr().out
