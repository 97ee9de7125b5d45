"""Web UI for staff and approvers: thin views over workflows.services and workflows.selectors.

Views parse a form, call one service (or selector) and render. Every rule is the services'; a
service exception is shown as an error summary linked to the field it concerns."""
from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.i18n import set_language

from accounts.services import user_set_language
from config.staticfiles import gcds_stylesheet

from ... import actions, formats, limits, selectors
from ...constants import (
    DismissReason,
    InboundSource,
    InboundStatus,
    LaneKind,
    PostKind,
    PostState,
    PublicationStatus,
    ReviewVerdict,
    Visibility,
)
from ...exceptions import Conflict, NotFound, WorkflowError
from ...messages import display_results as display_checks
from ...services import posts as post_services
from ...services import relay
from ...services.caretaker import periods_active
from ...services.channels import channels_draft_options
from ...services.engine import lane_steps
from ...services.inbound_manual import (
    inbound_log_manual,
    replies_going_back,
    reply_callback_done,
    reply_way_taken,
)
from ...services.lanes import required_languages
from ...services.preview import post_actions_for, preview_checks
from .. import charts
from ..approvals import approval_tracker, latest_change_request, void_preview, voided_summary
from ..forms import (
    SERVICE_FIELD,
    CommentForm,
    ComposeForm,
    DismissForm,
    InboxFilterForm,
    LogMessageForm,
    QueueFilterForm,
    ReplyForm,
    ResolveForm,
    RetractForm,
    ReviewCompleteForm,
    TranslationForm,
    UrgentForm,
)
from ..http import back_to, back_to_next_or, post_only
from ..publishing_truth import publishing_truth

# --- helpers -------------------------------------------------------------------------------

def lang_name(code: str) -> str:
    return formats.language(code)


def lang_inline(code: str) -> str:
    return formats.language(code, in_sentence=True)


def service_error(form, exc: WorkflowError) -> None:
    """Put a service exception on the form: on the fields it names, else as a form error."""
    if isinstance(exc, Conflict) and exc.code == "stale_version":
        form.add_error(None, _("This post changed since you loaded it. Reload the page, check the "
                               "latest version and try again."))
        return
    placed = False
    for key, msgs in (exc.errors or {}).items():
        name = SERVICE_FIELD.get(key)
        if name == "text_en" and "text_en" not in form.fields and "text" in form.fields:
            name = "text"
        if name == "text_fr" and "text_fr" not in form.fields and "text" in form.fields:
            name = "text"
        if name and name in form.fields:
            for m in msgs:
                form.add_error(name, str(m))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def describe_errors(form) -> None:
    """Link each invalid field to its error message (aria-describedby)."""
    if form is None or not form.is_bound:
        return
    for name in form.errors:
        if name in form.fields:
            widget = form.fields[name].widget
            auto_id = form[name].auto_id or f"id_{name}"
            ids = [f"{auto_id}_error"]
            if form.fields[name].help_text:
                ids.append(f"{auto_id}_helptext")
            widget.attrs["aria-describedby"] = " ".join(ids)


