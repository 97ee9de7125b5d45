"""Outside approvers and translation bureaus by signed link (issue 13.2): the services.

Every refused link (tampered, reused, expired, revoked, out of scope, text changed, step left)
changes nothing; four eyes by contribution holds for the outsider as for anyone."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.utils import timezone

from tests.workflows import factories as f
from workflows.constants import PostState, Verdict
from workflows.exceptions import (
    Conflict,
    Gone,
    InvalidInput,
    InvalidTransition,
    NotFound,
    NotPermitted,
)
from workflows.models import AuditEvent, Decision, OutsideInvitation, Post
from workflows.services import actions, posts, reviews
from workflows.services import outside_review as outside
from workflows.services.audit import audit_verify
from workflows.services.engine import steps_and_live_approvers
from workflows.services.four_eyes import approved_by_others

FR = f.FR


def snapshot(post_id: int) -> tuple:
    post = Post.objects.get(id=post_id)
    return (post.state, post.version, post.current_step_id, post.audit_seq,
            sorted((t.language, t.version, t.body) for t in post.texts.all()),
            Decision.objects.filter(post_id=post_id).count(),
            sorted(OutsideInvitation.objects.filter(post_id=post_id).values_list("id", "used_at", "revoked_at")))


def invite(demo, post, *, by=None, email="legal@firm.example", languages=("en",), **kw):
    return outside.invitation_create(post_id=post.id, by=by or demo.rami, email=email, languages=list(languages), **kw)


@pytest.mark.django_db
def test_an_outside_approver_approves_the_review_step_audited_with_the_address(demo, django_capture_on_commit_callbacks):
    post = f.at_review(demo)
    with django_capture_on_commit_callbacks(execute=True):
        inv, token = invite(demo, post, link_base="https://parley.example")
    assert len(token) == 43 and token not in inv.token_hash and inv.token_hash == outside.token_hash(token)
    assert not OutsideInvitation.objects.filter(token_hash=token).exists()  # only the hash is stored
    (msg,) = mail.outbox
    assert msg.to == ["legal@firm.example"] and f"https://parley.example/o/{token}/" in msg.body
    assert "Hello," in msg.body and "Bonjour," in msg.body  # bilingual
    view = outside.invitation_resolve(token=token)
    assert set(view.texts) == {"en"}
    outside.invitation_decide(token=token, verdict=Verdict.APPROVE, comment="Legally fine.", version=view.version)
    post.refresh_from_db()
    assert post.state == PostState.IN_REVIEW and post.current_step.kind == "translation"
    decision = Decision.objects.get(post=post, reviewer=inv.actor)
    assert decision.verdict == Verdict.APPROVE and decision.comment == "Legally fine."
    event = AuditEvent.objects.filter(post=post, verb="outside_decided").get()
    assert event.actor_id == inv.actor_id and event.data["email"] == "legal@firm.example"
    assert AuditEvent.objects.filter(post=post, verb="approved", actor_id=inv.actor_id).exists()
    inv.refresh_from_db()
    assert inv.used_at is not None and inv.verdict == "approve"
    assert not inv.actor.is_active and not inv.actor.has_usable_password()
    assert audit_verify()[1] is None


@pytest.mark.django_db
def test_an_english_only_link_leaves_a_bilingual_review_step_waiting_for_french(demo):
    post = f.at_review(demo, texts={"en": f.EN, "fr": FR})
    review_step = post.current_step_id
    inv, token = invite(demo, post, languages=["en"])
    outside.invitation_decide(token=token, verdict=Verdict.APPROVE, comment="The English is fine.")
    post = Post.objects.get(id=post.id)
    # Its approval counts for English only: the step still waits for French (quorum alone is met).
    assert post.state == PostState.IN_REVIEW and post.current_step_id == review_step
    decision = Decision.objects.get(post=post, reviewer=inv.actor)
    assert decision.languages == ["en"] and set(decision.text_versions) == {"en", "fr"}
    assert AuditEvent.objects.get(post=post, verb="approved", actor_id=inv.actor_id).data["languages"] == ["en"]
    assert steps_and_live_approvers(post).waiting_for(post.current_step) == ["fr"]
    # A staff reviewer may still approve (the same check as the button and the API), and then it advances.
    assert actions.APPROVE.check(demo.rami, post) is None
    assert "approve" in actions.post_actions(user=demo.rami, post=post)
    reviews.post_approve(post_id=post.id, by=demo.rami)
    post = Post.objects.get(id=post.id)
    assert post.state == PostState.IN_REVIEW and post.current_step.kind == "translation"
    assert Decision.objects.get(post=post, reviewer=demo.rami).languages == ["en", "fr"]
    assert audit_verify()[1] is None


@pytest.mark.django_db
def test_a_link_for_both_languages_completes_the_step_as_before(demo):
    post = f.at_review(demo, texts={"en": f.EN, "fr": FR})
    inv, token = invite(demo, post, languages=["en", "fr"])
    outside.invitation_decide(token=token, verdict=Verdict.APPROVE)
    post = Post.objects.get(id=post.id)
    assert post.current_step.kind == "translation"
    assert Decision.objects.get(post=post, reviewer=inv.actor).languages == ["en", "fr"]


@pytest.mark.django_db
def test_an_english_only_sign_off_never_lets_the_french_go_out_unapproved(demo):
    post = f.at_sign_off(demo)
    _, token = invite(demo, post, by=demo.cora, languages=["en"])
    outside.invitation_decide(token=token, verdict=Verdict.APPROVE)
    post = Post.objects.get(id=post.id)
    assert post.state == PostState.IN_REVIEW and post.current_step.kind == "sign_off"
    assert approved_by_others(post) == {"en": True, "fr": False}
    # Two links, one per language, meet the step between them.
    _, fr_token = invite(demo, post, by=demo.cora, email="juriste@cabinet.example", languages=["fr"])
    outside.invitation_decide(token=fr_token, verdict=Verdict.APPROVE)
    post = Post.objects.get(id=post.id)
    assert post.state == PostState.APPROVED and approved_by_others(post) == {"en": True, "fr": True}


@pytest.mark.django_db
def test_four_eyes_still_holds_for_a_link_narrower_than_what_its_holder_wrote(demo):
    post = f.at_translation(demo)
    _, bureau = invite(demo, post, email="bureau@translate.example", languages=["fr"], can_edit=True)
    outside.invitation_decide(token=bureau, verdict=Verdict.APPROVE, texts={"fr": FR})
    post = Post.objects.get(id=post.id)
    assert post.current_step.kind == "sign_off"
    # The bureau wrote the French: even a link for English only may not sign off the post. Since
    # issue 20 the invitation itself is refused (its mailbox is a contributor's), in any spelling.
    before = snapshot(post.id)
    for email in ("bureau@translate.example", "Bureau+signoff@TRANSLATE.example"):
        with pytest.raises(NotPermitted) as e:
            invite(demo, post, by=demo.cora, email=email, languages=["en"])
        assert e.value.code == "outside.contributor" and snapshot(post.id) == before


@pytest.mark.django_db
def test_request_changes_sends_the_post_back_to_its_author(demo):
    post = f.at_review(demo)
    _, token = invite(demo, post)
    with pytest.raises(InvalidInput):
        outside.invitation_decide(token=token, verdict=Verdict.REQUEST_CHANGES, comment="")
    outside.invitation_decide(token=token, verdict=Verdict.REQUEST_CHANGES, comment="Cite the regulation.")
    assert Post.objects.get(id=post.id).state == PostState.CHANGES_REQUESTED


@pytest.mark.django_db
def test_a_bureau_translates_and_completes_the_step_but_never_approves_its_own_words(demo):
    post = f.at_translation(demo)
    inv, token = invite(demo, post, by=demo.rami, email="bureau@translate.example", languages=["fr"], can_edit=True)
    outside.invitation_decide(token=token, verdict=Verdict.APPROVE, texts={"fr": FR})
    post.refresh_from_db()
    assert post.texts_dict()["fr"] == FR and post.current_step.kind == "sign_off"
    assert AuditEvent.objects.filter(post=post, verb="translated", actor_id=inv.actor_id).exists()
    # The same address may not be invited to sign off the French it wrote (issue 20: refused at
    # the invitation; four eyes by contribution would refuse its approval too).
    before = snapshot(post.id)
    with pytest.raises(NotPermitted) as e:
        invite(demo, post, by=demo.cora, email="bureau@translate.example", languages=["en", "fr"])
    assert e.value.code == "outside.contributor"
    assert snapshot(post.id) == before


@pytest.mark.django_db
def test_a_reviewer_link_may_not_write_and_a_bureau_only_its_languages(demo):
    post = f.at_translation(demo)
    _, review_token = invite(demo, post, languages=["en", "fr"])
    _, fr_token = invite(demo, post, email="bureau@translate.example", languages=["fr"], can_edit=True)
    before = snapshot(post.id)
    for token, texts in ((review_token, {"fr": FR}), (fr_token, {"en": "Changed by the bureau."})):
        with pytest.raises(NotPermitted) as e:
            outside.invitation_decide(token=token, verdict=Verdict.APPROVE, texts=texts)
        assert e.value.code == "outside.out_of_scope"
        assert snapshot(post.id) == before


@pytest.mark.django_db
def test_tampered_reused_expired_and_revoked_links_are_refused_with_no_change(demo):
    post = f.at_review(demo)
    _, token = invite(demo, post)
    before = snapshot(post.id)
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:-1], "", None, "x" * 43, token + "="):
        with pytest.raises(NotPermitted) as e:
            outside.invitation_decide(token=bad, verdict=Verdict.APPROVE)
        assert e.value.code == "outside.link_invalid"
        assert snapshot(post.id) == before
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        with pytest.raises(Gone) as e:
            outside.invitation_resolve(token=token)
        assert e.value.code == "outside.link_expired" and e.value.status == 410
        with pytest.raises(Gone):
            outside.invitation_decide(token=token, verdict=Verdict.APPROVE)
    assert snapshot(post.id) == before
    inv, revoked = invite(demo, post, email="expert@university.example")
    outside.invitation_revoke(invitation_id=inv.id, by=demo.cora)
    before = snapshot(post.id)
    with pytest.raises(Gone) as e:
        outside.invitation_decide(token=revoked, verdict=Verdict.APPROVE)
    assert e.value.code == "outside.link_revoked" and snapshot(post.id) == before
    with pytest.raises(Conflict):
        outside.invitation_revoke(invitation_id=inv.id, by=demo.cora)
    outside.invitation_decide(token=token, verdict=Verdict.APPROVE)
    before = snapshot(post.id)
    with pytest.raises(Gone) as e:
        outside.invitation_decide(token=token, verdict=Verdict.APPROVE)
    assert e.value.code == "outside.link_used" and snapshot(post.id) == before


@pytest.mark.django_db
def test_the_link_dies_when_a_text_changes_or_the_post_leaves_the_step(demo):
    post = f.at_translation(demo)
    _, token = invite(demo, post, email="expert@university.example", languages=["en"])
    _, bureau = invite(demo, post, email="bureau@translate.example", languages=["fr"], can_edit=True)
    from workflows.services import translations
    translations.translation_provide(post_id=post.id, by=demo.tess, language="fr", text=FR)  # a text changed
    before = snapshot(post.id)
    for t in (token, bureau):
        with pytest.raises(Gone) as e:
            outside.invitation_decide(token=t, verdict=Verdict.APPROVE, texts={})
        assert e.value.code == "outside.link_stale" and snapshot(post.id) == before
    # The post leaves the step (and comes back to it later with the same texts): still dead.
    post2 = f.at_review(demo)
    _, t2 = invite(demo, post2)
    reviews.post_request_changes(post_id=post2.id, by=demo.rami, comment="Shorter.")
    with pytest.raises(Gone):
        outside.invitation_resolve(token=t2)
    posts.post_submit(post_id=post2.id, by=demo.dana)
    before = snapshot(post2.id)
    with pytest.raises(Gone) as e:
        outside.invitation_decide(token=t2, verdict=Verdict.APPROVE)
    assert e.value.code == "outside.link_stale" and snapshot(post2.id) == before


@pytest.mark.django_db
def test_a_stale_version_is_a_conflict_with_no_change(demo):
    post = f.at_review(demo)
    _, token = invite(demo, post)
    before = snapshot(post.id)
    with pytest.raises(Conflict):
        outside.invitation_decide(token=token, verdict=Verdict.APPROVE, version=post.version - 1)
    assert snapshot(post.id) == before


@pytest.mark.django_db
def test_who_may_invite_whom(demo):
    post = f.at_review(demo)
    before = snapshot(post.id)
    with pytest.raises(NotPermitted) as e:
        invite(demo, post, by=demo.dana)  # no permission
    assert e.value.code == "outside.not_permitted"
    for email in ("dana@dpe.example", "DANA@dpe.example"):  # the author's own address: never
        with pytest.raises(NotPermitted) as e:
            invite(demo, post, email=email)
        assert e.value.code == "outside.has_account"
    for kw in ({"email": "not an address"}, {"email": "a@b.example" + "x" * 260}, {"languages": []},
               {"languages": ["de"]}, {"languages": ["en", "en"]}, {"hours": 0}, {"hours": 10_000},
               {"can_edit": True}):  # writing only at a translation step
        with pytest.raises(InvalidInput):
            invite(demo, post, **kw)
    with pytest.raises(InvalidTransition):
        invite(demo, f.official_draft(demo))
    assert snapshot(post.id) == before


@pytest.mark.django_db
def test_another_organisation_sees_nothing(demo):
    post = f.at_review(demo)
    inv, _ = invite(demo, post)
    demo.omar.user_permissions.add(Permission.objects.get(codename="add_outsideinvitation"))
    from accounts.models import User
    omar = User.objects.get(id=demo.omar.id)
    before = snapshot(post.id)
    with pytest.raises(NotFound):
        invite(demo, post, by=omar)
    with pytest.raises(NotFound):
        outside.invitation_revoke(invitation_id=inv.id, by=omar)
    with pytest.raises(NotFound):
        outside.invitations_for_post(post_id=post.id, user=omar)
    assert snapshot(post.id) == before


@pytest.mark.postgresql("threads racing for a row lock; SQLite locks the whole database")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_decisions_on_one_link_make_one_decision(demo):
    post = f.at_review(demo)
    _, token = invite(demo, post)
    results: list = []
    barrier = threading.Barrier(2)

    def decide():
        try:
            barrier.wait()
            outside.invitation_decide(token=token, verdict=Verdict.APPROVE)
            results.append("ok")
        except (Gone, Conflict) as exc:
            results.append(exc.status)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == sorted(["ok", 410], key=str)
    assert Decision.objects.filter(post=post).exclude(reviewer=demo.rami).count() == 1
