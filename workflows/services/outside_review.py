"""Outside approvers and translation bureaus: someone without an account acts on one step of
one post through a link sent by e-mail (docs/outside-approvers.md).

The link carries 32 random bytes; only their SHA-256 is stored, with the scope (post, step,
languages, may-edit) and what the link is bound to (the step's entry time and every text's
version). It works once, until it expires, and only while the post waits at that step with
those texts. The outsider's decision goes through the same services as a staff decision
(reviews.post_approve / post_request_changes, translations.translation_provide) under a grant
for exactly that step (grants.py), as an inactive account that stands for the address: four
eyes by contribution, versions, row locks and guidelines hold unchanged."""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import User

from ..constants import PostState, StepKind, Verdict
from ..exceptions import Gone, InvalidInput, NotFound, NotPermitted
from ..messages import Message
from ..models import LaneStep, OutsideInvitation, Post
from . import actions, reviews, translations
from .audit import audit_record
from .common import (
    current_step_of,
    ensure_same_org,
    ensure_version,
    post_get_for_update,
    stable_name,
)
from .four_eyes import contributors
from .grants import StepGrant, acting_under
from .mailboxes import mailbox_key, staff_domains
from .posts import clean_texts

log = logging.getLogger("parley.outside")

LANGUAGES = ("en", "fr")
PERMISSION = actions.INVITE_PERMISSION
#: secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
OUTSIDE_PREFIX = "outside-"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


#: The post page's invite form and the services ask this same check (the rules' home).
may_invite = actions.may_invite


def _clean_email(email: Any) -> str:
    if not isinstance(email, str) or len(email) > 254:
        raise InvalidInput(code="outside.invalid_email", errors={"email": [Message("outside.invalid_email")]})
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(code="outside.invalid_email", errors={"email": [Message("outside.invalid_email")]}) from None
    return email.lower()


def _clean_languages(languages: Any) -> list[str]:
    if (not isinstance(languages, list | tuple) or not languages or len(languages) > len(LANGUAGES)
            or any(lang not in LANGUAGES for lang in languages) or len(set(languages)) != len(languages)):
        raise InvalidInput(code="outside.invalid_languages",
                           errors={"languages": [Message("outside.invalid_languages")]})
    return sorted(languages)


