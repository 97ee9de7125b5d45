import pytest
from django.core.management import call_command

from accounts.models import Organisation, Team, User
from workflows.models import Channel, GuidelineRule, Lane, LaneStep


@pytest.mark.django_db
def test_seed_demo_is_idempotent(demo, capsys):
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
