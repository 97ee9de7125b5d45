"""Every security-relevant change is an event in the organisation's `security:<org>` chain
(issue 9 §7): webhook subscriptions (API and admin), channel configuration (admin), channel
permission grants and revokes (services and guardian's admin), team membership, user flags,
tokens (command, admin, service). Who, what, before/after; never a secret. None of these wrote
an audit event before (checked: every test below fails on the old code at its first assert on
the security chain)."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import ApiToken, Team
from accounts.services import token_issue, token_revoke
from workflows.models import AuditEvent, Channel, WebhookSubscription
from workflows.services.audit import audit_checkpoint as audit_checkpoint_run
from workflows.services.audit import audit_context, audit_verify_report

pytestmark = pytest.mark.django_db


def security_events(org_id, since_id=0, verb_prefix=""):
    return list(AuditEvent.objects.filter(chain=f"security:{org_id}", id__gt=since_id,
                                          verb__startswith=verb_prefix).order_by("seq"))


def last_id():
    ev = AuditEvent.objects.order_by("-id").first()
    return ev.id if ev else 0


def _no_secret(events, *secrets):
    text = json.dumps([e.data for e in events])
    for secret in secrets:
        assert secret not in text


@pytest.fixture
def admin_client(client, demo):
    client.force_login(demo.admin)
    return client


# --- webhooks --------------------------------------------------------------------------------

def test_webhook_create_update_delete_through_the_api(demo):
    from rest_framework.test import APIClient

    assign_perm("workflows.manage_channel", demo.cora, demo.channel("dpe-en"))
    _, key = token_issue(user=demo.cora)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    org = demo.cora.organisation_id
    start = last_id()
    created = api.post("/api/v1/webhooks/", {"url": "https://hooks.example/parley", "secret": "first-secret-0123456",
                                             "events": ["post.published"]}, format="json")
    assert created.status_code == 201, created.content
    hook_id = created.json()["id"]
    assert api.patch(f"/api/v1/webhooks/{hook_id}/", {"url": "https://hooks.example/v2", "secret": "second-secret-98765"},
                     format="json").status_code == 200
    assert api.delete(f"/api/v1/webhooks/{hook_id}/").status_code == 204
    events = security_events(org, start, "webhook.")
    assert [e.verb for e in events] == ["webhook.created", "webhook.changed", "webhook.deleted"]
    assert {e.actor_id for e in events} == {demo.cora.id}
    assert events[0].data["after"]["url"] == "https://hooks.example/parley"
    assert events[0].data["after"]["events"] == ["post.published"]
    assert events[1].data["before"] == {"url": "https://hooks.example/parley", "secret": "[old]"}
    assert events[1].data["after"] == {"url": "https://hooks.example/v2", "secret": "[new]"}
    assert events[2].data["before"]["url"] == "https://hooks.example/v2"
    assert events[0].data["via"].startswith("POST /api/v1/webhooks/")
    _no_secret(events, "first-secret-0123456", "second-secret-98765")
    assert audit_verify_report().ok


def test_webhook_changes_in_the_admin(admin_client, demo):
    org = demo.dana.organisation_id
    start = last_id()
    response = admin_client.post("/admin/workflows/webhooksubscription/add/", {
        "organisation": org, "url": "https://hooks.example/admin", "secret": "admin-secret-abcdef12",
        "events": json.dumps([]), "is_active": "on", "created_by": "",
        "created_at_0": "2026-11-22", "created_at_1": "08:00:00",
    })
    assert response.status_code == 302, response.content[:1000]
    hook = WebhookSubscription.objects.get(url="https://hooks.example/admin")
    response = admin_client.post(f"/admin/workflows/webhooksubscription/{hook.id}/change/", {
        "organisation": org, "url": "https://hooks.example/admin", "secret": "admin-secret-changed-34",
        "events": json.dumps(["post.published"]), "created_by": "",
        "created_at_0": "2026-11-22", "created_at_1": "08:00:00",
    })
    assert response.status_code == 302, response.content[:1000]
    response = admin_client.post(f"/admin/workflows/webhooksubscription/{hook.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    events = security_events(org, start, "webhook.")
    assert [e.verb for e in events] == ["webhook.created", "webhook.changed", "webhook.deleted"]
    assert {e.actor_id for e in events} == {demo.admin.id}
    assert events[1].data["before"] == {"events": [], "is_active": True, "secret": "[old]"}
    assert events[1].data["after"] == {"events": ["post.published"], "is_active": False, "secret": "[new]"}
    _no_secret(events, "admin-secret-abcdef12", "admin-secret-changed-34")


# --- channel configuration ------------------------------------------------------------------

def test_channel_configuration_changed_in_the_admin(admin_client, demo):
    channel = demo.channel("dpe-en")
    start = last_id()
    response = admin_client.post(f"/admin/workflows/channel/{channel.id}/change/", {
        "organisation": channel.organisation_id, "slug": channel.slug, "name_en": channel.name_en, "name_fr": channel.name_fr,
        "platform": channel.platform, "handle": channel.handle, "languages": json.dumps(channel.languages),
        "adapter": "webhook",
        # Only schema keys are accepted now (workflows/channels/config.py): no inline secrets.
        "adapter_config": json.dumps({"url": "https://publish.example/x", "secret_env": "PARLEY_SECRET_X"}),
        "char_limit": 300, "is_active": "on",
    })
    assert response.status_code == 302, response.content[:2000]
    events = security_events(channel.organisation_id, start, "channel.")
    assert [e.verb for e in events] == ["channel.changed"]
    ev = events[0]
    assert ev.actor_id == demo.admin.id
    assert ev.data["target"]["slug"] == "dpe-en"
    assert ev.data["before"]["adapter"] == channel.adapter and ev.data["after"]["adapter"] == "webhook"
    assert ev.data["before"]["char_limit"] == channel.char_limit and ev.data["after"]["char_limit"] == 300
    assert ev.data["after"]["adapter_config"] == {"url": "https://publish.example/x", "secret_env": "PARLEY_SECRET_X"}


def test_channel_created_and_deleted(demo):
    start = last_id()
    with audit_context(actor=demo.admin):
        ch = Channel.objects.create(organisation_id=demo.dana.organisation_id, slug="tmp-ch", platform="x", handle="@tmp")
        ch.delete()
    events = security_events(demo.dana.organisation_id, start, "channel.")
    assert [e.verb for e in events] == ["channel.created", "channel.deleted"]
    assert events[1].data["before"]["handle"] == "@tmp"


# --- permission grants ----------------------------------------------------------------------

def test_channel_permission_grant_and_revoke_by_service(demo):
    channel = demo.channel("dpe-fr")
    team = Team.objects.get(organisation=channel.organisation, slug="managers")
    start = last_id()
    with audit_context(actor=demo.admin):
        assign_perm("workflows.manage_channel", demo.dana, channel)
        remove_perm("workflows.review_channel", team.group, channel)
    events = security_events(channel.organisation_id, start, "permission.")
    assert [e.verb for e in events] == ["permission.granted", "permission.revoked"]
    assert events[0].data["target"] == {"model": "workflows.channel", "id": channel.id, "slug": "dpe-fr",
                                        "permission": "manage_channel", "user": "dana", "user_id": demo.dana.id}
    assert events[1].data["target"]["team"] == "managers"
    assert events[1].data["target"]["permission"] == "review_channel"
    assert {e.actor_id for e in events} == {demo.admin.id}


def test_channel_permission_granted_in_guardians_admin(admin_client, demo):
    channel = demo.channel("dpe-en")
    start = last_id()
    url = f"/admin/workflows/channel/{channel.id}/permissions/user-manage/{demo.uma.id}/"
    response = admin_client.post(url, {"permissions": ["publish_urgent_channel"]})
    assert response.status_code == 302, response.content[:1000]
    events = security_events(channel.organisation_id, start, "permission.")
    assert [(e.verb, e.data["target"]["permission"], e.data["target"]["user"]) for e in events] == [
        ("permission.granted", "publish_urgent_channel", "uma")]
    assert events[0].actor_id == demo.admin.id


def test_global_permissions_and_user_flags(demo):
    from django.contrib.auth.models import Permission

    perm = Permission.objects.get(codename="change_channel")
    start = last_id()
    with audit_context(actor=demo.admin):
        demo.omar.user_permissions.add(perm)
        demo.omar.is_staff = True
        demo.omar.save()
    events = security_events(demo.omar.organisation_id, start)
    assert [e.verb for e in events] == ["permission.granted", "user.changed"]
    assert events[0].data["target"]["permission"] == "workflows.change_channel"
    assert events[1].data["before"] == {"is_staff": False} and events[1].data["after"] == {"is_staff": True}


def test_a_login_writes_no_security_event(client, demo):
    from django.conf import settings

    start = last_id()
    password = settings.DEMO_PASSWORD or "parley-demo"
    assert client.login(username="dana", password=password)
    assert security_events(demo.dana.organisation_id, start) == []


# --- team membership ------------------------------------------------------------------------

def test_team_membership_changed_in_the_user_admin(admin_client, demo):
    user = demo.tess
    team = Team.objects.get(organisation=user.organisation, slug="managers")
    assert not user.groups.filter(id=team.group_id).exists()
    start = last_id()
    before_groups = list(user.groups.values_list("id", flat=True))
    data = {
        "username": user.username, "first_name": user.first_name, "last_name": user.last_name,
        "email": user.email, "is_active": "on", "groups": [*before_groups, team.group_id],
        "organisation": user.organisation_id, "preferred_language": user.preferred_language,
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"), "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "initial-date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "initial-date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    response = admin_client.post(f"/admin/accounts/user/{user.id}/change/", data)
    assert response.status_code == 302, response.content[:3000]
    events = security_events(user.organisation_id, start, "team.")
    assert [(e.verb, e.data["target"]["team"], e.data["target"]["user"]) for e in events] == [
        ("team.member_added", "managers", "tess")]
    assert events[0].actor_id == demo.admin.id


def test_team_membership_from_either_side(demo):
    team = Team.objects.get(organisation=demo.dana.organisation, slug="managers")
    start = last_id()
    with audit_context(actor=demo.admin):
        team.group.user_set.add(demo.tess)
        demo.tess.groups.remove(team.group)
        team.group.user_set.add(demo.tess)
        team.group.user_set.clear()
    verbs = [(e.verb, e.data["target"]["user"]) for e in security_events(team.organisation_id, start, "team.")]
    assert verbs[:3] == [("team.member_added", "tess"), ("team.member_removed", "tess"), ("team.member_added", "tess")]
    removed = {u for v, u in verbs[3:] if v == "team.member_removed"}
    assert "tess" in removed and "rami" in removed  # clear() names every member it removed


# --- tokens ---------------------------------------------------------------------------------

def test_token_issue_and_revoke_by_command(demo):
    start = last_id()
    out = StringIO()
    call_command("issue_token", "dana", "--name", "ci", "--by", "admin", stdout=out)
    key = out.getvalue().strip()
    token = ApiToken.objects.get(prefix=key[:12])
    call_command("revoke_token", token.prefix, "--by", "admin", stdout=StringIO())
    events = security_events(demo.dana.organisation_id, start, "token.")
    assert [e.verb for e in events] == ["token.issued", "token.revoked"]
    assert {e.actor_id for e in events} == {demo.admin.id}
    assert events[0].data["target"] == {"model": "accounts.apitoken", "id": token.id, "prefix": token.prefix, "user": "dana"}
    assert events[0].data["via"] == "manage.py issue_token"
    assert events[1].data["before"] == {"revoked_at": None}
    _no_secret(events, key, token.key_hash)


def test_token_revoked_in_the_admin(admin_client, demo):
    token, _ = token_issue(user=demo.rami)
    start = last_id()
    response = admin_client.post("/admin/accounts/apitoken/", {
        "action": "revoke_tokens", "_selected_action": [token.id], "index": 0,
    })
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    events = security_events(demo.rami.organisation_id, start, "token.")
    assert [(e.verb, e.actor_id) for e in events] == [("token.revoked", demo.admin.id)]


def _post_token_form(admin_client, token, **fields):
    return admin_client.post(f"/admin/accounts/apitoken/{token.id}/change/", {
        "user": token.user_id, "name": token.name, **fields,
    })


def test_the_token_admin_cannot_reassign_a_token(admin_client, demo):
    """Fails on the old code: the user field was editable, the key moved to another account."""
    token, _ = token_issue(user=demo.rami, name="integration")
    start = last_id()
    response = _post_token_form(admin_client, token, user=demo.admin.id, name="renamed")
    assert response.status_code == 302, response.content[:2000]
    token.refresh_from_db()
    assert token.user_id == demo.rami.id
    assert token.name == "renamed"
    events = security_events(demo.rami.organisation_id, start, "token.")
    assert [(e.verb, e.data["before"], e.data["after"]) for e in events] == [
        ("token.changed", {"name": "integration"}, {"name": "renamed"})]
    page = admin_client.get(f"/admin/accounts/apitoken/{token.id}/change/").content.decode()
    assert 'name="user"' not in page


def test_the_token_admin_cannot_unrevoke_a_token(admin_client, demo):
    """Fails on the old code: clearing revoked_at on the change form brought the key back."""
    token, _ = token_issue(user=demo.rami, name="integration")
    token_revoke(token_id=token.id)
    token.refresh_from_db()
    revoked_at = token.revoked_at
    response = _post_token_form(admin_client, token, revoked_at_0="", revoked_at_1="")
    assert response.status_code == 302, response.content[:2000]
    token.refresh_from_db()
    assert token.revoked_at == revoked_at
    page = admin_client.get(f"/admin/accounts/apitoken/{token.id}/change/").content.decode()
    assert 'name="revoked_at_0"' not in page


def test_revocation_is_one_way_in_the_service(demo):
    token, _ = token_issue(user=demo.rami)
    assert token_revoke(token_id=token.id) is True
    assert token_revoke(token_id=token.id) is False
    assert [e.verb for e in security_events(demo.rami.organisation_id, verb_prefix="token.")
            if e.data["target"]["id"] == token.id] == ["token.issued", "token.revoked"]


def test_the_security_chain_is_anchored_and_verifies(demo):
    with audit_context(actor=demo.admin):
        assign_perm("workflows.manage_channel", demo.dana, demo.channel("dpe-en"))
    chain = f"security:{demo.dana.organisation_id}"
    from workflows.models import AuditChainHead

    head = AuditChainHead.objects.get(chain=chain)
    last = AuditEvent.objects.filter(chain=chain).order_by("-seq").first()
    assert (head.seq, head.head) == (last.seq, last.hash)
    assert audit_verify_report().ok


def test_a_token_issued_during_a_request_names_the_requests_user(rf, demo):
    """A service called without `by` inside a request keeps the request's user as the actor."""
    request = rf.post("/admin/accounts/apitoken/")
    request.user = demo.admin
    start = last_id()
    with audit_context(request=request, via="POST /admin/accounts/apitoken/"):
        token_issue(user=demo.dana)
    events = security_events(demo.dana.organisation_id, start, "token.")
    assert [(e.verb, e.actor_id, e.data["via"]) for e in events] == [
        ("token.issued", demo.admin.id, "POST /admin/accounts/apitoken/")]