def _outside_account(*, organisation_id: int, email: str) -> User:
    """The inactive account that stands for `email`'s mailbox in this organisation: every
    spelling of one mailbox is the same person across links (so what they wrote counts against
    their approvals)."""
    digest = hashlib.sha256(f"{organisation_id}:{mailbox_key(email)}".encode()).hexdigest()[:24]
    user, created = User.objects.get_or_create(
        username=f"{OUTSIDE_PREFIX}{digest}",
        defaults={"organisation_id": organisation_id, "email": email, "first_name": email[:150], "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _max_hours() -> int:
    return int(getattr(settings, "OUTSIDE_LINK_MAX_HOURS", 720))


@transaction.atomic
def invitation_create(*, post_id: int, by: User, email: str, languages: list[str], can_edit: bool = False,
                      hours: int | None = None, link_base: str = "") -> tuple[OutsideInvitation, str]:
    """Invite `email` to act on the post's current step for `languages` (to write them too when
    `can_edit`, at a translation step). Returns the invitation and the token (shown nowhere
    else: it goes out in the e-mail after commit). Raises NotPermitted (no permission, or the
    address has an account), NotFound (another organisation's post), InvalidTransition (not
    in review), InvalidInput. Audited as `outside_invited` on the post's chain. The rule
    (actions.INVITE) is asked first, then under the post's row lock."""
    if not may_invite(by):  # before reading the input: who may not invite learns nothing of it
        raise NotPermitted(code="outside.not_permitted")
    email = _clean_email(email)
    languages = _clean_languages(languages)
    hours = int(getattr(settings, "OUTSIDE_LINK_HOURS", 72)) if hours is None else hours
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= _max_hours():
        raise InvalidInput(code="outside.invalid_hours", params={"limit": _max_hours()},
                           errors={"hours": [Message("outside.invalid_hours", {"limit": _max_hours()})]})
    post = post_get_for_update(post_id=post_id, user=by)
    actions.INVITE.ensure(by, post)
    step = current_step_of(post)
    if can_edit and step.kind != StepKind.TRANSLATION:
        raise InvalidInput(code="outside.edit_needs_translation_step",
                           errors={"can_edit": [Message("outside.edit_needs_translation_step")]})
    ensure_outsider(post=post, email=email)
    actor = _outside_account(organisation_id=post.organisation_id, email=email)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    inv = OutsideInvitation.objects.create(
        organisation_id=post.organisation_id, post=post, step=step, email=email, actor=actor,
        languages=languages, can_edit=bool(can_edit), token_hash=token_hash(token),
        bound_step_entered_at=post.step_entered_at, bound_text_versions=actions.text_versions(post),
        created_by=by, created_at=now, expires_at=now + timedelta(hours=hours),
    )
    # The inviter is the event's actor, named in the data too (an export or a reader of the raw
    # chain sees who sent each link without resolving an id).
    audit_record(owner=post, verb="outside_invited", actor=by, from_state=post.state, to_state=post.state,
                 data={"invitation_id": inv.id, "email": email, "mailbox": mailbox_key(email),
                       "invited_by": by.get_username(), "step_id": step.id, "step": stable_name(step),
                       "languages": languages, "can_edit": inv.can_edit, "expires_at": inv.expires_at.isoformat()})
    post.save(update_fields=["audit_seq", "audit_head"])
    link = f"{(link_base or getattr(settings, 'PUBLIC_URL', '')).rstrip('/')}/o/{token}/"
    transaction.on_commit(lambda: _send_invitation(invitation_id=inv.id, link=link))
    return inv, token


def ensure_outsider(*, post: Post, email: str) -> None:
    """Four eyes for links: the address must reach a mailbox that is nobody's on the inside.
    Compared by the mailbox it reaches (mailboxes.mailbox_key: case, quoting, `+tags`, IDNA),
    refused when it is an active account's (`outside.has_account`: they act through their team),
    at the organisation's own mail domains (`outside.staff_domain`), or a contributor's to this
    post: its author, or anyone who wrote or changed a text, outside bureaus included
    (`outside.contributor`). A second mailbox the author controls elsewhere cannot be seen here:
    docs/outside-approvers.md says what the lane option outside_needs_staff_confirmation adds."""
    key = mailbox_key(email)
    active = list(User.objects.filter(is_active=True).exclude(email="").values_list("email", "organisation_id"))
    if any(mailbox_key(address) == key for address, _org in active):
        raise NotPermitted(code="outside.has_account")
    own = staff_domains([address for address, org in active if org == post.organisation_id])
    if key.rpartition("@")[2] in own:
        raise NotPermitted(code="outside.staff_domain")
    wrote = {post.author_id}.union(*contributors(post).values())
    if any(mailbox_key(address) == key
           for address in User.objects.filter(id__in=wrote).exclude(email="").values_list("email", flat=True)):
        raise NotPermitted(code="outside.contributor")


def _send_invitation(*, invitation_id: int, link: str) -> None:
    """The e-mail, in English and in French (the outsider has no saved language)."""
    inv = OutsideInvitation.objects.select_related("post", "step", "created_by").get(id=invitation_id)
    texts = [(t.language, t.body) for t in inv.post.texts.all() if t.language in inv.languages]
    parts = []
    for lang in ("en", "fr"):
        with translation.override(lang):
            parts.append(render_to_string("workflows/email/outside_invitation.txt", {
                "inv": inv, "lang": lang, "link": link, "step": inv.step.name, "texts": texts,
                "sender": inv.created_by.get_full_name() or inv.created_by.username,
            }, using="text").strip())
    texts_part = render_to_string("workflows/email/_texts.txt", {"texts": texts}, using="text").strip()
    if texts_part:
        parts.append(texts_part)
    subject = f"[Parley] Post #{inv.post_id}: your review is requested / Publication nº {inv.post_id} : votre avis est demandé"
    message = EmailMessage(subject=subject, body="\n\n---\n\n".join(parts) + "\n", to=[inv.email],
                           headers={"Content-Language": "en, fr"})
    try:
        get_connection().send_messages([message])
    except Exception:  # noqa: BLE001 - the invitation stands; staff see it and may send another
        log.exception("outside invitation %s: the e-mail could not be sent", invitation_id)


def invitations_for_post(*, post_id: int, user: User) -> QuerySet[OutsideInvitation]:
    """The invitations of a post the user may see (its organisation's), newest first."""
    post = Post.objects.filter(id=post_id).only("id", "organisation_id").first()
    if post is None:
        raise NotFound(code="not_found.post")
    ensure_same_org(user=user, organisation_id=post.organisation_id)
    return OutsideInvitation.objects.filter(post_id=post_id).select_related("step", "created_by", "revoked_by")


def invitation_get_visible(*, invitation_id: int, user: User) -> OutsideInvitation:
    inv = OutsideInvitation.objects.select_related("step", "created_by", "revoked_by").filter(id=invitation_id).first()
    if inv is None or not (user.is_superuser or inv.organisation_id == getattr(user, "organisation_id", None)):
        raise NotFound(code="outside.not_found")
    return inv


@transaction.atomic
def invitation_revoke(*, invitation_id: int, by: User) -> OutsideInvitation:
    """Kill a link now (→ revoked). Raises NotFound (another organisation's), NotPermitted,
    Conflict (already used or revoked). Audited as `outside_revoked`."""
    found = invitation_get_visible(invitation_id=invitation_id, user=by)
    # The post first, then the invitation: the order invitation_decide takes them in.
    post = post_get_for_update(post_id=found.post_id, user=by)
    inv = OutsideInvitation.objects.select_for_update().get(id=found.id)
    actions.REVOKE_INVITATION.ensure(by, inv)
    inv.revoked_at = timezone.now()
    inv.revoked_by = by
    inv.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(owner=post, verb="outside_revoked", actor=by, from_state=post.state, to_state=post.state,
                 data={"invitation_id": inv.id, "email": inv.email})
    post.save(update_fields=["audit_seq", "audit_head"])
    return inv


# --- the outsider's side -------------------------------------------------------------------

def _find(token: str) -> OutsideInvitation:
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise NotPermitted(code="outside.link_invalid")
    inv = OutsideInvitation.objects.filter(token_hash=token_hash(token)).first()
    if inv is None:
        raise NotPermitted(code="outside.link_invalid")
    return inv


#: Why a link may not be used now (a code), or "": the outside decision's rule (actions.py).
invitation_refusal = actions.invitation_refusal


def _ensure_live(inv: OutsideInvitation, post: Post) -> None:
    code = invitation_refusal(inv, post)
    if code:
        raise Gone(code=code)


@dataclass(frozen=True)
class OutsideView:
    """What the page behind a link shows: only the scoped languages of one post at one step."""

    invitation: OutsideInvitation
    post: Post
    step: LaneStep
    texts: dict[str, str]
    version: int

    @property
    def may_edit(self) -> bool:
        return self.invitation.can_edit and self.step.kind == StepKind.TRANSLATION


def invitation_resolve(*, token: str) -> OutsideView:
    """Read a live link (nothing changes). Raises NotPermitted (unknown or tampered) and Gone
    (used, expired, revoked, or the post moved on / a text changed)."""
    inv = _find(token)
    post = Post.objects.select_related("current_step").get(id=inv.post_id)
    _ensure_live(inv, post)
    texts = {t.language: t.body for t in post.texts.all() if t.language in inv.languages}
    return OutsideView(invitation=inv, post=post, step=current_step_of(post), texts=texts, version=post.version)


@dataclass(frozen=True)
class OutsideDecision:
    """What an outsider's decision did: the used invitation, and the step the post went back to
    when the bureau's text voided an earlier approval (their translation stands; no decision at
    the link's step was taken), else None."""

    invitation: OutsideInvitation
    returned_to: LaneStep | None = None
    #: Languages the bureau changed that could not be written: the post had already gone back.
    not_written: tuple[str, ...] = ()


@transaction.atomic
def invitation_decide(*, token: str, verdict: str, comment: str = "", texts: dict | None = None,
                      version: int | None = None) -> OutsideDecision:
    """The outsider's decision: write the scoped translations (bureau links), then approve or
    request changes, through the staff services; when the new text sent the post back to an
    earlier step, the translation alone is recorded. The link is used up (→ used). Raises
    NotPermitted (tampered, out of scope, four eyes), Gone (used, expired, revoked, stale),
    Conflict (stale version, a concurrent decision), InvalidInput, GuidelineViolation; on any
    of them nothing changes. Audited as `outside_decided` with the address the link went to."""
    if verdict not in (Verdict.APPROVE, Verdict.REQUEST_CHANGES):
        raise InvalidInput(code="outside.invalid_verdict", errors={"verdict": [Message("outside.invalid_verdict")]})
    found = _find(token)
    post = post_get_for_update(post_id=found.post_id, user=found.actor)
    inv = OutsideInvitation.objects.select_for_update(of=("self",)).select_related("actor", "created_by").get(id=found.id)
    inv.post = post
    actions.OUTSIDE_DECIDE.ensure(inv.actor, inv)
    ensure_version(post, version)
    texts = {k: v for k, v in (texts or {}).items() if v not in (None, "")}
    step = current_step_of(post)
    if texts and not (inv.can_edit and step.kind == StepKind.TRANSLATION):
        raise NotPermitted(code="outside.out_of_scope")
    if any(lang not in inv.languages for lang in texts):
        raise NotPermitted(code="outside.out_of_scope")
    grant = StepGrant(user_id=inv.actor_id, post_id=post.id, step_id=step.id,
                      languages=tuple(inv.languages), can_edit=inv.can_edit)
    written: list[str] = []
    not_written: list[str] = []
    returned_to = None
    # Only what the bureau changed is written (its page starts from the current texts): an
    # unchanged language is no translation, and once a change sent the post back (below) the
    # link may write nothing more.
    current = {t.language: t.body for t in post.texts.all()}
    changed = [lang for lang in sorted(texts) if clean_texts({lang: texts[lang]})[lang] != current.get(lang)]
    with acting_under(grant):
        for lang in changed:
            if post.state != PostState.IN_REVIEW or post.current_step_id != step.id:
                not_written.append(lang)
                continue
            post = translations.translation_provide(post_id=post.id, by=inv.actor, language=lang, text=texts[lang])
            written.append(lang)
        if written and (post.state != PostState.IN_REVIEW or post.current_step_id != step.id):
            # The bureau's new text voided an earlier step's approval of the old one (an author who
            # wrote both languages, approved at review): the post went back to that step, as it
            # does when a staff translator writes. The translation stands; the link's decision was
            # for this step, which has no decision to take now (issue 20: it used to be refused
            # as "Only the Managers team acts at this step" and nothing was written).
            returned_to = post.current_step
        elif verdict == Verdict.APPROVE:
            post = reviews.post_approve(post_id=post.id, by=inv.actor, comment=comment)
        else:
            post = reviews.post_request_changes(post_id=post.id, by=inv.actor, comment=comment)
    now = timezone.now()
    inv.used_at = now
    inv.verdict = verdict
    inv.save(update_fields=["used_at", "verdict"])
    data = {"invitation_id": inv.id, "email": inv.email, "verdict": verdict, "step_id": step.id,
            "step": stable_name(step), "languages": inv.languages, "translated": written,
            "invited_by": inv.created_by.get_username()}
    if returned_to is not None:
        data["returned_to"] = stable_name(returned_to)
        data["not_written"] = not_written
    audit_record(owner=post, verb="outside_decided", actor=inv.actor, from_state=post.state, to_state=post.state,
                 data=data)
    post.save(update_fields=["audit_seq", "audit_head"])
    return OutsideDecision(invitation=inv, returned_to=returned_to, not_written=tuple(not_written))
