"""Issue 20, the second adversary round: four eyes against a determined insider.

* Outside links compare addresses by the mailbox they reach: every spelling a generator makes of
  a staff member's or a contributor's mailbox (case, Unicode case, `+tags`, quoted local parts,
  Gmail's dots, IDNA) is refused, and so is the organisation's own mail domain.
* A lane may require a staff confirmation of every outside approval.
* A translation bureau's link works when the post already has a French text (it used to fail
  with 403 "Only the Managers team acts at this step" and write nothing).
* Distinct people at each step (a lane option, on by default), and an approve that names its
  step is refused (409) once the post has left that step."""
from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Team, User
from tests.workflows import factories as f
from workflows.constants import PostState, Verdict
from workflows.exceptions import Conflict, NotPermitted
from workflows.models import AuditEvent, Decision, OutsideInvitation, Post
from workflows.services import outside_review as outside
from workflows.services import reviews
from workflows.services.mailboxes import mailbox_key

# --- a generator of spellings of one mailbox ---------------------------------------------------


@st.composite
def spellings(draw, local: str, domain: str, *, dotless: bool = False) -> str:
    """Another spelling of local@domain that reaches the same mailbox (Django's address validator
    takes ASCII local parts only: Unicode case and compatibility forms are exercised in the
    domain, which may also come in its ASCII IDNA form)."""
    if dotless:  # Gmail: dots anywhere in the local part (never two in a row), and googlemail.com
        bare = local.replace(".", "")
        local = "".join(c + draw(st.sampled_from(["", "."])) for c in bare[:-1]) + bare[-1]
    spelled = "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in local)
    tag = draw(st.one_of(st.just(""), st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=12)
                         .map(lambda t: "+" + t)))
    spelled += tag
    if draw(st.booleans()):
        spelled = f'"{spelled}"'
    dom = domain
    if dotless and draw(st.booleans()):
        dom = "googlemail.com"
    dom = draw(st.sampled_from([dom, dom.upper(), dom.title()]))
    if any(ord(c) > 127 for c in domain) and draw(st.booleans()):
        dom = dom.lower().encode("idna").decode("ascii")  # the same domain, in its ASCII form
    return f"{spelled}@{dom}"


def _refused(demo, post, email: str, *, by=None) -> str:
    """The refusal's code, or "" when the invitation was made (then rolled back)."""
    try:
        with transaction.atomic():
            outside.invitation_create(post_id=post.id, by=by or demo.rami, email=email, languages=["en"])
            transaction.set_rollback(True)
    except NotPermitted as exc:
        return exc.code
    return ""


