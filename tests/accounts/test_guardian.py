import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from accounts.models import Team, User
from workflows.constants import ChannelPerm
from workflows.models import Channel
from workflows.permissions import channels_with_perm, has_perm_on_all, perms_by_channel

pytestmark = pytest.mark.django_db


def test_grant_to_team_gives_members_the_permission_and_nobody_else(demo):
    org = demo.dana.organisation
    channel = Channel.objects.create(organisation=org, slug="new-chan", platform="x", handle="@x", languages=["en"])
    group = Group.objects.create(name="dpe:new-team")
    team = Team.objects.create(organisation=org, slug="new-team", name="New team", group=group)
    member = User.objects.create(username="member", organisation=org)
    outsider = User.objects.create(username="outsider", organisation=org)
    member.groups.add(team.group)

    assign_perm(f"workflows.{ChannelPerm.REVIEW}", team.group, channel)

    assert has_perm_on_all(user=member, codename=ChannelPerm.REVIEW, channel_ids=[channel.id])
    assert not has_perm_on_all(user=outsider, codename=ChannelPerm.REVIEW, channel_ids=[channel.id])
    assert not has_perm_on_all(user=member, codename=ChannelPerm.PUBLISH, channel_ids=[channel.id])
    # django-guardian's own backend agrees (the direct FK tables are used).
    member = User.objects.get(id=member.id)
    outsider = User.objects.get(id=outsider.id)
    assert member.has_perm(f"workflows.{ChannelPerm.REVIEW}", channel)
    assert not outsider.has_perm(f"workflows.{ChannelPerm.REVIEW}", channel)
    from workflows.models import ChannelGroupObjectPermission

    assert ChannelGroupObjectPermission.objects.filter(content_object=channel, group=group).count() == 1


def test_direct_user_grant(demo):
    channel = demo.channel("dpe-en")
    user = User.objects.create(username="solo", organisation=demo.dana.organisation)
    assign_perm(f"workflows.{ChannelPerm.MANAGE}", user, channel)
    assert list(channels_with_perm(user=user, codename=ChannelPerm.MANAGE)) == [channel]
    assert perms_by_channel(user=user, channel_ids=[channel.id]) == {channel.id: {ChannelPerm.MANAGE}}


def test_permission_on_some_channels_is_not_all(demo):
    en, fr = demo.channel("dpe-en"), demo.channel("dpe-fr")
    user = User.objects.create(username="half", organisation=demo.dana.organisation)
    assign_perm(f"workflows.{ChannelPerm.DRAFT}", user, en)
    assert has_perm_on_all(user=user, codename=ChannelPerm.DRAFT, channel_ids=[en.id])
    assert not has_perm_on_all(user=user, codename=ChannelPerm.DRAFT, channel_ids=[en.id, fr.id])


def test_demo_roles(demo):
    en = demo.channel("dpe-en")
    assert has_perm_on_all(user=demo.dana, codename=ChannelPerm.DRAFT, channel_ids=[en.id])
    assert not has_perm_on_all(user=demo.dana, codename=ChannelPerm.REVIEW, channel_ids=[en.id])
    assert has_perm_on_all(user=demo.uma, codename=ChannelPerm.PUBLISH_URGENT, channel_ids=[en.id])
    assert not has_perm_on_all(user=demo.omar, codename=ChannelPerm.DRAFT, channel_ids=[en.id])
