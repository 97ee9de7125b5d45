"""Changes to policy made in the admin land in the organisation's hash-chained policy trail."""
from __future__ import annotations

import json

import pytest

from workflows.models import AuditEvent, GuidelineRule, Lane
from workflows.services.audit import audit_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_demo(client, demo):
    client.force_login(demo.admin)
    return client


def _policy_events(org_id):
    return list(AuditEvent.objects.filter(chain=f"policy:{org_id}").order_by("seq"))


def test_changing_a_rule_in_the_admin_is_audited(admin_client_demo, demo):
    rule = GuidelineRule.objects.filter(lane=demo.lane("conversation"), kind="forbidden_terms").first()
    url = f"/admin/workflows/guidelinerule/{rule.id}/change/"
    response = admin_client_demo.post(url, {
        "lane": rule.lane_id, "kind": rule.kind, "severity": "warn", "enabled": "on",
        "params": json.dumps({"terms": {"en": ["stupid", "silly"], "fr": ["stupide"]}}),
    })
    assert response.status_code == 302, response.content[:500]
    rule.refresh_from_db()
    assert rule.severity == "warn"
    events = _policy_events(demo.dana.organisation_id)
    assert [e.verb for e in events] == ["policy_changed"]
    assert events[0].actor_id == demo.admin.id
    assert set(events[0].data["changed_fields"]) == {"severity", "params"}
    assert events[0].data["values"]["severity"] == "warn"
    assert audit_verify()[1] is None


def test_deleting_and_adding_policy_extend_one_chain(admin_client_demo, demo):
    lane = demo.lane("conversation")
    rule = GuidelineRule.objects.filter(lane=lane, kind="four_rules").first()
    response = admin_client_demo.post(f"/admin/workflows/guidelinerule/{rule.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    response = admin_client_demo.post("/admin/workflows/escalationrule/add/", {
        "lane": lane.id, "kind": "terms", "params": json.dumps({"terms": ["budget"]}), "reason": "Budget", "enabled": "on",
    })
    assert response.status_code == 302, response.content[:500]
    events = _policy_events(lane.organisation_id)
    assert [e.verb for e in events] == ["policy_deleted", "policy_created"]
    assert events[1].prev_hash == events[0].hash
    assert events[0].data["object_id"] == rule.id
    assert audit_verify()[1] is None


def test_other_organisations_have_their_own_chain(admin_client_demo, demo):
    other = Lane.objects.get(organisation__slug="other", slug="official")
    response = admin_client_demo.post(f"/admin/workflows/lane/{other.id}/change/", {
        "organisation": other.organisation_id, "slug": other.slug, "name_en": "Official (renamed)", "name_fr": "Officielle (renommée)", "kind": other.kind,
        "required_languages": json.dumps(other.required_languages), "response_sla": "",
        "spot_check_rate": "0.000", "partial_failure_policy": "hold",
        "steps-TOTAL_FORMS": "0", "steps-INITIAL_FORMS": "0",
        "guidelines-TOTAL_FORMS": "0", "guidelines-INITIAL_FORMS": "0",
        "escalations-TOTAL_FORMS": "0", "escalations-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content[:2000]
    assert [e.verb for e in _policy_events(other.organisation_id)] == ["policy_changed"]
    assert _policy_events(demo.dana.organisation_id) == []


def test_rules_added_inline_on_the_lane_page_are_audited(admin_client_demo, demo):
    lane = demo.lane("conversation")
    before = GuidelineRule.objects.filter(lane=lane).count()
    response = admin_client_demo.post(f"/admin/workflows/lane/{lane.id}/change/", {
        "organisation": lane.organisation_id, "slug": lane.slug, "name_en": lane.name_en, "name_fr": lane.name_fr, "kind": lane.kind,
        "required_languages": json.dumps(lane.required_languages), "response_sla": "01:00:00",
        "spot_check_rate": str(lane.spot_check_rate), "partial_failure_policy": lane.partial_failure_policy,
        "retrospective_team": lane.retrospective_team_id or "",
        "steps-TOTAL_FORMS": "0", "steps-INITIAL_FORMS": "0",
        "guidelines-TOTAL_FORMS": "1", "guidelines-INITIAL_FORMS": "0",
        "guidelines-0-lane": lane.id, "guidelines-0-id": "", "guidelines-0-kind": "length",
        "guidelines-0-params": json.dumps({"max": 280}), "guidelines-0-severity": "warn", "guidelines-0-enabled": "on",
        "escalations-TOTAL_FORMS": "0", "escalations-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content[:2000]
    assert GuidelineRule.objects.filter(lane=lane).count() == before + 1
    events = _policy_events(lane.organisation_id)
    created = [e for e in events if e.verb == "policy_created"]
    assert len(created) == 1
    assert created[0].data["model"] == "workflows.guidelinerule"
    assert created[0].data["values"]["params"] == {"max": 280}
