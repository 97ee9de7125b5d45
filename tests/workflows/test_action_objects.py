"""The contract of workflows/actions.py, for every action object an edge runs: `execute()` checks
before it does the work (issue 23, "One way to run an action").

For each object (found in the module, so a new one without a case here fails the first test):
- run as someone of the organisation who holds no permission (no team, no channel or model
  permission; for the outside link, a revoked link), on a real row in the state where a permitted
  person would succeed: the rule's refusal is raised, and nothing changed — no row's state, no
  audit event, no outbox event, no new row;
- run as a permitted person with the object's own rule made to refuse: that refusal is raised
  and nothing changed, so the path to the work goes through this object's check (not only
  through some other check that happens to refuse)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
import requests

from accounts.models import User
from tests.workflows import factories as f
from workflows import actions
from workflows.exceptions import Gone, NotPermitted, WorkflowError
from workflows.models import (
    AuditEvent,
    Channel,
    Decision,
    Engagement,
    InboundMessage,
    OutboxEvent,
    OutsideInvitation,
    Post,
    PostReview,
    PostText,
    Publication,
    ReplyDelivery,
)
from workflows.services import delivery, engagement, publishing, reviews
from workflows.services.outside_review import token_hash

pytestmark = pytest.mark.django_db

BOTH = {"en": f.EN, "fr": f.FR}
OBJECTS = {name: obj for name, obj in vars(actions).items() if isinstance(obj, actions.WorkflowAction)}


@pytest.fixture
def nobody(demo) -> User:
    """Of the demo organisation, signed in, on no team, holding no permission."""
    return User.objects.create(username="nobody", organisation=demo.dana.organisation, first_name="Nobody")


def _inbound(demo, ext: str = "objects-1") -> InboundMessage:
    msg, _ = actions.INGEST.execute(by=demo.dana, channel="dpe-en", external_id=ext, author="@citizen",
                                    text="Is the office open on Saturday?", language="en")
    return msg


def _published_reply(demo) -> Post:
    msg = _inbound(demo, "objects-published")
    post = actions.REPLY.execute(inbound_id=msg.id, by=demo.dana, text="Yes: from 9 to noon.", language="en",
                                 rules_acknowledged=True)
    publishing.post_publish_start(post_id=post.id)
    delivery.post_deliver(post_id=post.id)
    delivery.post_settle(post_id=post.id)
    post.refresh_from_db()
    assert post.state == "published", post.state
    return post


def _open_review(demo) -> PostReview:
    post = _published_reply(demo)
    review = reviews.review_open_spot_check(post_id=post.id)
    assert review is not None
    return review


def _phone_delivery(demo) -> ReplyDelivery:
    msg = actions.LOG_MANUAL.execute(by=demo.dana, channel="dpe-fr", medium="phone", author="Mme Tremblay",
                                     contact="613-555-0199", text="Le bureau est-il ouvert samedi?", language="fr")
    post = actions.REPLY.execute(inbound_id=msg.id, by=demo.dana, text="Oui, de 9 h à midi.", language="fr",
                                 rules_acknowledged=True)
    return ReplyDelivery.objects.get(post=post.id, status="pending")


def _invitation(demo) -> tuple[OutsideInvitation, str]:
    post = f.at_review(demo, texts=BOTH)
    return actions.INVITE.execute(post_id=post.id, by=demo.rami, email="counsel@justice.example", languages=["en"])


def _unknown_publication(demo) -> Publication:
    """A publication whose outcome is unknown, through the real delivery path: the webhook
    adapter's request times out after it may have been sent (as tests/api/conftest.py does)."""
    post = f.approved(demo, texts=BOTH)
    publishing.post_publish_start(post_id=post.id)
    Channel.objects.filter(posts=post.id).update(adapter="webhook", adapter_config={"url": "http://127.0.0.1:9/publish"})
    with mock.patch.object(requests.Session, "request", side_effect=requests.ReadTimeout("answer lost")):
        delivery.post_deliver(post_id=post.id)
    return Publication.objects.filter(post=post.id, status="unknown").first()


