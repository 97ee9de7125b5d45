"""Web forms: they parse and shape input only. Every rule is checked by the services."""
from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..constants import InboundStatus

#: Maps a service error key to the form field that shows it.
SERVICE_FIELD = {
    "texts.en": "text_en",
    "texts.fr": "text_fr",
    "texts": "text_en",
    "text": "text",
    "comment": "comment",
    "reason": "reason",
    "channels": "channels",
    "scheduled_at": "scheduled_at",
    "rules_acknowledged": "rules_acknowledged",
    "language": "language",
}

ACK_LABEL = _(
    "I have read the four rules: don't embarrass yourself, don't embarrass the government, "
    "don't be untrue, don't be boring."
)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ReplyForm(VersionForm):
    text = forms.CharField(label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 5}), required=True)
    rules_acknowledged = forms.BooleanField(label=ACK_LABEL, required=False)


class ComposeForm(VersionForm):
    text_en = forms.CharField(label=_("English text"), widget=forms.Textarea(attrs={"rows": 6, "lang": "en"}), required=False)
    text_fr = forms.CharField(label=_("French text"), widget=forms.Textarea(attrs={"rows": 6, "lang": "fr"}), required=False)
    channels = forms.MultipleChoiceField(label=_("Target channels"), widget=forms.CheckboxSelectMultiple, required=False)
    scheduled_at = forms.DateTimeField(
        label=_("Publish at (optional)"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text=_("Leave empty to publish as soon as the post is approved."),
    )
    rules_acknowledged = forms.BooleanField(label=ACK_LABEL, required=False)

    def __init__(self, *args, channel_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channels"].choices = list(channel_choices)

    def texts(self) -> dict[str, str]:
        return {lang: self.cleaned_data[f"text_{lang}"] for lang in ("en", "fr") if self.cleaned_data.get(f"text_{lang}", "").strip()}

    def clean_scheduled_at(self):
        value = self.cleaned_data.get("scheduled_at")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class CommentForm(VersionForm):
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class TranslationForm(VersionForm):
    language = forms.ChoiceField(label=_("Language"), choices=[("en", _("English")), ("fr", _("French"))])
    text = forms.CharField(label=_("Translation"), widget=forms.Textarea(attrs={"rows": 5}), required=False)


class UrgentForm(VersionForm):
    reason = forms.CharField(label=_("Reason for urgent publishing"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class InboxFilterForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("Open (new or claimed)")), *InboundStatus.choices, ("all", _("All"))],
    )

    def __init__(self, *args, channel_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("All channels")), *channel_choices]


class QueueFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Waiting for"), required=False,
        choices=[("", _("Everything")), ("review", _("Review")), ("translation", _("Translation")),
                 ("sign_off", _("Sign-off")), ("spot_check", _("Spot-check")),
                 ("retrospective", _("Retrospective"))],
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"), required=False,
        choices=[("due", _("Most overdue first")), ("newest", _("Newest first")), ("oldest", _("Oldest first"))],
    )

    def __init__(self, *args, channel_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("All channels")), *channel_choices]
