"""Engagement (like/boost) through the conversation lane's permission, audited, once per
(message, action), sent through the after-commit task, exactly once on the local Mastodon server
(nothing of it existed before)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from workflows.constants import EngagementStatus as ES
from workflows.exceptions import InvalidInput, NotFound, NotPermitted
from workflows.models import AuditEvent, Engagement, InboundMessage
from workflows.selectors import metrics_compute
from workflows.services.audit import audit_verify
from workflows.services.engagement import engagement_send, engagements_sweep, inbound_engage
from workflows.services.listening import channel_listen, listening_stream_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def embedded(settings):
    settings.CELERY_BROKER_URL = ""  # the embedded default: the task runs right after commit


def _heard(demo, masto, text="Loving the new #parks plan", visibility="public"):
    chan = demo.channel("dpe-en")
    listening_stream_add(channel_id=chan.id, query="#parks")
    status = masto.post_as("alice", text if visibility == "public" else f"@dpe {text}", visibility=visibility)
    channel_listen(channel_id=chan.id)
    return status, InboundMessage.objects.get(channel=chan, external_id=status["id"])


def _gov(masto):
    return masto.account_by_name("dpe")["id"]


def test_like_and_boost_once_each_audited_and_counted(demo, masto, masto_channels, embedded,
                                                      django_capture_on_commit_callbacks):
    status, msg = _heard(demo, masto)
    assert msg.kind == "community"
    with django_capture_on_commit_callbacks(execute=True):
        like, created = inbound_engage(inbound_id=msg.id, by=demo.dana, action="like")
    assert created
    with django_capture_on_commit_callbacks(execute=True):
        again, created_again = inbound_engage(inbound_id=msg.id, by=demo.dana, action="like")
        boost, _ = inbound_engage(inbound_id=msg.id, by=demo.dana, action="boost")
    assert not created_again and again.id == like.id
    like.refresh_from_db()
    boost.refresh_from_db()
    assert (like.status, boost.status) == (ES.DONE, ES.DONE)
    assert masto.favourites == {(_gov(masto), status["id"])}
    assert list(masto.reblogs) == [(_gov(masto), status["id"])]
    assert [r["path"] for r in masto.requests if r["method"] == "POST"].count(f"/api/v1/statuses/{status['id']}/favourite") == 1
    verbs = list(AuditEvent.objects.filter(inbound=msg).order_by("seq").values_list("verb", flat=True))
    assert verbs == ["received", "engagement_requested", "engaged", "engagement_requested", "engaged"]
    assert audit_verify()[1] is None
    row = next(c for c in metrics_compute(user=demo.dana)["channels"] if c["channel"] == "dpe-en")
    assert row["engagements"] == {"like": 1, "boost": 1}


def test_a_retry_asks_first_and_does_not_engage_twice(demo, masto, masto_channels):
    status, msg = _heard(demo, masto)
    eng, _ = inbound_engage(inbound_id=msg.id, by=demo.dana, action="like")
    masto.rate_limited = 1
    assert engagement_send(engagement_id=eng.id) == ES.RETRYING
    # Meanwhile it happened on the platform (as after an unclear outcome).
    masto.favourites.add((_gov(masto), status["id"]))
    later = timezone.now() + timedelta(hours=1)
    assert eng.id in engagements_sweep(now=later)
    assert engagement_send(engagement_id=eng.id, now=later) == ES.DONE
    assert not [r for r in masto.requests if r["path"].endswith("/favourite")][1:]  # only the rate-limited try


def test_an_abandoned_send_is_swept_and_settled(demo, masto, masto_channels, settings):
    status, msg = _heard(demo, masto)
    eng, _ = inbound_engage(inbound_id=msg.id, by=demo.dana, action="like")
    Engagement.objects.filter(id=eng.id).update(status=ES.SENDING, claimed_at=timezone.now(), claimed_by="dead")
    later = timezone.now() + timedelta(seconds=settings.PUBLISH_CLAIM_TIMEOUT + 1)
    assert engagements_sweep(now=later) == [eng.id]
    assert engagement_send(engagement_id=eng.id, now=later) == ES.DONE
    assert masto.favourites == {(_gov(masto), status["id"])}


def test_permissions_and_rules(demo, masto, masto_channels):
    _status, msg = _heard(demo, masto)
    with pytest.raises(InvalidInput):
        inbound_engage(inbound_id=msg.id, by=demo.dana, action="retweet")
    with pytest.raises((NotPermitted, NotFound)):
        inbound_engage(inbound_id=msg.id, by=demo.omar, action="like")  # another organisation
    with pytest.raises(NotPermitted):
        inbound_engage(inbound_id=msg.id, by=demo.rami, action="like")  # no reply permission here
    assert not Engagement.objects.exists()
    _dm, direct = _heard(demo, masto, "a private question", visibility="direct")
    with pytest.raises(InvalidInput, match="boost"):
        inbound_engage(inbound_id=direct.id, by=demo.dana, action="boost")


def test_a_channel_that_cannot_engage_is_refused(demo):
    from workflows.services.inbound import inbound_ingest

    msg, _ = inbound_ingest(by=demo.dana, channel="dpe-en", external_id="x1", author="A", text="Hello there")
    with pytest.raises(InvalidInput, match="cannot"):
        inbound_engage(inbound_id=msg.id, by=demo.dana, action="like")