def _engageable(demo) -> dict:
    """A message on a channel whose platform can like (the demo's accounts cannot: made to)."""
    msg = _inbound(demo, "objects-engage")
    patcher = mock.patch.object(engagement, "can_engage", return_value=True)
    patcher.start()
    _cleanups.append(patcher.stop)
    return {"inbound_id": msg.id, "action": "like"}


_cleanups: list[Callable[[], None]] = []


@pytest.fixture(autouse=True)
def _undo_patches():
    yield
    while _cleanups:
        _cleanups.pop()()


@dataclass
class Case:
    """How to run one object: `make(demo)` builds the row and returns the keywords (besides the
    actor); `allowed` names the demo person who may do it there; `refused` the code someone
    without permission meets (`error`: its kind)."""

    make: Callable[[Any], dict]
    allowed: str
    refused: str = "channel_permission"
    error: type[WorkflowError] = NotPermitted


def _draft(demo):
    return {"post_id": f.official_draft(demo, texts=BOTH).id}


def _in_review(demo):
    return {"post_id": f.at_review(demo, texts=BOTH).id}


CASES: dict[str, Case] = {
    "CREATE": Case(lambda demo: {"channels": ["dpe-en", "dpe-fr"], "kind": "post", "texts": BOTH,
                                 "rules_acknowledged": True}, "dana"),
    "CREATE_AND_SUBMIT": Case(lambda demo: {"channels": ["dpe-en", "dpe-fr"], "kind": "post", "texts": BOTH,
                                            "rules_acknowledged": True}, "dana"),
    "EDIT": Case(lambda demo: {**_draft(demo), "texts": {"en": f.EN + " Edited."}}, "dana"),
    "SUBMIT": Case(_draft, "dana"),
    "EDIT_AND_SUBMIT": Case(lambda demo: {**_draft(demo), "texts": {"en": f.EN + " Edited."}}, "dana"),
    "WITHDRAW": Case(_in_review, "dana"),
    "PUBLISH_URGENT": Case(lambda demo: {**_draft(demo), "reason": "The water is unsafe."}, "uma"),
    "APPROVE": Case(_in_review, "rami", refused="not_on_team"),
    "REQUEST_CHANGES": Case(lambda demo: {**_in_review(demo), "comment": "Shorter."}, "rami", refused="not_on_team"),
    "REJECT": Case(lambda demo: {**_in_review(demo), "comment": "Not ours to say."}, "rami", refused="not_on_team"),
    "TRANSLATE": Case(lambda demo: {"post_id": f.at_translation(demo, texts={"en": f.EN}).id, "language": "fr",
                                    "text": f.FR}, "tess", refused="not_on_team"),
    "COMPLETE_REVIEW": Case(lambda demo: {"review_id": _open_review(demo).id, "verdict": "fine"}, "cora",
                            refused="not_review_team"),
    "RETRY": Case(lambda demo: {"post_id": f.failed(demo, texts=BOTH).id}, "dana"),
    "RESOLVE": Case(lambda demo: {"publication_id": _unknown_publication(demo).id, "sent": False}, "cora"),
    "RETRACT": Case(lambda demo: {"post_id": f.published(demo, texts=BOTH).id}, "cora"),
    "INGEST": Case(lambda demo: {"channel": "dpe-en", "external_id": "objects-new", "author": "@citizen",
                                 "text": "Hello?", "language": "en"}, "dana"),
    "LOG_MANUAL": Case(lambda demo: {"channel": "dpe-fr", "medium": "phone", "author": "M. Roy",
                                     "contact": "613-555-0100", "text": "Bonjour?", "language": "fr"}, "dana"),
    "CLAIM": Case(lambda demo: {"inbound_id": _inbound(demo).id}, "dana"),
    "DISMISS": Case(lambda demo: {"inbound_id": _inbound(demo).id, "reason": "spam"}, "dana"),
    "REPLY": Case(lambda demo: {"inbound_id": _inbound(demo).id, "text": "Yes, from 9.", "language": "en",
                                "rules_acknowledged": True}, "dana"),
    "ENGAGE": Case(_engageable, "dana"),
    "CALLBACK_DONE": Case(lambda demo: {"delivery_id": _phone_delivery(demo).id}, "dana"),
    "INVITE": Case(lambda demo: {**_in_review(demo), "email": "counsel@justice.example", "languages": ["en"]},
                   "rami", refused="outside.not_permitted"),
    "REVOKE_INVITATION": Case(lambda demo: {"invitation_id": _invitation(demo)[0].id}, "rami",
                              refused="outside.not_permitted"),
    # The link is the credential: an open one is the permitted caller, a revoked one has none.
    "OUTSIDE_DECIDE": Case(lambda demo: {"token": _invitation(demo)[1], "verdict": "approve"}, "link",
                           refused="outside.link_revoked", error=Gone),
}