def test_audit_admin_pages_are_read_only(admin_client, demo):
    audit_checkpoint_run()
    for url in ("/admin/workflows/auditevent/", "/admin/workflows/auditchainhead/", "/admin/workflows/auditcheckpoint/"):
        assert admin_client.get(url).status_code == 200
    assert admin_client.get("/admin/workflows/auditcheckpoint/add/").status_code == 403


def test_credentials_inside_urls_are_not_recorded(demo):
    start = last_id()
    with audit_context(actor=demo.admin):
        hook = WebhookSubscription.objects.create(
            organisation_id=demo.dana.organisation_id, secret="x" * 20,
            url="https://bob:hunter2-password@hooks.example:8443/in?token=tok-secret-123&v=1")
        ch = demo.channel("dpe-fr")
        ch.adapter_config = {"lookup_url": "https://u:p4ss-word@api.example/look?key=k3y-value"}
        ch.save()
    events = security_events(demo.dana.organisation_id, start)
    assert events[0].data["after"]["url"] == "https://[redacted]@hooks.example:8443/in?token=[redacted]&v=[redacted]"
    assert events[1].data["after"]["adapter_config"]["lookup_url"] == "https://[redacted]@api.example/look?key=[redacted]"
    _no_secret(events, "hunter2-password", "tok-secret-123", "p4ss-word", "k3y-value")
    assert hook.url.endswith("v=1")  # only the record is masked


def test_a_team_pointed_at_another_group_is_recorded(demo):
    from django.contrib.auth.models import Group

    team = Team.objects.get(organisation=demo.dana.organisation, slug="managers")
    other = Group.objects.create(name="dpe:shadow")
    start = last_id()
    with audit_context(actor=demo.admin):
        old_group = team.group_id
        team.group = other
        team.save()
    events = security_events(team.organisation_id, start, "team.")
    assert [(e.verb, e.data["before"], e.data["after"]) for e in events] == [
        ("team.changed", {"group_id": old_group}, {"group_id": other.id})]
