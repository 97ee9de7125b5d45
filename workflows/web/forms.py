"""Web forms: they parse and shape input only. Every rule is checked by the services."""
from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import limits
from ..constants import DismissReason, InboundStatus, ReviewVerdict
from .media import ACCEPT as MEDIA_ACCEPT

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
    "url": "url",
    "medium": "medium",
    "author": "author",
    "contact": "contact",
    "received_at": "received_at",
    "external_id": "author",
}

ACK_LABEL = _(
    "I have read the four rules: don't embarrass yourself, don't embarrass the government, "
    "don't be untrue, don't be boring."
)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ReplyForm(VersionForm):
    content_warning = forms.CharField(
        label=_("Content warning"), required=False, max_length=limits.CONTENT_WARNING_MAX,
        help_text=_("Shown before the reply, as the citizen's was (Mastodon). Leave empty for none."))
    text = forms.CharField(label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 5}), required=True,
                           max_length=limits.TEXT_MAX)
    rules_acknowledged = forms.BooleanField(label=ACK_LABEL, required=False)


class ComposeForm(VersionForm):
    text_en = forms.CharField(label=_("English text"), widget=forms.Textarea(attrs={"rows": 6, "lang": "en"}), required=False,
                              max_length=limits.TEXT_MAX)
    text_fr = forms.CharField(label=_("French text"), widget=forms.Textarea(attrs={"rows": 6, "lang": "fr"}), required=False,
                              max_length=limits.TEXT_MAX)
    channels = forms.MultipleChoiceField(label=_("Target channels"), widget=forms.CheckboxSelectMultiple, required=False)
    scheduled_at = forms.DateTimeField(
        label=_("Publish at (optional)"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text=_("Leave empty to publish as soon as the post is approved."),
    )
    rules_acknowledged = forms.BooleanField(label=ACK_LABEL, required=False)
    #: A new image or video (issue 22): stored through services.media.medium_upload, which reads
    #: its type from its content; `accept` only helps the browser's file picker.
    media_upload = forms.FileField(
        label=_("Attach an image or a video"), required=False, max_length=255,
        widget=forms.FileInput(attrs={"accept": MEDIA_ACCEPT}),
        help_text=_("A JPEG, PNG, GIF or WebP image, or an MP4 video (the platforms take up to 4 images, or "
                    "one video, per post). You describe each one below, in each language of its post."))

    def __init__(self, *args, channel_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channels"].choices = list(channel_choices)
        #: the media fieldsets (workflows.web.media.Entry), set by the view
        self.media_entries: list = []

    def texts(self) -> dict[str, str]:
        return {lang: self.cleaned_data[f"text_{lang}"] for lang in ("en", "fr") if self.cleaned_data.get(f"text_{lang}", "").strip()}

    def clean_scheduled_at(self):
        value = self.cleaned_data.get("scheduled_at")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class CommentForm(VersionForm):
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                              max_length=limits.COMMENT_MAX)


class TranslationForm(VersionForm):
    language = forms.ChoiceField(label=_("Language"), choices=[("en", _("English")), ("fr", _("French"))])
    text = forms.CharField(label=_("Translation"), widget=forms.Textarea(attrs={"rows": 5}), required=False,
                           max_length=limits.TEXT_MAX)


class RetractForm(VersionForm):
    """The confirmation step of Retract: nothing is deleted unless the box is ticked."""

    confirm = forms.BooleanField(
        label=_("Yes, delete what this post published from the platforms. This cannot be undone."),
        error_messages={"required": _("Tick the box to confirm that the live languages should be deleted.")})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_retract_%s")  # one of several forms on the post page
        super().__init__(*args, **kwargs)


class UrgentForm(VersionForm):
    reason = forms.CharField(label=_("Reason for urgent publishing"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                             max_length=limits.REASON_MAX)


class ResolveForm(forms.Form):
    """Settle one publication whose outcome is unknown. `sent` comes from the button pressed
    ("1": it was published, "0": it was not); `publication` must be one of this post's."""

    publication = forms.TypedChoiceField(coerce=int, widget=forms.HiddenInput)
    sent = forms.TypedChoiceField(choices=[("1", _("It was published")), ("0", _("It was not published"))],
                                  coerce=lambda v: v == "1", widget=forms.HiddenInput)
    url = forms.URLField(label=_("Address of the published post (optional)"), required=False, max_length=500,
                         assume_scheme="https")

    def __init__(self, *args, publication_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["publication"].choices = [(str(i), str(i)) for i in publication_ids]
        # One form per publication on the page: give each its own element ids.
        raw = str(self.data.get("publication", "") if self.is_bound else self.initial.get("publication", ""))
        if raw.isdigit() and len(raw) < 20:
            self.auto_id = f"id_pub{raw}_%s"

    def clean(self):
        data = super().clean()
        if data.get("sent") is False and data.get("url"):
            self.add_error("url", _("Give an address only if it was published."))
        return data


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


# --- closing the loops (issue 11) ----------------------------------------------------------

class ReviewCompleteForm(forms.Form):
    """Complete a spot-check or a retrospective review."""

    review = forms.TypedChoiceField(coerce=int, widget=forms.HiddenInput)
    verdict = forms.ChoiceField(label=_("Verdict"), widget=forms.RadioSelect, choices=ReviewVerdict.choices)
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                              help_text=_("Required when it needs follow-up: say what should happen."))

    def __init__(self, *args, review_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["review"].choices = [(str(i), str(i)) for i in review_ids]

    def clean(self):
        data = super().clean()
        if data.get("verdict") == ReviewVerdict.FOLLOW_UP and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Say what needs follow-up."))
        return data


class DismissForm(forms.Form):
    """Close a citizen message without a reply."""

    reason = forms.ChoiceField(label=_("Why close it without a reply?"), widget=forms.RadioSelect,
                               choices=DismissReason.choices)
    comment = forms.CharField(label=_("Comment (optional)"), widget=forms.Textarea(attrs={"rows": 2}),
                              required=False, max_length=limits.DISMISS_COMMENT_MAX)


class LogMessageForm(forms.Form):
    """A citizen message received by phone or e-mail, logged into the inbox by staff."""

    medium = forms.ChoiceField(label=_("Received by"), widget=forms.RadioSelect,
                               choices=[("phone", _("Phone")), ("email", _("E-mail"))])
    author = forms.CharField(label=_("Their name"), max_length=300)
    contact = forms.CharField(label=_("Phone number or e-mail address to answer"), max_length=300,
                              help_text=_("The reply goes back this way (a call-back or an e-mail), never on a "
                                          "social platform. Shown only to people who may reply."))
    text = forms.CharField(label=_("What they asked"), widget=forms.Textarea(attrs={"rows": 5}), max_length=limits.INBOUND_TEXT_MAX)
    language = forms.ChoiceField(label=_("Language of the message"), required=False,
                                 choices=[("", _("Detect it")), ("en", _("English")), ("fr", _("French"))])
    channel = forms.ChoiceField(label=_("Account a reply would go out on"))
    received_at = forms.DateTimeField(
        label=_("Received at (optional)"), required=False, help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args, channel_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = list(channel_choices)

    def clean_received_at(self):
        value = self.cleaned_data.get("received_at")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value