HYPOTHESIS = settings(max_examples=40, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@given(data=st.data())
@settings(max_examples=300, deadline=None, derandomize=True)
def test_every_spelling_of_a_mailbox_has_one_key(data):
    for local, domain, dotless in (("dana.author", "gmail.com", True), ("Legal", "firm.example", False),
                                   ("bureau", "übersetzung.example", False), ("marie-eve", "québec.example", False)):
        spelled = data.draw(spellings(local, domain, dotless=dotless))
        assert mailbox_key(spelled) == mailbox_key(f"{local}@{domain}"), spelled
    # Not the same mailbox: a dot elsewhere than Gmail, another name, another domain.
    assert mailbox_key("j.smith@firm.example") != mailbox_key("jsmith@firm.example")
    assert mailbox_key("dana@firm.example") != mailbox_key("dana@firm.example.org")


@pytest.mark.django_db
def test_an_author_cannot_invite_their_own_mailbox_under_any_spelling(demo):
    """The author's address is at a public provider (so the staff-domain rule does not catch it):
    only comparing mailboxes does. On the code before issue 20, `dana.author+legal@gmail.com`
    and `"dana.author"@gmail.com` were accepted and the author approved their own post."""
    User.objects.filter(id=demo.dana.id).update(email="dana.author@gmail.com")
    post = f.at_review(demo)
    tried = []

    @given(email=spellings("dana.author", "gmail.com", dotless=True))
    @HYPOTHESIS
    def attempt(email):
        tried.append(email)
        assert _refused(demo, post, email) == "outside.has_account", email

    attempt()
    assert len(tried) >= 20 and not OutsideInvitation.objects.filter(post=post).exists()
    # A different person at the same provider is fine.
    assert _refused(demo, post, "someone.else@gmail.com") == ""


@pytest.mark.django_db
def test_a_contributors_mailbox_is_refused_in_any_spelling_idna_included(demo):
    post = f.at_translation(demo)
    bureau = "bureau@übersetzung.example"
    _, token = outside.invitation_create(post_id=post.id, by=demo.rami, email=bureau, languages=["fr"], can_edit=True)
    outside.invitation_decide(token=token, verdict=Verdict.APPROVE, texts={"fr": f.FR})
    post = Post.objects.get(id=post.id)
    assert post.current_step.kind == "sign_off"

    @given(email=spellings("bureau", "übersetzung.example"))
    @HYPOTHESIS
    def attempt(email):
        assert _refused(demo, post, email, by=demo.cora) == "outside.contributor", email

    attempt()


@pytest.mark.django_db
def test_the_organisations_own_mail_domain_is_staff(demo):
    post = f.at_review(demo)
    for email in ("someone.new@dpe.example", "Legal@DPE.Example", '"counsel"@dpe.example'):
        assert _refused(demo, post, email) == "outside.staff_domain", email
    # A domain the operator says organisations share is nobody's own (OUTSIDE_SHARED_DOMAINS).
    from django.test import override_settings

    with override_settings(OUTSIDE_SHARED_DOMAINS=["DPE.example"]):
        assert _refused(demo, post, "counsel@dpe.example") == ""
        assert _refused(demo, post, "Dana+x@dpe.example") == "outside.has_account"
    # A staff member's personal address at a public provider does not make that provider staff.
    User.objects.filter(id=demo.tess.id).update(email="tess@gmail.com")
    assert _refused(demo, post, "counsel@gmail.com") == ""
    assert _refused(demo, post, "TESS+x@gmail.com") == "outside.has_account"


@pytest.mark.django_db
def test_the_invitation_records_who_sent_it_and_pages_show_the_address(demo, client):
    post = f.at_review(demo)
    inv, token = outside.invitation_create(post_id=post.id, by=demo.rami, email="Legal+Q4@Firm.example",
                                           languages=["en", "fr"])
    event = AuditEvent.objects.get(post=post, verb="outside_invited")
    assert event.actor_id == demo.rami.id and event.data["invited_by"] == "rami"
    assert event.data["email"] == "legal+q4@firm.example" and event.data["mailbox"] == "legal@firm.example"
    outside.invitation_decide(token=token, verdict=Verdict.APPROVE)
    assert AuditEvent.objects.get(post=post, verb="outside_decided").data["invited_by"] == "rami"
    client.force_login(demo.cora)
    page = client.get(f"/posts/{post.id}/").content.decode()
    assert inv.actor.username not in page  # not "outside-3ada0396…" in the tracker, decisions or history
    assert "legal+q4@firm.example (outside)" in page


# --- staff confirmation of outside decisions ---------------------------------------------------

@pytest.mark.django_db
def test_a_lane_can_require_a_staff_confirmation_of_an_outside_approval(demo, client):
    lane = demo.lane("official")
    lane.outside_needs_staff_confirmation = True
    lane.save()
    post = f.at_review(demo, texts={"en": f.EN, "fr": f.FR})
    review = post.current_step_id
    _, token = outside.invitation_create(post_id=post.id, by=demo.rami, email="legal@firm.example",
                                         languages=["en", "fr"])
    outside.invitation_decide(token=token, verdict=Verdict.APPROVE)
    post = Post.objects.get(id=post.id)
    assert post.state == PostState.IN_REVIEW and post.current_step_id == review  # not complete yet
    client.force_login(demo.cora)
    assert "waits for a staff member who did not write the text" in client.get(f"/posts/{post.id}/").content.decode()
    with pytest.raises(NotPermitted):  # the author can never be that staff member
        reviews.post_approve(post_id=post.id, by=demo.dana)
    reviews.post_approve(post_id=post.id, by=demo.rami)
    post = Post.objects.get(id=post.id)
    assert post.current_step.kind == "translation"


@pytest.mark.django_db
def test_without_the_option_an_outside_approval_completes_its_step(demo):
    post = f.at_review(demo, texts={"en": f.EN, "fr": f.FR})
    _, token = outside.invitation_create(post_id=post.id, by=demo.rami, email="legal@firm.example",
                                         languages=["en", "fr"])
    outside.invitation_decide(token=token, verdict=Verdict.APPROVE)
    assert Post.objects.get(id=post.id).current_step.kind == "translation"


# --- the translation bureau on a post that already has French ----------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("same_text", [False, True])
def test_a_bureau_link_works_when_the_post_already_has_french(demo, same_text):
    """5 of 5 tries failed with 403 "Only the Managers team acts at this step", nothing written:
    the bureau's new French voided the review's approval of the old French, the post went back to
    review, and the link's approval was then asked of the Managers' step."""
    post = f.at_translation(demo, texts={"en": f.EN, "fr": f.FR})
    inv, token = outside.invitation_create(post_id=post.id, by=demo.rami, email="bureau@translate.example",
                                           languages=["fr"], can_edit=True)
    new_fr = f.FR if same_text else f.FR + " Révisé par le bureau."
    outcome = outside.invitation_decide(token=token, verdict=Verdict.APPROVE, texts={"fr": new_fr})
    post = Post.objects.get(id=post.id)
    assert post.texts_dict()["fr"] == new_fr
    inv.refresh_from_db()
    assert inv.used_at is not None
    decided = AuditEvent.objects.get(post=post, verb="outside_decided").data
    if same_text:  # nothing changed: the bureau completes the translation step
        assert outcome.returned_to is None and post.current_step.kind == "sign_off"
        assert decided["translated"] == []
    else:  # the new French goes back to review, as a staff translator's would
        assert outcome.returned_to is not None and outcome.returned_to.kind == "review"
        assert post.state == PostState.IN_REVIEW and post.current_step.kind == "review"
        assert decided["translated"] == ["fr"] and decided["returned_to"] == "Review"
        assert AuditEvent.objects.filter(post=post, verb="translated", actor_id=inv.actor_id).exists()


@pytest.mark.django_db
def test_a_two_language_bureau_page_sent_back_unchanged_english_writes_the_french(demo):
    """The bureau's page starts from the current texts: an unchanged English is not a write (it
    used to be asked of the translation step after the French had sent the post back)."""
    post = f.at_translation(demo, texts={"en": f.EN, "fr": f.FR})
    _, token = outside.invitation_create(post_id=post.id, by=demo.rami, email="bureau@translate.example",
                                         languages=["en", "fr"], can_edit=True)
    outcome = outside.invitation_decide(token=token, verdict=Verdict.APPROVE,
                                        texts={"en": f.EN + "\r\n", "fr": f.FR + " Révisé."})
    post = Post.objects.get(id=post.id)
    assert post.texts_dict() == {"en": f.EN, "fr": f.FR + " Révisé."}
    assert outcome.returned_to.kind == "review" and outcome.not_written == ()


@pytest.mark.django_db
def test_when_the_first_change_sends_the_post_back_the_rest_is_reported_not_written(demo):
    post = f.at_translation(demo, texts={"en": f.EN, "fr": f.FR})
    _, token = outside.invitation_create(post_id=post.id, by=demo.rami, email="bureau@translate.example",
                                         languages=["en", "fr"], can_edit=True)
    outcome = outside.invitation_decide(token=token, verdict=Verdict.APPROVE,
                                        texts={"en": f.EN + " Revised.", "fr": f.FR + " Révisé."})
    post = Post.objects.get(id=post.id)
    assert post.texts_dict() == {"en": f.EN + " Revised.", "fr": f.FR}
    assert outcome.returned_to.kind == "review" and outcome.not_written == ("fr",)
    decided = AuditEvent.objects.get(post=post, verb="outside_decided").data
    assert decided["translated"] == ["en"] and decided["not_written"] == ["fr"]


@pytest.mark.django_db
def test_the_bureau_page_says_the_post_went_back(client, demo):
    post = f.at_translation(demo, texts={"en": f.EN, "fr": f.FR})
    _, token = outside.invitation_create(post_id=post.id, by=demo.rami, email="bureau@translate.example",
                                         languages=["fr"], can_edit=True)
    r = client.post(f"/o/{token}/", {"version": Post.objects.get(id=post.id).version,
                                     "text_fr": f.FR + " Révisé.", "approve": ""})
    assert r.status_code == 200, r.content.decode()[:1500]
    assert "goes back to the step “Review”" in r.content.decode()


# --- distinct people at each step; an approve names its step ----------------------------------

def _on_two_teams(demo) -> User:
    Team.objects.get(organisation=demo.rami.organisation, slug="translators").group.user_set.add(demo.rami)
    return User.objects.get(id=demo.rami.id)


@pytest.mark.django_db
def test_one_person_on_two_teams_approves_one_step_only(demo):
    rami = _on_two_teams(demo)
    post = f.at_review(demo, texts={"en": f.EN, "fr": f.FR})
    reviews.post_approve(post_id=post.id, by=rami)
    post = Post.objects.get(id=post.id)
    assert post.current_step.kind == "translation"
    before = (post.version, Decision.objects.filter(post=post).count())
    with pytest.raises(NotPermitted) as e:
        reviews.post_approve(post_id=post.id, by=rami)
    assert e.value.code == "security.one_step_per_person"
    post = Post.objects.get(id=post.id)
    assert (post.version, Decision.objects.filter(post=post).count()) == before
    reviews.post_approve(post_id=post.id, by=demo.tess)  # someone else completes it


@pytest.mark.django_db
def test_the_distinct_people_rule_is_a_lane_option(demo):
    lane = demo.lane("official")
    assert lane.distinct_step_approvers  # on by default
    lane.distinct_step_approvers = False
    lane.save()
    rami = _on_two_teams(demo)
    post = f.at_review(demo, texts={"en": f.EN, "fr": f.FR})
    reviews.post_approve(post_id=post.id, by=rami)
    reviews.post_approve(post_id=post.id, by=rami)
    assert Post.objects.get(id=post.id).current_step.kind == "sign_off"


@pytest.mark.django_db
def test_an_approve_that_names_a_step_the_post_left_is_a_conflict(demo):
    lane = demo.lane("official")
    lane.distinct_step_approvers = False  # the named step holds on its own
    lane.save()
    rami = _on_two_teams(demo)
    post = f.at_review(demo, texts={"en": f.EN, "fr": f.FR})
    reviews.post_approve(post_id=post.id, by=rami, at_step=1)
    post = Post.objects.get(id=post.id)
    before = (post.version, Decision.objects.filter(post=post).count())
    for named in (1, "Review"):  # the second click of a burst, meant for the review step
        with pytest.raises(Conflict) as e:
            reviews.post_approve(post_id=post.id, by=rami, at_step=named)
        assert e.value.code == "security.step_moved"
    post = Post.objects.get(id=post.id)
    assert (post.version, Decision.objects.filter(post=post).count()) == before
    reviews.post_approve(post_id=post.id, by=rami, at_step="Translation")
    assert Post.objects.get(id=post.id).current_step.kind == "sign_off"
