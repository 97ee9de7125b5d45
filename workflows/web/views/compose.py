"""Composing a post, and the live checks (htmx) beside the form."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ... import actions, limits
from ...constants import PostKind
from ...exceptions import WorkflowError
from ...messages import display_results as display_checks
from ...services.caretaker import periods_active
from ...services.channels import channels_draft_options
from ...services.preview import preview_checks
from .. import media as media_web
from ..forms import ComposeForm
from ..http import back_to, post_only
from .common import page, service_error

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
    # The form's media (issue 22): the stored ones and a file chosen but not stored yet; their
    # counters and results go back beside each alternative text (htmx out-of-band swaps).
    entries = media_web.parse_entries(data, None, user=request.user)
    infos = [e.info() for e in entries]
    pending = "media_new_kind" in data
    if pending:
        infos.append(media_web.pending_info(data, len(infos) + 1))
    preview = preview_checks(
        user=request.user, kind=kind, texts=texts, channels=data.getlist("channels"),
        in_reply_to=in_reply_to, rules_acknowledged=data.get("rules_acknowledged") in ("on", "true", "1"),
        media=infos,
    )
    shown: list = [*entries, media_web.Pending(number=len(entries) + 1)] if pending else list(entries)
    media_web.attach_preview(shown, preview)
    return render(request, "web/partials/checks.html", {"preview": preview, "checks": display_checks(preview.results),
                                                        "media_oob": shown})


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
        form = ComposeForm(request.POST, request.FILES, channel_choices=choices)
        # Media (issue 22): the listed ones, a button that removes or moves one, a new file.
        entries = media_web.parse_entries(request.POST, request.FILES, user=user)
        entries, rearranged = media_web.rearrange(request.POST, entries, form)
        valid = form.is_valid()
        stored = rearranged or media_web.attach_upload(request, form, entries)
        if valid and stored and not rearranged and "media_attach" not in request.POST \
                and not media_web.entry_errors(entries):
            submit = "submit" in request.POST
            media = {"media": [e.for_service() for e in entries]} if entries else {}
            try:
                create = actions.CREATE_AND_SUBMIT if submit else actions.CREATE
                post = create.execute(
                    author=user, kind=PostKind.POST, channels=form.cleaned_data["channels"],
                    texts=form.texts(), scheduled_at=form.cleaned_data["scheduled_at"],
                    rules_acknowledged=form.cleaned_data["rules_acknowledged"], **media,
                )
            except WorkflowError as exc:
                service_error(form, exc, elsewhere=media_web.place_errors(entries, exc.errors))
            else:
                messages.success(request, _("Submitted for review.") if submit else _("Draft saved."))
                return redirect("web-post", post_id=post.id)
        form.media_entries = entries
    else:
        form = ComposeForm(channel_choices=choices,
                           initial={"channels": [c for c, _n in choices if c not in paused_slugs]})
    preview = preview_checks(
        user=user, kind=PostKind.POST, channels=form["channels"].value() or [],
        texts={"en": form["text_en"].value() or "", "fr": form["text_fr"].value() or ""},
        rules_acknowledged=bool(form["rules_acknowledged"].value()),
        media=[e.info() for e in form.media_entries],
    )
    media_web.attach_preview(form.media_entries, preview)
    return page(request, "web/compose.html", {"form": form, "preview": preview, "unavailable": unavailable,
                                              "paused": paused, **media_web.context(form),
                                              "checks": display_checks(preview.results)})
