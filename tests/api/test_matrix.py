"""Authorization matrix generated from the URL conf.

Every /api/v1/ endpoint (method × route) found by walking django.urls.get_resolver() must have a
row in EXPECTED; each row says, for every demo user and anonymous, which status they get on an
object of their own organisation ("own": the dpe organisation's) and of another ("other": omar's
agency). Objects are reached through the real services."""
from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from workflows.models import WebhookSubscription

from .conftest import PROBLEM

pytestmark = pytest.mark.django_db

USERS = ("dana", "rami", "tess", "cora", "uma", "omar", None)
DPE = ("dana", "rami", "tess", "cora", "uma")
METHODS = ("get", "post", "put", "patch", "delete")


def _route(prefix: str, pattern) -> str:
    text = str(pattern.pattern).lstrip("^").rstrip("$").replace("\\", "")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)
    text = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text)
    return prefix + text


def api_endpoints() -> set[tuple[str, str]]:
    """{(METHOD, "/api/v1/.../{pk}/...")} for every API v1 URL pattern and handled method."""
    found: set[tuple[str, str]] = set()

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, _route(prefix, p))
            elif isinstance(p, URLPattern):
                route = "/" + _route(prefix, p)
                if not route.startswith("/api/v1/"):
                    continue
                callback = p.callback
                actions = getattr(callback, "actions", None)
                if actions:
                    methods = [m for m in actions if m in METHODS]
                else:
                    view = callback.view_class
                    methods = [m for m in METHODS if hasattr(view, m)]
                for m in methods:
                    found.add((m.upper(), route))

    walk(get_resolver().url_patterns, "")
    return found


def _statuses(default: int, anon: int = 401, **overrides) -> dict:
    table = {u: default for u in USERS}
    table[None] = anon
    table.update(overrides)
    return table


ALL_200 = _statuses(200)
OWN_DPE_200 = _statuses(200, omar=404)            # a dpe object: everyone in dpe sees it
OTHER_OMAR_200 = _statuses(404, omar=200)         # omar's object: only omar sees it


# --- setups: (flow, which) -> (path values, body)

def s_none(flow, which):
    return {}, None


def s_none_body(flow, which):
    return {}, {}


def s_create_body(flow, which):
    chans = ["dpe-en", "dpe-fr"] if which == "own" else ["other-en"]
    return {}, {"channels": chans, "kind": "post", "lane": "official",
                "texts": {"en": "Offices reopen Monday."}, "rules_acknowledged": True}


def s_draft(flow, which):
    post = flow.draft("dana") if which == "own" else flow.other_draft()
    return {"pk": post.id}, {}


def s_edit(flow, which):
    ids, _ = s_draft(flow, which)
    return ids, {"texts": {"en": "Offices reopen on Tuesday."}}


def s_in_review(flow, which):
    post = flow.in_review("dana") if which == "own" else flow.other_draft()
    return {"pk": post.id}, {"comment": "Looks fine."}


def s_in_review_bilingual(flow, which):
    if which == "own":
        post = flow.in_review("dana", texts={"en": "Offices reopen Monday.", "fr": "Réouverture lundi."})
    else:
        post = flow.other_draft()
    return {"pk": post.id}, {"reason": "Storm warning."}


def s_translation(flow, which):
    post = flow.at_translation() if which == "own" else flow.other_draft()
    return {"pk": post.id, "lang": "fr"}, {"text": "Nos bureaux rouvrent lundi."}


def s_failed(flow, which):
    post = flow.failed() if which == "own" else flow.other_draft()
    return {"pk": post.id}, {}


def s_unknown(flow, which):
    pub = flow.unknown(which)[0]
    return {"pk": pub.id}, {"sent": True, "url": "https://social.example/p/1"}


def s_published(flow, which):
    """A published post (retract): dpe's official post, or omar's draft (nothing live)."""
    if which != "own":
        return {"pk": flow.other_draft().id}, {}
    from workflows.models import Channel
    from workflows.services import delivery

    post = flow.approved()
    Channel.objects.filter(posts=post.id).update(adapter="log", adapter_config={})
    assert delivery.post_deliver(post_id=post.id) == "published"
    return {"pk": post.id}, {}


