"""Caretaker (election) periods in the web UI: the page that lists and declares them, and the
banner every page shows while one is in force."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from .. import limits, selectors
from ..exceptions import WorkflowError
from ..services import caretaker as caretaker_services
from .http import back_to, post_only

WHEN: dict[str, Any] = {"widget": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        "input_formats": ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]}


class CaretakerForm(forms.Form):
    name_en = forms.CharField(label=gettext_lazy("Name in English"), max_length=200,
                              widget=forms.TextInput(attrs={"lang": "en"}))
    name_fr = forms.CharField(label=gettext_lazy("Name in French"), max_length=200,
                              widget=forms.TextInput(attrs={"lang": "fr"}))
    starts_at = forms.DateTimeField(label=gettext_lazy("Starts"), **WHEN)
    ends_at = forms.DateTimeField(label=gettext_lazy("Ends"), **WHEN)
    official_lane_only = forms.BooleanField(
        label=gettext_lazy("Every reply needs approval"), required=False, initial=True)
    reply_topics = forms.CharField(
        label=gettext_lazy("Topics that need approval (one per line)"), required=False, max_length=limits.CARETAKER_TOPICS_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Used when not every reply needs approval."))
    paused_channels = forms.MultipleChoiceField(
        label=gettext_lazy("Channels paused for broadcasts"), required=False, widget=forms.CheckboxSelectMultiple)
    banner_en = forms.CharField(label=gettext_lazy("Banner in English"), max_length=500, required=False,
                                widget=forms.TextInput(attrs={"lang": "en"}))
    banner_fr = forms.CharField(label=gettext_lazy("Banner in French"), max_length=500, required=False,
                                widget=forms.TextInput(attrs={"lang": "fr"}))

    def __init__(self, *args, channel_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paused_channels"].choices = channel_choices

    def _aware(self, name):
        value = self.cleaned_data.get(name)
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value

    def clean_starts_at(self):
        return self._aware("starts_at")

    def clean_ends_at(self):
        return self._aware("ends_at")

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["reply_topics"] = [t for t in data.get("reply_topics", "").splitlines() if t.strip()]
        return data


def _may_manage(user) -> bool:
    return user.has_perm("workflows.add_caretakerperiod")


@login_required
@require_http_methods(["GET", "POST"])
def caretaker(request):
    user = request.user
    chans = selectors.channels_of_own_organisation(user=user)
    form = CaretakerForm(request.POST or None, channel_choices=[(c.slug, c.name) for c in chans])
    caught: list = []
    if request.method == "POST":
        if not _may_manage(user):
            messages.error(request, _("You may not manage caretaker periods."))
            return redirect("web-caretaker")
        if form.is_valid():
            try:
                period, caught_ids = caretaker_services.caretaker_period_create(by=user, **form.service_kwargs())
            except WorkflowError as exc:
                for field, msgs in (exc.errors or {}).items():
                    for m in msgs:
                        form.add_error(field if field in form.fields else None, m)
                if not exc.errors:
                    form.add_error(None, str(exc))
            else:
                messages.success(request, _("Caretaker period declared."))
                if caught_ids:
                    request.session["caretaker_caught"] = caught_ids
                return redirect("web-caretaker")
    caught_ids = request.session.pop("caretaker_caught", [])
    if caught_ids:
        caught = selectors.posts_held_by_caretaker(user=user, post_ids=caught_ids)
    now = timezone.now()
    periods = list(selectors.caretaker_periods_visible(user=user))
    return render(request, "web/caretaker.html", {
        "periods": periods, "form": form, "may_manage": _may_manage(user), "caught": caught, "now": now,
    })


@login_required
@post_only(back_to("web-caretaker"))
def caretaker_cancel(request, period_id: int):
    try:
        caretaker_services.caretaker_period_cancel(period_id=period_id, by=request.user)
    except WorkflowError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Caretaker period ended."))
    return redirect("web-caretaker")


def caretaker_banner(request) -> dict:
    """Context processor: the period in force for the signed-in user's organisation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"caretaker_period": selectors.caretaker_period_current(user=user)}
