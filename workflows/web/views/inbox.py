"""The inbox: citizen messages, logging one by hand, claiming, engaging, dismissing, callbacks."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ... import actions, selectors
from ...constants import (
    DismissReason,
    InboundSource,
    InboundStatus,
    LaneKind,
    PostKind,
    PostState,
    Visibility,
)
from ...exceptions import NotFound, WorkflowError
from ...messages import display_results as display_checks
from ...services.inbound_manual import replies_going_back, reply_way_taken
from ...services.preview import preview_checks
from ..forms import DismissForm, InboxFilterForm, LogMessageForm, ReplyForm
from ..http import back_to, back_to_next_or, post_only
from ..publishing_truth import publishing_truth
from .common import (
    _query_without_page,
    draft_channel_choices,
    lang_inline,
    lang_name,
    page,
    safe_next,
    service_error,
    visible_channel_choices,
    visible_post,
)

INBOX_PAGE_SIZE = 50
# --- inbox ---------------------------------------------------------------------------------

@login_required
def inbox(request):
    user = request.user
    form = InboxFilterForm(request.GET or None, channel_choices=visible_channel_choices(user))
    chosen = form.cleaned_data if form.is_valid() else {}
    messages_qs = selectors.inbox_filtered(user=user, channel=chosen.get("channel") or "",
                                           status=chosen.get("status") or "")
    summary = selectors.inbox_counts_by_channel(user=user)
    paged = Paginator(messages_qs, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))  # LIMIT/OFFSET in SQL
    return page(request, "web/inbox.html", {"form": form, "items": paged.object_list, "summary": summary,
                                            "statuses": InboundStatus.choices, "page_obj": paged,
                                            "overdue_before": selectors.inbox_overdue_before(user=user),
                                            "page_query": _query_without_page(request)})


@login_required
@require_http_methods(["GET", "POST"])
def inbound_log(request):
    """Log a message received by phone or e-mail into the inbox (source: manual)."""
    user = request.user
    choices = draft_channel_choices(user)
    form = LogMessageForm(request.POST or None, channel_choices=choices,
                          initial={"channel": choices[0][0] if choices else "", "medium": "phone"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            msg = actions.LOG_MANUAL.execute(by=user, channel=data["channel"], medium=data["medium"],
                                             author=data["author"], contact=data["contact"], text=data["text"],
                                             received_at=data["received_at"], language=data["language"])
        except WorkflowError as exc:
            service_error(form, exc)
        else:
            # Shown on the message's own page, to the person who typed the name.
            messages.success(request, _("Message from %(author)s logged in the inbox.") % {"author": msg.author})
            return redirect("web-inbound", inbound_id=msg.id)
    return page(request, "web/inbound_log.html", {"form": form}, status=400 if form.is_bound and form.errors else 200)


def _inbound(request, inbound_id: int):
    try:
        return selectors.inbound_get_visible(inbound_id=inbound_id, user=request.user)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@login_required
@post_only(back_to("web-inbound", "inbound_id"))
def inbound_claim(request, inbound_id: int):
    msg = _inbound(request, inbound_id)
    error = ""
    try:
        msg = actions.CLAIM.execute(inbound_id=msg.id, by=request.user)
        status_text = _("Message from %(author)s claimed by you.") % {"author": msg.sender}
    except WorkflowError as exc:
        error = exc.message
        status_text = error
    if request.htmx:
        msg = _inbound(request, inbound_id)
        return render(request, "web/partials/inbox_row.html", {"m": msg, "status_text": status_text, "oob": True})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, status_text)
    return redirect(safe_next(request, reverse("web-inbound", args=[inbound_id])))


@login_required
@post_only(back_to("web-inbound", "inbound_id"))
def inbound_engage(request, inbound_id: int):
    """Like or boost the message on its platform (issue 10; the service checks everything)."""
    msg = _inbound(request, inbound_id)
    try:
        eng, _created = actions.ENGAGE.execute(inbound_id=msg.id, by=request.user, action=request.POST.get("action", ""))
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(action)s: asked; it is sent to the platform in a moment.")
                         % {"action": eng.get_action_display()})
    return redirect("web-inbound", inbound_id=msg.id)


@login_required
@require_http_methods(["GET", "POST"])
def inbound_detail(request, inbound_id: int, dismiss_form=None, status: int = 200):
    """Read a citizen message and reply in place (create the reply, then submit it)."""
    msg = _inbound(request, inbound_id)
    user = request.user
    holding = selectors.holding_replies_for(organisation_id=msg.organisation_id)
    reply_lang = msg.language or "en"
    if request.method == "POST":
        form = ReplyForm(request.POST)
        if form.is_valid():
            try:
                post = actions.REPLY.execute(
                    inbound_id=msg.id, by=user, text=form.cleaned_data["text"], language=reply_lang,
                    rules_acknowledged=form.cleaned_data["rules_acknowledged"],
                    content_warning=form.cleaned_data["content_warning"],
                )
            except WorkflowError as exc:
                service_error(form, exc)
            else:
                way = reply_way_taken(post_id=post.id)
                if way is not None and post.lane.kind == LaneKind.CONVERSATION and post.state != PostState.IN_REVIEW:
                    messages.success(request, str(way.sentence))  # e-mailed, or a call-back task
                    if way.go_to_message:
                        return redirect("web-inbound", inbound_id=msg.id)
                else:
                    _say_reply_outcome(request, visible_post(request, post.id))
                return redirect("web-post", post_id=post.id)
    else:
        initial = {"content_warning": msg.content_warning}  # carried over, editable
        chosen = request.GET.get("holding")
        for h in holding:
            if chosen and str(h.id) == chosen:
                initial["text"] = h.body_fr if reply_lang == "fr" else h.body_en
        form = ReplyForm(initial=initial)
    form.fields["text"].widget.attrs.update({"lang": reply_lang})
    limit = msg.channel.char_limit
    replies = selectors.replies_to(inbound_id=msg.id, user=user)
    preview = preview_checks(user=user, kind=PostKind.REPLY, texts={reply_lang: form["text"].value() or ""},
                             in_reply_to=msg.id, rules_acknowledged=bool(form["rules_acknowledged"].value()))
    return page(request, "web/inbound.html", status=status, context={
        "m": msg, "form": form, "holding": holding, "reply_lang": reply_lang, "reply_lang_name": lang_name(reply_lang),
        "reply_lang_inline": lang_inline(reply_lang), "checks": display_checks(preview.results),
        "limit": limit, "replies": replies, "preview": preview,
        "can_reply": actions.REPLY.allowed(user, msg),  # the reply action's own check
        "dismiss_form": dismiss_form or DismissForm(),
        "can_dismiss": _may_dismiss(msg, user),
        "dismissal": _dismissal(msg),
        "logged": (selectors.inbound_last_event(inbound_id=msg.id, verb="logged")
                   if msg.source == InboundSource.MANUAL else None),
        # A caller's details and the call-back tasks: only for people who may reply.
        "may_reply": actions.REPLY.allowed(user, msg),
        "deliveries": replies_going_back(inbound_id=msg.id) if msg.source == InboundSource.MANUAL else [],
        **_engagement_context(msg),
    })


def _say_reply_outcome(request, post) -> None:
    """After a reply is sent, what is true now (the post read again after publishing ran): green
    "Reply sent." only when nothing failed; a failure is an error, never a success."""
    if post.lane.kind != LaneKind.CONVERSATION or post.state == PostState.IN_REVIEW:
        messages.warning(request, _("Your reply needs approval before it is published: %(reason)s")
                         % {"reason": post.escalation_display or post.lane.name})
        return
    truth = publishing_truth(post)
    if post.state == PostState.FAILED or (truth is not None and truth.level == "error"):
        messages.error(request, _("Your reply was not published: %(detail)s")
                       % {"detail": truth.sentence if truth else post.get_state_display()})
    elif truth is not None and truth.level == "warning":
        messages.warning(request, truth.sentence)
    else:
        messages.success(request, _("Reply sent."))


def _may_dismiss(msg, user) -> bool:
    return actions.DISMISS.allowed(user, msg)


def _dismissal(msg) -> dict | None:
    """Why and by whom a dismissed message was closed (from its audit trail)."""
    if msg.status != InboundStatus.DISMISSED:
        return None
    event = selectors.inbound_last_event(inbound_id=msg.id, verb="dismissed")
    if event is None:
        return None
    reason = event.data.get("reason", "")
    return {"reason": DismissReason(reason).label if reason in DismissReason.values else reason,
            "comment": event.data.get("comment", ""), "actor": event.actor, "at": event.created_at}


@login_required
@post_only(back_to("web-inbound", "inbound_id"))
def inbound_dismiss(request, inbound_id: int):
    """Close a citizen message without a reply; back to the inbox, where it no longer is."""
    msg = _inbound(request, inbound_id)
    form = DismissForm(request.POST)
    if form.is_valid():
        try:
            actions.DISMISS.execute(inbound_id=msg.id, by=request.user, reason=form.cleaned_data["reason"],
                                    comment=form.cleaned_data["comment"])
        except WorkflowError as exc:
            service_error(form, exc)
        else:
            messages.success(request, _("Message from %(author)s closed without a reply: %(reason)s.")
                             % {"author": msg.sender, "reason": DismissReason(form.cleaned_data["reason"]).label})
            return redirect("web-inbox")
    request.method = "GET"
    return inbound_detail(request, inbound_id, dismiss_form=form, status=400)


@login_required
@post_only(back_to_next_or("web-inbox"))
def callback_done(request, delivery_id: int):
    """A person called the citizen back with the approved reply (the service checks everything)."""
    try:
        delivery = actions.CALLBACK_DONE.execute(delivery_id=delivery_id, by=request.user)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    except WorkflowError as exc:
        messages.error(request, exc.message)
        return redirect(safe_next(request, reverse("web-inbox")))
    messages.success(request, _("Call-back marked as made: the reply is recorded as given to the citizen."))
    return redirect("web-inbound", inbound_id=delivery.inbound_id)


def _engagement_context(msg) -> dict:
    from ...constants import EngagementAction
    from ...services.engagement import can_engage

    if msg.status == InboundStatus.DISMISSED or not can_engage(msg.channel):
        return {"engage_actions": []}
    done = selectors.engagements_by_action(inbound_id=msg.id)
    actions = [(value, label, done.get(value)) for value, label in EngagementAction.choices
               if value != EngagementAction.BOOST or msg.visibility in (Visibility.PUBLIC, Visibility.UNLISTED)]
    return {"engage_actions": actions}