def s_channel(flow, which):
    from workflows.models import Channel

    return {"pk": Channel.objects.get(slug="dpe-en" if which == "own" else "other-en").id}, {}


def s_inbound_body(flow, which):
    return {}, {"channel": "dpe-en" if which == "own" else "other-en", "external_id": "ext-1",
                "author": "@citizen", "text": "When does the office open?"}


def s_inbound(flow, which):
    msg = flow.inbound() if which == "own" else flow.inbound(channel="other-en", by="omar")
    return {"pk": msg.id}, {}


def s_inbound_engage(flow, which):
    ids, _ = s_inbound(flow, which)
    return ids, {"action": "like"}


def s_inbound_dismiss(flow, which):
    ids, _ = s_inbound(flow, which)
    return ids, {"reason": "spam", "comment": "Advertising."}


def s_review(flow, which):
    """own: the retrospective review of dana's post that uma published urgently (communications
    team: cora); other: the spot-check of a reply omar published in his agency (his own: 403)."""
    from workflows.models import PostReview
    from workflows.services import delivery, posts, publishing, reviews

    if which == "own":
        post = flow.in_review("dana", texts={"en": "Offices reopen Monday.", "fr": "Réouverture lundi."})
        posts.post_publish_urgent(post_id=post.id, by=flow.demo.uma, reason="Storm warning.")
        return {"pk": PostReview.objects.get(post=post).id}, {"verdict": "fine"}
    msg = flow.inbound(channel="other-en", by="omar")
    reply = posts.post_create(author=flow.demo.omar, kind="reply", in_reply_to=msg.id, rules_acknowledged=True,
                              texts={"en": "The office opens at 9:00 on weekdays."})
    posts.post_submit(post_id=reply.id, by=flow.demo.omar)
    publishing.post_publish_start(post_id=reply.id)
    delivery.post_deliver(post_id=reply.id)
    delivery.post_settle(post_id=reply.id)
    return {"pk": reviews.review_open_spot_check(post_id=reply.id).id}, {"verdict": "fine"}


def s_webhook_body(flow, which):
    return {}, {"url": "https://hooks.example/parley", "secret": "s3cret-s3cret-s3cret"}


def s_webhook(flow, which):
    org = flow.demo.dana.organisation if which == "own" else flow.demo.omar.organisation
    hook = WebhookSubscription.objects.create(organisation=org, url="https://hooks.example/x", secret="x" * 20)
    return {"pk": hook.id}, {"is_active": False}


def s_period_body(flow, which):
    return {}, {"name_en": "Election", "name_fr": "Élection", "starts_at": "2030-01-01T00:00:00Z",
                "ends_at": "2030-02-01T00:00:00Z"}


def s_period(flow, which):
    from datetime import UTC, datetime

    from workflows.models import CaretakerPeriod

    org = flow.demo.dana.organisation if which == "own" else flow.demo.omar.organisation
    period = CaretakerPeriod.objects.create(organisation=org, name_en="Election", name_fr="Élection",
                                            starts_at=datetime(2030, 1, 1, tzinfo=UTC), ends_at=datetime(2030, 2, 1, tzinfo=UTC))
    return {"pk": period.id}, {}


def s_signature(flow, which):
    return {}, {"signature_en": "– Parley team"}


def s_export(flow, which, build=False):
    """An ATIP export requested by cora (dpe's communications team holds export_records), or
    by omar (given the permission for the occasion) in his agency."""
    from django.contrib.auth.models import Permission

    from workflows.services import atip

    if which == "own":
        by = flow.demo.cora
    else:
        by = flow.demo.omar
        by.user_permissions.add(Permission.objects.get(codename="export_records"))
        by = type(by).objects.get(id=by.id)
    export = atip.atip_export_request(by=by)
    if build:
        atip.atip_export_build(export_id=export.id)
    return {"pk": export.id}, None


def s_export_built(flow, which):
    return s_export(flow, which, build=True)
