"""The relay's claim (issue 14: it runs on every commit that wrote outbox rows): on PostgreSQL
one statement leases the due events and reads the webhook subscriptions of those relayed for the
first time. Pinned, and checked against the ORM claim the embedded SQLite mode runs."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Organisation
from workflows.models import OutboxEvent, WebhookSubscription
from workflows.services import relay

pytestmark = pytest.mark.django_db


def _world(demo):
    """Two organisations' events and subscriptions: a filtered, an unfiltered and an inactive
    subscription in the first, one in the second, and an event of no organisation."""
    mine = demo.dana.organisation
    other = Organisation.objects.create(name="Other department", slug="other-dept")
    hook = "https://hooks.example.org/in"
    filtered = WebhookSubscription.objects.create(organisation=mine, url=hook, secret="s", events=["post.approved"])
    everything = WebhookSubscription.objects.create(organisation=mine, url=hook, secret="s", events=[])
    WebhookSubscription.objects.create(organisation=mine, url=hook, secret="s", events=[], is_active=False)
    theirs = WebhookSubscription.objects.create(organisation=other, url=hook, secret="s", events=[])
    past = timezone.now() - timedelta(seconds=5)
    ev = {name: OutboxEvent.objects.create(topic=topic, organisation=org, available_at=past, payload={})
          for name, topic, org in [("approved", "post.approved", mine), ("published", "post.published", mine),
                                   ("theirs", "post.approved", other), ("no_org", "post.approved", None)]}
    OutboxEvent.objects.create(topic="post.approved", organisation=mine, payload={},  # not due yet
                               available_at=timezone.now() + timedelta(days=1))
    return ev, {"filtered": filtered.id, "everything": everything.id, "theirs": theirs.id}


def _children(claimed: list[tuple[int, str]]) -> set[tuple[int, int]]:
    ids = [eid for eid, topic in claimed if topic == "webhook.deliver"]
    return {(e.payload["event_id"], e.payload["subscription_id"]) for e in OutboxEvent.objects.filter(id__in=ids)}


def test_claim_leases_due_events_and_fans_out_once(demo):
    ev, sub = _world(demo)
    with CaptureQueriesContext(connection) as ctx:
        claimed = relay.relay_claim()
    # SAVEPOINT, the claim with the subscriptions, the webhook deliveries, RELEASE (the test's
    # transaction; BEGIN/COMMIT otherwise)
    assert len(ctx.captured_queries) == 4, "\n".join(q["sql"] for q in ctx.captured_queries)
    assert {eid for eid, topic in claimed if topic != "webhook.deliver"} == {e.id for e in ev.values()}
    assert _children(claimed) == {
        (ev["approved"].id, sub["filtered"]), (ev["approved"].id, sub["everything"]),
        (ev["published"].id, sub["everything"]), (ev["theirs"].id, sub["theirs"]),
    }
    leased = OutboxEvent.objects.filter(id__in=[e.id for e in ev.values()])
    assert all(e.attempts == 1 and e.available_at > timezone.now() for e in leased)
    assert relay.relay_claim() == []  # leased: nobody else takes them
    # the lease expires (the tasks were lost): relayed again (deliveries included), not fanned out again
    deliveries = OutboxEvent.objects.filter(topic="webhook.deliver").count()
    again = relay.relay_claim(now=timezone.now() + timedelta(seconds=relay.settings.OUTBOX_LEASE_SECONDS + 1))
    assert {eid for eid, _ in again} >= {e.id for e in ev.values()}
    assert OutboxEvent.objects.filter(topic="webhook.deliver").count() == deliveries == 4


def test_the_orm_claim_of_the_embedded_mode_agrees(demo, monkeypatch):
    ev, sub = _world(demo)
    fast = relay.relay_claim()
    fast_children = _children(fast)
    OutboxEvent.objects.filter(topic="webhook.deliver").delete()
    OutboxEvent.objects.filter(id__in=[e.id for e in ev.values()]).update(attempts=0, available_at=timezone.now())
    monkeypatch.setattr(relay, "connection", SimpleNamespace(vendor="sqlite"))
    slow = relay.relay_claim(now=timezone.now() + timedelta(seconds=1))
    assert sorted(t for _, t in slow) == sorted(t for _, t in fast)
    assert _children(slow) == fast_children
