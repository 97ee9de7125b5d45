"""The post page and its actions (approve, request changes, translate, publish...)."""
from __future__ import annotations

import difflib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ... import actions, selectors
from ...constants import PostState, PublicationStatus, ReviewVerdict
from ...exceptions import NotFound, WorkflowError
from ...messages import display_results as display_checks
from ...services.engine import lane_steps
from ...services.lanes import required_languages
from ...services.media import revisions_media_diff
from ...services.preview import post_actions_for, preview_checks
from .. import media as media_web
from ..approvals import approval_tracker, latest_change_request, void_preview, voided_summary
from ..forms import (
    CommentForm,
    ComposeForm,
    ResolveForm,
    RetractForm,
    ReviewCompleteForm,
    TranslationForm,
    UrgentForm,
)
from ..http import back_to, post_only
from ..publishing_truth import publishing_truth
from .common import lang_name, page, service_error, visible_post

# --- post page and its actions -------------------------------------------------------------

def _diff(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level diff as [(op, text)] with op in {"same", "add", "del"}."""
    a, b = old.split(" "), new.split(" ")
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("same", " ".join(a[i1:i2])))
        if op in ("delete", "replace"):
            out.append(("del", " ".join(a[i1:i2])))
        if op in ("insert", "replace"):
            out.append(("add", " ".join(b[j1:j2])))
    return out


def _history(post, user) -> list:
    """The audit trail, each step named in the reader's language (the trail records English)."""
    names = {s.id: s.name for s in lane_steps(post.lane)}
    events: list[Any] = list(selectors.post_history(post_id=post.id, user=user))
    for ev in events:  # step_name: shown by the template beside the recorded event
        ev.step_name = names.get((ev.data or {}).get("step_id") or 0, "")
    return events


def _revisions_diff(request, post) -> tuple[list, list | None, int, int]:
    """The post's revisions and the diff between the two the reader chose (?from=&to=)."""
    revisions = selectors.post_revisions(post=post)
    by_number = {r.number: r for r in revisions}
    try:
        to_n = int(request.GET.get("to") or (revisions[-1].number if revisions else 0))
        from_n = int(request.GET.get("from") or (to_n - 1))
    except ValueError:
        to_n = revisions[-1].number if revisions else 0
        from_n = to_n - 1
    diff = None
    if from_n in by_number and to_n in by_number:
        old, new = by_number[from_n].texts, by_number[to_n].texts
        diff = [(lang, lang_name(lang), _diff(old.get(lang, ""), new.get(lang, ""))) for lang in sorted(set(old) | set(new))]
    return revisions, diff, from_n, to_n


def _resolve_forms(acts, publications: list, posted) -> list:
    """A form per publication awaiting a person, when the reader may resolve them."""
    if not acts.resolve:
        return []
    ids = [p.id for p in publications]
    forms = []
    for p in publications:
        if p.status == PublicationStatus.UNKNOWN:
            mine = posted is not None and posted.data.get("publication") == str(p.id)
            forms.append((p, posted if mine else ResolveForm(initial={"publication": p.id}, publication_ids=ids)))
    return forms


def _post_context(request, post, forms: dict | None = None) -> dict:
    user = request.user
    acts = post_actions_for(post=post, user=user)
    texts = {t.language: t for t in post.texts.all()}
    revisions, diff, from_n, to_n = _revisions_diff(request, post)
    forms = forms or {}
    version = {"version": post.version}
    publications = list(post.publications.all())
    resolve_forms = _resolve_forms(acts, publications, forms.get("resolve"))
    ctx = {
        "post": post, "acts": acts, "texts": texts, "post_checks": display_checks(post.checks),
        # Only the languages this post needs (its lane's, the citizen's) or has: an English reply
        # is not "French: not written yet".
        "languages": [(lang, lang_name(lang), texts.get(lang)) for lang in ("en", "fr")
                      if lang in texts or lang in required_languages(post)] or [("en", lang_name("en"), None)],
        "revisions": revisions, "diff": diff, "diff_from": from_n, "diff_to": to_n,
        "media_diff": revisions_media_diff(revisions, from_n, to_n),
        "history": _history(post, user),
        "decisions": list(post.decisions.all()), "publications": publications, "resolve_forms": resolve_forms,
        "due_at": selectors.post_due_at(post),
        "truth": publishing_truth(post),
        "tracker": approval_tracker(post, due_at=selectors.post_due_at(post)),
        "void_preview": void_preview(post) if (acts.edit or acts.translate) else [],
        "change_request": latest_change_request(post),
        "comment_form": forms.get("comment") or CommentForm(initial=version),
        "translation_form": forms.get("translation") or TranslationForm(
            initial={**version, "language": (acts.missing_languages or ["fr"])[0]}),
        "urgent_form": forms.get("urgent") or UrgentForm(initial=version),
        "retract_form": forms.get("retract") or RetractForm(initial=version),
        "action_form": forms.get("action") or CommentForm(initial=version),
    }
    posted_review = forms.get("review")
    ctx["review_forms"] = [
        (r, posted_review if posted_review is not None and posted_review.data.get("review") == str(r.id)
         else ReviewCompleteForm(initial={"review": r.id}, review_ids=[r.id], auto_id=f"id_review{r.id}_%s"))
        for r in actions.reviews_to_complete(user=user, post=post)
    ]
    ctx["media_shown"] = media_web.shown_media(post, get_language() or "en")
    if acts.translate:
        ctx["translation_media"] = media_web.translation_media(
            post, language=(acts.missing_languages or ["fr"])[0], data=getattr(forms.get("translation"), "data", None))
    if acts.edit:
        edit_form = ctx["edit_form"] = forms.get("edit") or _edit_form(post, texts)
        if edit_form.media_entries:  # their counters and results, before the first keystroke
            media_web.attach_preview(edit_form.media_entries, preview_checks(
                user=user, kind=post.kind, channels=[c.slug for c in post.channels.all()],
                texts={lang: edit_form["text_" + lang].value() or "" for lang in ("en", "fr")},
                in_reply_to=post.in_reply_to_id, media=[e.info() for e in edit_form.media_entries]))
        ctx.update(media_web.context(edit_form))
    return ctx


def _edit_form(post, texts: dict) -> ComposeForm:
    """The compose form filled with the post as it is (its media too)."""
    form = ComposeForm(
        channel_choices=[(c.slug, c.name or c.handle) for c in post.channels.all()],
        initial={"version": post.version, "text_en": getattr(texts.get("en"), "body", ""),
                 "text_fr": getattr(texts.get("fr"), "body", ""),
                 "channels": [c.slug for c in post.channels.all()],
                 "rules_acknowledged": post.rules_acknowledged,
                 "scheduled_at": timezone.localtime(post.scheduled_at) if post.scheduled_at else None})
    form.media_entries = media_web.entries_from_post(post)
    return form


@login_required
def post_detail(request, post_id: int):
    post = visible_post(request, post_id)
    return page(request, "web/post.html", _post_context(request, post))


#: action -> (form class, which form slot shows its errors, call)
def _act_approve(post, user, form):
    return actions.APPROVE.execute(post_id=post.id, by=user, comment=form.cleaned_data["comment"],
                                  version=form.cleaned_data["version"])


def _act_request_changes(post, user, form):
    return actions.REQUEST_CHANGES.execute(post_id=post.id, by=user, comment=form.cleaned_data["comment"],
                                          version=form.cleaned_data["version"])


def _act_reject(post, user, form):
    return actions.REJECT.execute(post_id=post.id, by=user, comment=form.cleaned_data["comment"],
                                 version=form.cleaned_data["version"])


def _act_translate(post, user, form):
    media = getattr(form, "media_texts", None)
    return actions.TRANSLATE.execute(post_id=post.id, by=user, language=form.cleaned_data["language"],
                                     text=form.cleaned_data["text"], version=form.cleaned_data["version"],
                                     **({"media": media} if media else {}))


def _act_withdraw(post, user, form):
    return actions.WITHDRAW.execute(post_id=post.id, by=user, version=form.cleaned_data["version"],
                                    comment=form.cleaned_data["comment"])


def _act_urgent(post, user, form):
    return actions.PUBLISH_URGENT.execute(post_id=post.id, by=user, reason=form.cleaned_data["reason"],
                                          version=form.cleaned_data["version"])


def _act_retry(post, user, form):
    return actions.RETRY.execute(post_id=post.id, by=user, version=form.cleaned_data["version"])


def _act_retract(post, user, form):
    return actions.RETRACT.execute(post_id=post.id, by=user, version=form.cleaned_data["version"])


def _act_resolve(post, user, form):
    return actions.RESOLVE.execute(publication_id=form.cleaned_data["publication"], by=user,
                                   sent=form.cleaned_data["sent"], url=form.cleaned_data["url"])


def _act_complete_review(post, user, form):
    return actions.COMPLETE_REVIEW.execute(review_id=form.cleaned_data["review"], by=user,
                                           verdict=form.cleaned_data["verdict"], comment=form.cleaned_data["comment"])


def _act_edit(post, user, form):
    edit = actions.EDIT_AND_SUBMIT if form.data.get("submit") is not None else actions.EDIT
    # The media list as the form shows it; sent when there is one or was one (removing the last
    # medium is an edit too).
    media = [e.for_service() for e in form.media_entries]
    return edit.execute(post_id=post.id, by=user, texts=form.texts(), scheduled_at=form.cleaned_data["scheduled_at"],
                rules_acknowledged=form.cleaned_data["rules_acknowledged"], version=form.cleaned_data["version"],
                **({"media": media} if media or form.had_media else {}))


ACTIONS = {
    "approve": (CommentForm, "comment", _act_approve),
    "request-changes": (CommentForm, "comment", _act_request_changes),
    "reject": (CommentForm, "comment", _act_reject),
    "translate": (TranslationForm, "translation", _act_translate),
    "withdraw": (CommentForm, "action", _act_withdraw),
    "urgent": (UrgentForm, "urgent", _act_urgent),
    "retry": (CommentForm, "action", _act_retry),
    "retract": (RetractForm, "retract", _act_retract),
    "resolve": (ResolveForm, "resolve", _act_resolve),
    "edit": (ComposeForm, "edit", _act_edit),
    "complete-review": (ReviewCompleteForm, "review", _act_complete_review),
}


def _done_message(action: str, form=None) -> str:
    if action == "complete-review":
        if form.cleaned_data["verdict"] == ReviewVerdict.FINE:
            return _("Review completed: fine. It has left the queue.")
        return _("Review completed: needs follow-up. The author's side is told; it has left the queue.")
    if action == "resolve":
        if form.cleaned_data["sent"]:
            return _("Recorded as published: it will not be sent again.")
        return _("Recorded as not published: retry the post to send it.")
    return {
        "approve": _("Approved."), "request-changes": _("Changes requested."), "reject": _("Rejected."),
        "translate": _("Translation saved."), "withdraw": _("Withdrawn."), "urgent": _("Published urgently."),
        "retry": _("Publishing retried."), "edit": _("Saved."),
    }[action]


def _say_what_was_voided(request, action: str, form, post, seq_before: int) -> None:
    """"Saved." alone only when no approval was voided; else which ones, and where the post is."""
    voided = selectors.post_voided_decision_ids(post_id=post.id, user=request.user, after_seq=seq_before)
    summary = voided_summary(post, decision_ids=voided)
    if summary:
        messages.warning(request, f"{_done_message(action, form)} {summary}")
    else:
        messages.success(request, _done_message(action, form))


def _say_publishing_outcome(request, action: str, post) -> None:
    """After an urgent publish or a retry, say what is actually live: green only when every
    language is; a failure (again) is an error, never "Published"."""
    truth = publishing_truth(post)
    if truth is None or truth.level == "info":
        detail = truth.sentence if truth else _("It is being published.")
        text = (_("Published urgently: %(detail)s") if action == "urgent" else _("Publishing retried: %(detail)s"))
        messages.info(request, text % {"detail": detail})
    elif truth.level == "success":
        messages.success(request, _("Published urgently: every language is live.") if action == "urgent"
                         else _("Publishing retried: every language is live."))
    elif truth.level == "error":
        text = (_("Published urgently, but not everywhere: %(detail)s") if action == "urgent"
                else _("Publishing failed again: %(detail)s"))
        messages.error(request, text % {"detail": truth.sentence})
    else:
        messages.warning(request, truth.sentence)


def _say_retract_outcome(request, post) -> None:
    """After a retract, what is true now: green only when nothing of the post is live."""
    if post.state == PostState.RETRACTED:
        messages.success(request, _("Retracted: what this post published was deleted from the platforms."))
    else:
        truth = publishing_truth(post)
        messages.warning(request, _("The live languages were deleted from the platforms: %(detail)s")
                         % {"detail": truth.sentence if truth else ""})


@login_required
@post_only(back_to("web-post", "post_id"))
def post_action(request, post_id: int, action: str):
    if action not in ACTIONS:
        raise Http404("No such action.")
    try:  # the post row only: the action reads what it needs under its row lock
        post = selectors.post_get_visible_light(post_id=post_id, user=request.user)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    form_class, slot, call = ACTIONS[action]
    kwargs: dict[str, Any] = {}
    if form_class is ComposeForm:
        kwargs["channel_choices"] = [(c.slug, c.slug) for c in post.channels.all()]
    if form_class is ResolveForm:
        kwargs["publication_ids"] = [p.id for p in post.publications.all()]
    if form_class is ReviewCompleteForm:
        kwargs["review_ids"] = selectors.post_review_ids(post=post)
        raw = request.POST.get("review", "")
        if raw.isdigit() and len(raw) < 20:
            kwargs["auto_id"] = f"id_review{raw}_%s"
    form = form_class(request.POST, request.FILES, **kwargs)
    seq_before = post.audit_seq
    held = False  # the form comes back without calling the service (a media button, a refused file)
    media_entries: list = []
    if form_class is ComposeForm:
        media_entries = media_web.parse_entries(request.POST, request.FILES, user=request.user)
        media_entries, rearranged = media_web.rearrange(request.POST, media_entries, form)
        valid = form.is_valid()
        stored = rearranged or media_web.attach_upload(request, form, media_entries)
        form.media_entries = media_entries
        form.had_media = post.media.exists()
        held = rearranged or not stored or "media_attach" in request.POST or media_web.entry_errors(media_entries)
        if not valid:
            held = False  # shown with the form's own errors below
    if form_class is TranslationForm:
        form.media_texts = media_web.translation_texts(post, request.POST)
    if not held and form.is_valid():
        try:
            call(post, request.user, form)
        except WorkflowError as exc:
            service_error(form, exc, elsewhere=media_web.place_errors(media_entries, exc.errors))
        else:
            if action in ("urgent", "retry"):
                _say_publishing_outcome(request, action, visible_post(request, post_id))
                retro = selectors.post_open_retrospective(post_id=post.id) if action == "urgent" else None
                if retro is not None:  # issue 21: the person who broke the glass is told what follows
                    messages.info(request, _("A review after the fact is open: %(team)s will check this "
                                             "urgent publication.") % {"team": retro.team.name if retro.team
                                                                       else _("the communications team")})
            elif action == "retract":
                _say_retract_outcome(request, visible_post(request, post_id))
            elif action in ("edit", "translate"):
                _say_what_was_voided(request, action, form, visible_post(request, post_id), seq_before)
            else:
                messages.success(request, _done_message(action, form))
            return redirect("web-post", post_id=post.id)
    post = visible_post(request, post_id)
    ctx = _post_context(request, post, forms={slot: form})
    ctx["error_form"] = form
    if held and not form.errors and not media_web.entry_errors(media_entries):
        # A medium attached, moved or removed: the edit form as it is now, nothing saved yet.
        ctx["error_form"] = None
        ctx["next_url"] = reverse("web-post", args=[post.id])
        return page(request, "web/post.html", ctx)
    ctx["next_url"] = reverse("web-post", args=[post.id])  # the language toggle returns to the post page
    return page(request, "web/post.html", ctx, status=400)