def s_medium(flow, which):
    """own: an image dana uploaded; other: one omar uploaded in his agency."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from workflows.services import media

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buf, "PNG")
    by = flow.demo.dana if which == "own" else flow.demo.omar
    medium = media.medium_upload(by=by, upload=SimpleUploadedFile("chart.png", buf.getvalue()))
    return {"pk": medium.id}, None


def s_invite_body(flow, which):
    post = flow.in_review("dana") if which == "own" else flow.other_draft()
    return {"pk": post.id}, {"email": "legal@firm.example", "languages": ["en"]}


def s_invitation(flow, which):
    """own: rami's invitation on dana's post in review; other: one on omar's post (written
    directly: his agency's posts in these tests are drafts)."""
    from datetime import timedelta

    from django.utils import timezone

    from workflows.models import LaneStep, OutsideInvitation
    from workflows.services import outside_review

    if which == "own":
        post = flow.in_review("dana")
        inv, _ = outside_review.invitation_create(post_id=post.id, by=flow.demo.rami, email="legal@firm.example",
                                                  languages=["en"])
        return {"pk": inv.id}, {}
    post = flow.other_draft()
    inv = OutsideInvitation.objects.create(
        organisation_id=post.organisation_id, post=post, step=LaneStep.objects.filter(lane__organisation_id=post.organisation_id).first(), email="x@firm.example",
        actor=flow.demo.omar, languages=["en"], token_hash="0" * 64, created_by=flow.demo.omar,
        expires_at=timezone.now() + timedelta(hours=1))
    return {"pk": inv.id}, {}


def s_post_invitations(flow, which):
    ids, _ = s_invitation(flow, which)
    from workflows.models import OutsideInvitation

    return {"pk": OutsideInvitation.objects.get(id=ids["pk"]).post_id}, {}


POSTS = "/api/v1/posts/"
P = "/api/v1/posts/{pk}/"
# omar's object is a draft (see Flow.other_draft): only its 404s for everyone else matter here.
REVIEW_AS_MANAGER = {"own": _statuses(403, rami=200, omar=404), "other": _statuses(404, omar=409)}