def safe_next(request, default: str) -> str:
    """The `next` the form sent if it stays on this site (no scheme-relative `//host`, no
    `/\\host`, no other host or scheme), else `default`: never an open redirect."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def page(request, template: str, context: dict, *, status: int = 200):
    for value in context.values():
        if hasattr(value, "errors") and hasattr(value, "fields"):
            describe_errors(value)
    return render(request, template, context, status=status)


def visible_post(request, post_id: int):
    try:
        return selectors.post_get_visible(post_id=post_id, user=request.user)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def draft_channel_choices(user) -> list[tuple[str, str]]:
    return [(c.slug, f"{c.name or c.handle} ({c.handle})") for c in selectors.channels_draftable(user=user)]


def visible_channel_choices(user) -> list[tuple[str, str]]:
    return [(c.slug, c.name or c.handle) for c in selectors.channels_visible(user=user)]


# --- assets and language -------------------------------------------------------------------

@lru_cache(maxsize=1)
def _gcds_css() -> str:
    return gcds_stylesheet()


def gcds_css(request):
    """gcds.css without its external @import and CDN font URLs (fonts come from @gcds-core/fonts)."""
    response = HttpResponse(_gcds_css(), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@post_only(back_to_next_or("home"))
def language(request):
    """Django's set_language, plus remembering a signed-in user's choice."""
    response = set_language(request)
    lang = request.POST.get("language", "")
    if request.user.is_authenticated and lang in dict(settings.LANGUAGES):
        user_set_language(user=request.user, language=lang)
    return response


class LogoutView(auth_views.LogoutView):
    """Signing out takes a POST (the header's button). A GET of the address — reloaded, or
    bookmarked — goes to the home page (or the sign-in page) instead of a blank 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return redirect("home")


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        try:
            ctx["oidc_url"] = reverse("oidc_authentication_init") if settings.OIDC_RP_CLIENT_ID else ""
        except NoReverseMatch:  # the OIDC URLs are added when the setting is present at start-up
            ctx["oidc_url"] = ""
        return ctx


# --- home ----------------------------------------------------------------------------------

HOME_LIST_SIZE = 20
INBOX_PAGE_SIZE = 50


@login_required
def home(request):
    user = request.user
    summary = selectors.home_for(user=user, list_size=HOME_LIST_SIZE)
    problems = []
    for post in selectors.posts_publishing_problems(user=user)[:20]:
        acts = post_actions_for(post=post, user=user)
        if post.author_id == user.id or acts.retry or acts.resolve:
            problems.append((post, publishing_truth(post), acts))
    queue_items = selectors.queue_for(user=user)[:20]
    return page(request, "web/home.html", {
        "drafts": summary.drafts, "recent": summary.recent, "queue": queue_items,
        "step_totals": selectors.lane_step_counts(lane_ids=[i.post.lane_id for i in queue_items]),
        "inbox_new": summary.inbox_new, "inbox_claimed": summary.inbox_claimed,
        "inbox_mine": len(summary.claimed), "claimed": summary.claimed, "problems": problems,
    })


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
            msg = inbound_log_manual(by=user, channel=data["channel"], medium=data["medium"], author=data["author"],
                                     contact=data["contact"], text=data["text"], received_at=data["received_at"],
                                     language=data["language"])
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
    from ...services.engagement import inbound_engage as engage

    msg = _inbound(request, inbound_id)
    try:
        eng, _created = engage(inbound_id=msg.id, by=request.user, action=request.POST.get("action", ""))
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
        delivery = reply_callback_done(delivery_id=delivery_id, by=request.user)
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


# --- live checks (htmx) --------------------------------------------------------------------

@login_required
@post_only(back_to("home"))
def checks(request):
    """Guideline results for unsaved text, rendered as the checks panel (htmx target)."""
    data = request.POST
    kind = PostKind.REPLY if data.get("kind") == PostKind.REPLY else PostKind.POST
    texts = {lang: data.get(f"text_{lang}", "") for lang in ("en", "fr") if f"text_{lang}" in data}
    if "text" in data and data.get("reply_language") in ("en", "fr"):
        texts[data["reply_language"]] = data.get("text", "")
    if any(len(t) > limits.TEXT_MAX for t in texts.values()):
        # Refused before any rule runs: the cost of a check is bounded by limits.TEXT_MAX.
        return render(request, "web/partials/checks.html",
                      {"too_long": limits.TEXT_MAX, "checks": [], "preview": None}, status=413)
    try:
        in_reply_to = int(data.get("in_reply_to") or 0) or None
    except ValueError:
        in_reply_to = None
    preview = preview_checks(
        user=request.user, kind=kind, texts=texts, channels=data.getlist("channels"),
        in_reply_to=in_reply_to, rules_acknowledged=data.get("rules_acknowledged") in ("on", "true", "1"),
    )
    return render(request, "web/partials/checks.html", {"preview": preview, "checks": display_checks(preview.results)})


# --- compose and edit ----------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def compose(request):
    user = request.user
    options = channels_draft_options(user=user)
    # Only channels that can publish are offered (and pre-selected); the others are listed as
    # unavailable, with why for those who may fix them (issue 21).
    choices = [(o.channel.slug, f"{o.channel.name or o.channel.handle} ({o.channel.handle})")
               for o in options if o.usability.usable]
    unavailable = [o for o in options if not o.usability.usable]
    # A caretaker period in force pauses broadcasts to some channels: said now, by name, and
    # not pre-selected (a submit to them is refused while the period lasts).
    offered = {o.channel.id for o in options if o.usability.usable}
    paused = [(period, [c for c in period.paused_channels.all() if c.id in offered])
              for period in periods_active(organisation_id=user.organisation_id)] if user.organisation_id else []
    paused_slugs = {c.slug for _period, chans in paused for c in chans}
    paused = [(period, [c.name or c.handle for c in chans]) for period, chans in paused if chans]
    if request.method == "POST":
        form = ComposeForm(request.POST, channel_choices=choices)
        if form.is_valid():
            submit = "submit" in request.POST
            try:
                create = post_services.post_create_and_submit if submit else post_services.post_create
                post = create(
                    author=user, kind=PostKind.POST, channels=form.cleaned_data["channels"],
                    texts=form.texts(), scheduled_at=form.cleaned_data["scheduled_at"],
                    rules_acknowledged=form.cleaned_data["rules_acknowledged"],
                )
            except WorkflowError as exc:
                service_error(form, exc)
            else:
                messages.success(request, _("Submitted for review.") if submit else _("Draft saved."))
                return redirect("web-post", post_id=post.id)
    else:
        form = ComposeForm(channel_choices=choices,
                           initial={"channels": [c for c, _n in choices if c not in paused_slugs]})
    preview = preview_checks(
        user=user, kind=PostKind.POST, channels=form["channels"].value() or [],
        texts={"en": form["text_en"].value() or "", "fr": form["text_fr"].value() or ""},
        rules_acknowledged=bool(form["rules_acknowledged"].value()),
    )
    return page(request, "web/compose.html", {"form": form, "preview": preview, "unavailable": unavailable,
                                              "paused": paused,
                                              "checks": display_checks(preview.results)})


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
    if acts.edit:
        ctx["edit_form"] = forms.get("edit") or _edit_form(post, texts)
    return ctx


def _edit_form(post, texts: dict) -> ComposeForm:
    """The compose form filled with the post as it is."""
    return ComposeForm(
        channel_choices=[(c.slug, c.name or c.handle) for c in post.channels.all()],
        initial={"version": post.version, "text_en": getattr(texts.get("en"), "body", ""),
                 "text_fr": getattr(texts.get("fr"), "body", ""),
                 "channels": [c.slug for c in post.channels.all()],
                 "rules_acknowledged": post.rules_acknowledged,
                 "scheduled_at": timezone.localtime(post.scheduled_at) if post.scheduled_at else None})


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
    return actions.TRANSLATE.execute(post_id=post.id, by=user, language=form.cleaned_data["language"],
                                     text=form.cleaned_data["text"], version=form.cleaned_data["version"])


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
    return edit.execute(post_id=post.id, by=user, texts=form.texts(), scheduled_at=form.cleaned_data["scheduled_at"],
                rules_acknowledged=form.cleaned_data["rules_acknowledged"], version=form.cleaned_data["version"])


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
    form = form_class(request.POST, **kwargs)
    seq_before = post.audit_seq
    if form.is_valid():
        try:
            call(post, request.user, form)
        except WorkflowError as exc:
            service_error(form, exc)
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
    ctx["next_url"] = reverse("web-post", args=[post.id])  # the language toggle returns to the post page
    return page(request, "web/post.html", ctx, status=400)


# --- approver queue ------------------------------------------------------------------------

QUEUE_PAGE_SIZE = 50


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def queue(request):
    user = request.user
    form = QueueFilterForm(request.GET or None, channel_choices=visible_channel_choices(user))
    filters = {}
    if form.is_valid():
        filters = {"kind": form.cleaned_data["kind"], "channel": form.cleaned_data["channel"],
                   "sort": form.cleaned_data["sort"] or "due"}
    # Filtered, ordered and paginated in SQL: only this page's posts are loaded.
    paged = Paginator(selectors.queue_for(user=user, **filters), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    items = paged.object_list
    return page(request, "web/queue.html", {"form": form, "items": items, "page_obj": paged,
                                            "page_query": _query_without_page(request),
                                            "step_totals": selectors.lane_step_counts(lane_ids=[i.post.lane_id for i in items]),
                                            "results": request.session.pop("bulk_results", None)})


@login_required
@post_only(back_to("web-queue"))
def queue_approve(request):
    """Approve each selected post on its own; report each post's outcome."""
    results = []
    for raw in request.POST.getlist("post"):
        try:
            post_id = int(raw)
            version = int(request.POST.get(f"version_{post_id}") or 0) or None
        except ValueError:
            continue
        try:
            post = actions.APPROVE.execute(post_id=post_id, by=request.user, version=version)
        except WorkflowError as exc:
            results.append({"post": post_id, "ok": False, "message": exc.message})
        else:
            results.append({"post": post_id, "ok": True, "state": post.state})
    if not results:
        messages.error(request, _("Select at least one post to approve."))
    request.session["bulk_results"] = results
    return redirect("web-queue")


# --- metrics -------------------------------------------------------------------------------

@login_required
def metrics(request):
    mp = selectors.metrics_page(user=request.user)
    data, chans, weeks, weekly, step_seconds = mp.data, mp.data["channels"], mp.weeks, mp.weekly, mp.step_seconds
    frt = charts.frt_histogram(mp.frt_values)
    top = max(step_seconds.values(), default=0)
    # The unit follows the data: seconds, minutes or hours.
    step_scale = 3600 if top >= 2 * 3600 else 60 if top >= 120 else 1
    step_values = {name: round(v / step_scale, 3) for name, v in step_seconds.items()}
    step_title = {3600: _("Time in each step (median, hours)"), 60: _("Time in each step (median, minutes)"),
                  1: _("Time in each step (median, seconds)")}[step_scale]
    step_unit = {3600: (_("hours"), _("Hours")), 60: (_("minutes"), _("Minutes")), 1: (_("seconds"), _("Seconds"))}[step_scale]
    ctx = {
        "data": data,
        "frt_chart": charts.bar_chart(title=_("First-response time"), unit=_("messages"),
                                      labels=[b for b, _n in frt], series={_("Messages"): [n for _b, n in frt]}),
        "frt": frt,
        "weekly_chart": charts.bar_chart(title=_("Replies and broadcasts per week"), unit=_("posts"),
                                         labels=[formats.date(formats.week_start(w)) for w in weeks],
                                         series={_("Replies"): [weekly[w]["replies"] for w in weeks],
                                                 _("Broadcasts"): [weekly[w]["broadcasts"] for w in weeks]}),
        "weekly": weekly,
        "steps_chart": charts.bar_chart(title=step_title, unit=step_unit[0], labels=list(step_values),
                                        series={step_unit[1]: list(step_values.values())}),
        "step_seconds": step_seconds,
        "urgent_chart": charts.bar_chart(title=_("Urgent bypasses per channel"), unit=_("posts"),
                                         labels=[c["channel_name"] for c in chans],
                                         series={_("Urgent"): [c["urgent"] for c in chans]}),
        # The relay's state now, for the whole service (as /readyz shows it).
        "outbox": relay.outbox_lag(),
        "voices": selectors.conversation_voices(user=request.user, since=data["since"], until=data["until"]),
    }
    return page(request, "web/metrics.html", ctx)