def _everything() -> tuple:
    """What an action may change: every row's state and the audit trail, the outbox, the rows
    an action creates."""
    return (
        sorted(Post.objects.values_list("id", "state", "version", "revision", "audit_seq", "current_step_id")),
        PostText.objects.count(), Decision.objects.count(), AuditEvent.objects.count(), OutboxEvent.objects.count(),
        sorted(InboundMessage.objects.values_list("id", "status", "assignee_id", "audit_seq")),
        sorted(Publication.objects.values_list("id", "status")),
        sorted(PostReview.objects.values_list("id", "status")),
        sorted(OutsideInvitation.objects.values_list("id", "used_at", "revoked_at")),
        sorted(ReplyDelivery.objects.values_list("id", "status")),
        Engagement.objects.count(),
    )


def _run(obj: actions.WorkflowAction, kwargs: dict, user: User | None) -> Any:
    if obj.actor == "token":
        return obj.execute(**kwargs)  # the token in kwargs is who acts
    return obj.execute(**{obj.actor: user}, **kwargs)


def test_every_action_object_has_a_case_and_names_its_keywords():
    assert set(OBJECTS) == set(CASES), "a new action object needs its case here"
    assert set(OBJECTS.values()) == set(actions.OBJECTS)
    assert set(actions.ACTIONS) == {obj.name for obj in actions.OBJECTS}


@pytest.mark.parametrize("name", sorted(CASES))
def test_someone_without_permission_is_refused_and_nothing_changes(demo, nobody, name):
    obj, case = OBJECTS[name], CASES[name]
    kwargs = case.make(demo)
    if name == "OUTSIDE_DECIDE":
        inv = OutsideInvitation.objects.get(token_hash=token_hash(kwargs["token"]))
        actions.REVOKE_INVITATION.execute(invitation_id=inv.id, by=demo.rami)
    before = _everything()
    with pytest.raises(case.error) as refused:
        _run(obj, kwargs, nobody)
    assert refused.value.code == case.refused, (refused.value.code, refused.value.params)
    assert _everything() == before


class _Checked(Exception):
    """The object's own rule, made to refuse."""


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_work_waits_on_the_objects_own_check(demo, monkeypatch, name):
    obj, case = OBJECTS[name], CASES[name]
    kwargs = case.make(demo)
    asked = []

    def refuse(user, target, **_kw):
        asked.append((user.id, target))
        raise _Checked

    monkeypatch.setattr(obj.rule, "ensure", refuse)
    before = _everything()
    with pytest.raises(_Checked):
        _run(obj, kwargs, None if case.allowed == "link" else getattr(demo, case.allowed))
    assert _everything() == before
    assert len(asked) == 1  # asked once, under the lock


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_permitted_person_succeeds(demo, name):
    """The cases above are not refused for another reason: the same call by the permitted
    person does the work."""
    obj, case = OBJECTS[name], CASES[name]
    kwargs = case.make(demo)
    before = _everything()
    _run(obj, kwargs, None if case.allowed == "link" else getattr(demo, case.allowed))
    assert _everything() != before