#: (METHOD, route) -> (setup, {"own": {user: status}, "other": {user: status}})
EXPECTED = {
    ("GET", "/api/v1/me/"): (s_none, {"own": ALL_200}),
    ("PATCH", "/api/v1/me/"): (s_signature, {"own": ALL_200}),
    # Caretaker periods: everyone sees their organisation's; only communications (cora) declares or ends them.
    ("GET", "/api/v1/caretaker-periods/"): (s_period, {"own": ALL_200, "other": ALL_200}),
    ("POST", "/api/v1/caretaker-periods/"): (s_period_body, {"own": _statuses(403, cora=201)}),
    ("GET", "/api/v1/caretaker-periods/{pk}/"): (s_period, {"own": OWN_DPE_200, "other": OTHER_OMAR_200}),
    ("POST", "/api/v1/caretaker-periods/{pk}/cancel/"): (s_period, {
        "own": _statuses(403, cora=200, omar=404), "other": _statuses(404, omar=403),
    }),
    # ATIP exports: only those holding workflows.export_records request them (cora); an export is
    # seen and downloaded by whoever asked for it, nobody else (not even their colleagues).
    ("GET", "/api/v1/exports/"): (s_none, {"own": ALL_200}),
    ("POST", "/api/v1/exports/"): (s_none_body, {"own": _statuses(403, cora=202)}),
    ("GET", "/api/v1/exports/{pk}/"): (s_export, {"own": _statuses(404, cora=200), "other": _statuses(404, omar=200)}),
    ("GET", "/api/v1/exports/{pk}/download/"): (s_export_built, {
        "own": _statuses(404, cora=200), "other": _statuses(404, omar=200),
    }),
    # Outside approvers: managers and communications (rami, cora; omar in his agency) invite and
    # revoke; everyone in the organisation sees a post's invitations.
    ("GET", P + "invitations/"): (s_post_invitations, {"own": OWN_DPE_200, "other": OTHER_OMAR_200}),
    ("POST", P + "invitations/"): (s_invite_body, {
        "own": _statuses(403, rami=201, cora=201, omar=404),
        "other": _statuses(403, rami=404, cora=404, omar=409),  # omar's draft is at no step
    }),
    ("GET", "/api/v1/invitations/{pk}/"): (s_invitation, {"own": OWN_DPE_200, "other": OTHER_OMAR_200}),
    ("POST", "/api/v1/invitations/{pk}/revoke/"): (s_invitation, {
        "own": _statuses(403, rami=200, cora=200, omar=404), "other": _statuses(404, omar=200),
    }),
    # Media (issue 22): authors upload (the permission is asked before the file is read: a
    # request without a file is 400 for them, 403 for the others); a medium is seen by the staff
    # of its organisation and unknown elsewhere.
    ("POST", "/api/v1/media/"): (s_none, {"own": _statuses(403, dana=400, uma=400, omar=400)}),
    ("GET", "/api/v1/media/{pk}/"): (s_medium, {"own": OWN_DPE_200, "other": OTHER_OMAR_200}),
    ("GET", "/api/v1/media/{pk}/file/"): (s_medium, {"own": OWN_DPE_200, "other": OTHER_OMAR_200}),
    ("GET", "/api/v1/media/{pk}/thumbnail/"): (s_medium, {"own": OWN_DPE_200, "other": OTHER_OMAR_200}),
    ("GET", "/api/v1/channels/"): (s_none, {"own": ALL_200}),
    ("GET", "/api/v1/lanes/"): (s_none, {"own": ALL_200}),
    ("GET", "/api/v1/queue/"): (s_none, {"own": ALL_200}),
    ("GET", "/api/v1/metrics/"): (s_none, {"own": ALL_200}),
    # Lists: everyone gets 200, and the object appears only for its own organisation (checked below).
    ("GET", "/api/v1/inbound/"): (s_inbound, {"own": ALL_200, "other": ALL_200}),
    ("GET", POSTS): (s_draft, {"own": ALL_200, "other": ALL_200}),
    # Only authors (draft permission) create; another organisation's channel is unknown (400).
    ("POST", POSTS): (s_create_body, {
        "own": _statuses(403, dana=201, uma=201, omar=400),
        "other": _statuses(400, omar=201),
    }),
    ("GET", P): (s_draft, {"own": OWN_DPE_200, "other": OTHER_OMAR_200}),
    ("PATCH", P): (s_edit, {
        "own": _statuses(403, dana=200, uma=200, omar=404), "other": OTHER_OMAR_200,
    }),
    ("GET", P + "history/"): (s_draft, {"own": OWN_DPE_200, "other": OTHER_OMAR_200}),
    ("PUT", P + "translations/{lang}/"): (s_translation, {
        "own": _statuses(403, tess=200, omar=404),
        "other": _statuses(404, omar=409),  # a draft is at no step
    }),
    ("POST", P + "submit/"): (s_draft, {
        "own": _statuses(403, dana=200, uma=200, omar=404), "other": OTHER_OMAR_200,
    }),
    ("POST", P + "approve/"): (s_in_review, REVIEW_AS_MANAGER),
    ("POST", P + "request-changes/"): (s_in_review, REVIEW_AS_MANAGER),
    ("POST", P + "reject/"): (s_in_review, REVIEW_AS_MANAGER),
    ("POST", P + "withdraw/"): (s_draft, {
        "own": _statuses(403, dana=200, omar=404), "other": OTHER_OMAR_200,
    }),
    ("POST", P + "publish-urgent/"): (s_in_review_bilingual, {
        "own": _statuses(403, uma=200, omar=404),
        "other": _statuses(404, omar=403),  # the conversation lane does not allow urgent publishing
    }),
    ("POST", P + "retry/"): (s_failed, {
        "own": _statuses(403, dana=200, cora=200, omar=404),
        "other": _statuses(404, omar=409),  # a draft: nothing to retry
    }),
    # Retracting what was published needs the publish permission (cora); omar's draft has nothing live.
    ("POST", P + "retract/"): (s_published, {
        "own": _statuses(403, cora=200, omar=404),
        "other": _statuses(404, omar=409),
    }),
    # Test connection needs the manage permission on the channel (none of these demo users).
    ("POST", "/api/v1/channels/{pk}/test/"): (s_channel, {
        "own": _statuses(403, omar=404), "other": _statuses(404, omar=403),
    }),
    # Settling an unknown outcome needs the publish permission (cora; omar in his agency).
    ("POST", "/api/v1/publications/{pk}/resolve/"): (s_unknown, {
        "own": _statuses(403, cora=200, omar=404), "other": _statuses(404, omar=200),
    }),
    ("POST", "/api/v1/inbound/"): (s_inbound_body, {
        "own": _statuses(403, dana=201, uma=201, omar=400), "other": _statuses(400, omar=201),
    }),
    ("POST", "/api/v1/inbound/{pk}/claim/"): (s_inbound, {
        "own": _statuses(403, dana=200, uma=200, omar=404), "other": OTHER_OMAR_200,
    }),
    # Engaging needs the reply permission; the demo's channels (log adapter) cannot like or boost: 400.
    ("POST", "/api/v1/inbound/{pk}/engage/"): (s_inbound_engage, {
        "own": _statuses(403, dana=400, uma=400, omar=404), "other": _statuses(404, omar=400),
    }),
    ("POST", "/api/v1/inbound/{pk}/dismiss/"): (s_inbound_dismiss, {
        "own": _statuses(403, dana=200, uma=200, omar=404), "other": OTHER_OMAR_200,
    }),
    # The review's team only (communications: cora), never whoever broke the glass or the author.
    ("POST", "/api/v1/reviews/{pk}/complete/"): (s_review, {
        "own": _statuses(403, cora=200, omar=404), "other": _statuses(404, omar=403),
    }),
    # Webhooks: only channel managers (none among these demo users) or superusers.
    ("GET", "/api/v1/webhooks/"): (s_none, {"own": _statuses(403)}),
    ("POST", "/api/v1/webhooks/"): (s_webhook_body, {"own": _statuses(403)}),
    ("GET", "/api/v1/webhooks/{pk}/"): (s_webhook, {"own": _statuses(403, omar=404), "other": _statuses(404, omar=403)}),
    ("PATCH", "/api/v1/webhooks/{pk}/"): (s_webhook, {"own": _statuses(403, omar=404), "other": _statuses(404, omar=403)}),
    ("DELETE", "/api/v1/webhooks/{pk}/"): (s_webhook, {"own": _statuses(403, omar=404), "other": _statuses(404, omar=403)}),
}


