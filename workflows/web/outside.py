"""Outside approvers and translation bureaus in the web UI: invite, list and revoke on the post
page (staff), and the page behind a link (`/o/<token>/`, no account): only the post's texts in
the link's languages, and the decision the link allows. Refusals are a bilingual page with the
right status; the page is never indexed, cached or leaked through the Referer header."""
from __future__ import annotations

import hashlib

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from config.client_ip import client_ip

from .. import actions, limits
from ..constants import Verdict
from ..exceptions import WorkflowError
from ..messages import render as render_code
from ..services import outside_review
from .http import back_to, back_to_next_or, post_only
from .views import describe_errors, safe_next

LANGUAGE_CHOICES = [("en", gettext_lazy("English")), ("fr", gettext_lazy("French"))]


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    languages = forms.MultipleChoiceField(label=gettext_lazy("Languages they see"), choices=LANGUAGE_CHOICES,
                                          widget=forms.CheckboxSelectMultiple)
    can_edit = forms.BooleanField(label=gettext_lazy("They write the translation of these languages (translation step)"),
                                  required=False)
    hours = forms.IntegerField(label=gettext_lazy("Link valid for (hours)"), min_value=1,
                               max_value=10_000, required=False)


class DecisionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    comment = forms.CharField(label=gettext_lazy("Comment"), required=False, max_length=limits.COMMENT_MAX,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=gettext_lazy("Required when you request changes."))

    def __init__(self, *args, languages=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = {"en": gettext_lazy("English text"), "fr": gettext_lazy("French text")}
        for lang in languages:
            self.fields[f"text_{lang}"] = forms.CharField(
                label=labels[lang], required=False, max_length=limits.TEXT_MAX,
                widget=forms.Textarea(attrs={"rows": 6, "lang": lang}))

    def texts(self) -> dict[str, str]:
        return {name[5:]: value for name, value in self.cleaned_data.items()
                if name.startswith("text_") and value}


# --- staff: invite and revoke on the post page ------------------------------------------------

@login_required
@post_only(back_to("web-post", "post_id"))
def invite(request, post_id: int):
    form = InviteForm(request.POST)
    target = reverse("web-post", args=[post_id]) + "#outside-h"
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(str(e) for e in errors)}")
        return redirect(target)
    try:
        actions.INVITE.execute(
            post_id=post_id, by=request.user, email=form.cleaned_data["email"],
            languages=form.cleaned_data["languages"], can_edit=form.cleaned_data["can_edit"],
            hours=form.cleaned_data["hours"], link_base=request.build_absolute_uri("/"))
    except WorkflowError as exc:
        messages.error(request, exc.message)
        return redirect(target)
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"].lower()})
    return redirect(target)


@login_required
@post_only(back_to_next_or("home"))
def revoke(request, invitation_id: int):
    try:
        inv = actions.REVOKE_INVITATION.execute(invitation_id=invitation_id, by=request.user)
    except WorkflowError as exc:
        messages.error(request, exc.message)
        return redirect(safe_next(request, reverse("home")))
    messages.success(request, _("Link revoked: %(email)s can no longer use it.") % {"email": inv.email})
    return redirect(reverse("web-post", args=[inv.post_id]) + "#outside-h")


def post_section(*, request, post) -> dict:
    """What the post page's "People from outside" section shows (templatetags/outside.py)."""
    user = request.user
    try:
        invitations = list(outside_review.invitations_for_post(post_id=post.id, user=user)[:50])
    except WorkflowError:
        invitations = []
    return {"outside_invitations": invitations, "outside_may_invite": actions.may_invite(user),
            "outside_form": InviteForm(initial={"languages": ["en", "fr"]}),
            "outside_open": post.state == "in_review"}


# --- the outsider's page ---------------------------------------------------------------------

def _over_limit(request, token: str) -> bool:
    """A fixed-window counter in the shared cache, per client address and per link (hashed: the
    cache never holds a usable link)."""
    window = max(1, int(settings.OUTSIDE_LINK_RATE_WINDOW))
    slot = int(timezone.now().timestamp()) // window
    keyed = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:32]
    over = False
    for key, limit in ((f"parley:outside:ip:{client_ip(request)}:{slot}", settings.OUTSIDE_LINK_RATE_PER_IP),
                       (f"parley:outside:link:{keyed}:{slot}", settings.OUTSIDE_LINK_RATE_PER_LINK)):
        cache.add(key, 0, timeout=window + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window + 5)
            count = 1
        over = over or count > int(limit)
    return over


def _private(response):
    """Never indexed, never cached, never sent on as a Referer."""
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store, private, max-age=0"
    response["Pragma"] = "no-cache"
    return response


def _refused(request, code: str, status: int):
    """A clear page in the reader's language, with the other language below it."""
    here = translation.get_language() or "en"
    other = "fr" if here.startswith("en") else "en"
    with translation.override(other):
        other_text = render_code(code)
    return _private(render(request, "web/outside_refused.html", {
        "message": render_code(code), "other_message": other_text, "other_lang": other, "status": status,
    }, status=status))


# The link's token is the credential, not a cookie: a forged cross-site POST would need the
# token itself, so CSRF cookies add nothing here. They would also fail: the page's
# Referrer-Policy no-referrer makes browsers send `Origin: null` with the form.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def link(request, token: str):
    lang = request.GET.get("lang")
    if lang in dict(settings.LANGUAGES):
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
    if _over_limit(request, token):
        response = _refused(request, "outside.rate_limited", 429)
        response["Retry-After"] = str(settings.OUTSIDE_LINK_RATE_WINDOW)
        return response
    try:
        view = outside_review.invitation_resolve(token=token)
    except WorkflowError as exc:
        return _refused(request, exc.code, exc.status)
    languages = view.invitation.languages if view.may_edit else []
    form = DecisionForm(request.POST or None, languages=languages,
                        initial={"version": view.version, **{f"text_{k}": v for k, v in view.texts.items()}})
    error = ""
    if request.method == "POST" and form.is_valid():
        verdict = Verdict.REQUEST_CHANGES if "request_changes" in request.POST else Verdict.APPROVE
        try:
            outcome = actions.OUTSIDE_DECIDE.execute(token=token, verdict=verdict, comment=form.cleaned_data["comment"],
                                                     texts=form.texts(), version=form.cleaned_data["version"])
        except WorkflowError as exc:
            if exc.status in (403, 410) and exc.code.startswith("outside.link"):
                return _refused(request, exc.code, exc.status)
            error = exc.message
            for field, msgs in exc.rendered_errors().items():
                name = {"comment": "comment"}.get(field) or (f"text_{field.split('.')[-1]}" if field.startswith("text") else "")
                if name in form.fields:
                    form.add_error(name, msgs)
            status = exc.status
        else:
            return _private(render(request, "web/outside_done.html", {"view": view, "verdict": verdict,
                                                                      "returned_to": outcome.returned_to,
                                                                      "not_written": outcome.not_written}))
    else:
        status = 400 if request.method == "POST" else 200
    describe_errors(form)
    texts = [(code, view.texts.get(code, "")) for code in view.invitation.languages]
    return _private(render(request, "web/outside.html", {
        "view": view, "form": form, "texts": texts, "error": error, "token": token,
    }, status=status))
