"""Organisation visibility has one definition (workflows.permissions): a superuser in an
organisation sees only it, on the read path (selectors) and on the write path (services) alike;
only a superuser outside every organisation (the platform's operator) sees them all."""
from __future__ import annotations

import pytest

from accounts.models import User
from tests.workflows import factories
from workflows import selectors
from workflows.exceptions import NotFound
from workflows.models import Post
from workflows.permissions import organisation_q, sees_organisation
from workflows.services.common import ensure_same_org, post_get_for_update
from workflows.services.posts import post_withdraw

pytestmark = pytest.mark.django_db


@pytest.fixture
def operators(demo):
    org_b = demo.omar.organisation
    in_b = User.objects.create_user("root-b", password="x", is_superuser=True, organisation=org_b)
    nowhere = User.objects.create_user("root", password="x", is_superuser=True, organisation=None)
    return in_b, nowhere


def test_the_rule(demo, operators):
    in_b, nowhere = operators
    dpe = demo.dana.organisation_id
    assert sees_organisation(demo.dana, dpe) and not sees_organisation(demo.omar, dpe)
    assert not sees_organisation(in_b, dpe) and sees_organisation(in_b, in_b.organisation_id)
    assert sees_organisation(nowhere, dpe) and sees_organisation(nowhere, in_b.organisation_id)
    assert organisation_q(nowhere).children == []


def test_a_superuser_in_an_organisation_reads_and_writes_only_there(demo, operators):
    in_b, nowhere = operators
    post = factories.official_draft(demo)
    # Read path.
    with pytest.raises(NotFound):
        selectors.post_get_visible(post_id=post.id, user=in_b)
    assert not selectors.posts_visible(user=in_b).filter(id=post.id).exists()
    # Write path: the same answer, and nothing changes.
    with pytest.raises(NotFound):
        ensure_same_org(user=in_b, organisation_id=post.organisation_id)
    with pytest.raises(NotFound):
        post_get_for_update(post_id=post.id, user=in_b)
    with pytest.raises(NotFound):
        post_withdraw(post_id=post.id, by=in_b)
    assert Post.objects.get(id=post.id).state == post.state
    # The operator outside every organisation sees it on both paths.
    assert selectors.post_get_visible(post_id=post.id, user=nowhere).id == post.id
    ensure_same_org(user=nowhere, organisation_id=post.organisation_id)
