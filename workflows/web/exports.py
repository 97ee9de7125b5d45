"""Access-to-information exports in the web UI: request one (/exports/), follow its progress
(/exports/<id>/, polled with htmx), download it until it expires (410 page afterwards)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from .. import selectors
from ..exceptions import Conflict, Gone, NotFound, WorkflowError
from ..messages import render as words_for
from ..permissions import may_export
from ..services import atip


class ExportForm(forms.Form):
    organisation = forms.TypedChoiceField(label=gettext_lazy("Organisation"), coerce=int)
    channels = forms.MultipleChoiceField(
        label=gettext_lazy("Channels"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None chosen: every channel of the organisation."))
    date_from = forms.DateField(label=gettext_lazy("From (date)"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    date_to = forms.DateField(label=gettext_lazy("To (date, included)"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    post = forms.IntegerField(label=gettext_lazy("One post only (its number)"), required=False, min_value=1,
                              max_value=2**31 - 1)
    inbound = forms.IntegerField(label=gettext_lazy("One citizen message only (its number)"), required=False,
                                 min_value=1, max_value=2**31 - 1)
    redact_names = forms.BooleanField(
        label=gettext_lazy("Redact citizens' names"), required=False,
        help_text=gettext_lazy("The full name and each part of it on its own (given names, parts of a hyphenated "
                               "name, family name), with a title before it, whatever the case and accents."))
    redact_handles = forms.BooleanField(label=gettext_lazy("Redact citizens' handles"), required=False)
    redact_patterns = forms.CharField(
        label=gettext_lazy("Redact text matching these patterns (one per line)"), required=False,
        max_length=atip.MAX_PATTERNS * (atip.PATTERN_MAX + 2), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Regular expressions (RE2), for example a file number: AB-[0-9]+. "
                               "At most 20 patterns of at most 200 characters."))

    def __init__(self, *args, orgs=(), channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [(o.id, o.name) for o in orgs]
        many = len({c.organisation_id for c in channels}) > 1
        self.fields["channels"].choices = [
            (c.slug, f"{c.name or c.slug} ({c.organisation.name})" if many else (c.name or c.slug)) for c in channels]

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        tz = timezone.get_current_timezone()
        start = datetime.combine(d["date_from"], time.min, tzinfo=tz) if d.get("date_from") else None
        end = (datetime.combine(d["date_to"], time.min, tzinfo=tz) + timedelta(days=1) - timedelta(microseconds=1)
               if d.get("date_to") else None)
        return {
            "organisation_id": d["organisation"], "channels": d.get("channels") or [], "date_from": start,
            "date_to": end, "post_id": d.get("post"), "inbound_id": d.get("inbound"),
            "redact_names": d.get("redact_names", False), "redact_handles": d.get("redact_handles", False),
            "redact_patterns": [p for p in (d.get("redact_patterns") or "").splitlines() if p.strip()],
            "language": (get_language() or "en")[:2],
        }


@login_required
@require_http_methods(["GET", "POST"])
def exports(request):
    user = request.user
    may = may_export(user)
    orgs = list(selectors.atip_organisations_exportable(user=user))
    chans = list(selectors.atip_channels_exportable(organisations=orgs))
    initial = {"organisation": user.organisation_id, "post": request.GET.get("post") or None,
               "inbound": request.GET.get("inbound") or None}
    form = ExportForm(request.POST or None, orgs=orgs, channels=chans, initial=initial)
    if request.method == "POST":
        if not may:
            messages.error(request, words_for("atip.not_permitted"))
            return redirect("web-exports")
        if form.is_valid():
            try:
                export = atip.atip_export_request(by=user, **form.service_kwargs())
            except WorkflowError as exc:
                names = {"post_id": "post", "inbound_id": "inbound", "organisation_id": "organisation"}
                for field, msgs in (exc.errors or {}).items():
                    field = names.get(field, field)
                    for m in msgs:
                        form.add_error(field if field in form.fields else None, str(m))
                if not exc.errors:
                    form.add_error(None, str(exc))
            else:
                messages.success(request, _("Export requested. It is being prepared."))
                return redirect("web-export", export_id=export.id)
    return render(request, "web/exports.html", {
        "form": form, "may_export": may, "exports": list(selectors.atip_exports_visible(user=user)[:50]),
        "now": timezone.now(),
    })


def _visible(request, export_id: int):
    try:
        return selectors.atip_export_get_visible(export_id=export_id, user=request.user)
    except NotFound:
        raise Http404 from None


@login_required
@require_GET
def export_detail(request, export_id: int):
    export = _visible(request, export_id)
    return render(request, "web/export.html", {"export": export, "now": timezone.now()})


@login_required
@require_GET
def export_progress(request, export_id: int):
    """The progress region's content (htmx polls it every second until the export finishes)."""
    export = _visible(request, export_id)
    return render(request, "web/partials/export_progress.html", {"export": export, "now": timezone.now()})


@login_required
@require_GET
def export_download(request, export_id: int):
    try:
        export, path = atip.atip_export_download(export_id=export_id, by=request.user)
    except NotFound:
        raise Http404 from None
    except Gone:
        # A clear page in both official languages: whoever follows an old link understands it.
        words = {}
        for lang in ("en", "fr"):
            with translation.override(lang):
                words[lang] = {"title": _("Download expired"), "text": words_for("atip.expired"),
                               "back": _("Back to exports")}
        return render(request, "web/export_gone.html", {"words": words, "export_id": export_id}, status=410)
    except Conflict:
        messages.info(request, words_for("atip.not_ready"))
        return redirect("web-export", export_id=export_id)
    response = FileResponse(open(path, "rb"), as_attachment=True,  # noqa: SIM115 - closed by Django
                            filename=f"parley-atip-{export.id}.zip", content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response