def test_every_api_endpoint_in_the_url_conf_is_in_the_table():
    endpoints = api_endpoints()
    assert len(endpoints) >= 20, endpoints
    missing = sorted(endpoints - set(EXPECTED))
    assert not missing, f"endpoints without a row in the authorization matrix: {missing}"
    stale = sorted(set(EXPECTED) - endpoints)
    assert not stale, f"rows for endpoints that no longer exist: {stale}"


def _cells():
    for (method, route), (setup, tables) in sorted(EXPECTED.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        for which, table in tables.items():
            assert set(table) == set(USERS), (method, route, which)
            for user in USERS:
                yield pytest.param(method, route, which, user, table[user],
                                   id=f"{method} {route} {which} {user or 'anonymous'}")


@pytest.mark.parametrize(("method", "route", "which", "user", "expected"), list(_cells()))
def test_authorization_matrix(client_for, flow, method, route, which, user, expected):
    setup, _ = EXPECTED[(method, route)]
    values, body = setup(flow, which)
    url = route.format(**values)
    client = client_for(user)
    response = getattr(client, method.lower())(url, body, format="json") if body is not None else getattr(client, method.lower())(url)
    assert response.status_code == expected, (response.status_code, response.content[:400])
    if "{pk}" not in route and "pk" in values and method == "GET" and expected == 200:
        listed = {item["id"] for item in response.json()["results"]}
        same_org = user is not None and (user == "omar") == (which == "other")
        assert (values["pk"] in listed) == same_org, (user, which, listed)
    if expected >= 400:
        assert response["Content-Type"].startswith(PROBLEM)
        assert response.json()["status"] == expected
