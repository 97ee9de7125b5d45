"""People speak as themselves: a person sets the signature their replies carry."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from .. import selectors
from ..exceptions import WorkflowError
from ..services.signatures import user_set_signature


class SignatureForm(forms.Form):
    signature_en = forms.CharField(
        label=gettext_lazy("Signature in English"), max_length=100, required=False,
        widget=forms.TextInput(attrs={"lang": "en"}),
        help_text=format_lazy("{} {}", gettext_lazy("For example: – Dana, Passport Program"),
                              gettext_lazy("At most 100 characters.")))
    signature_fr = forms.CharField(
        label=gettext_lazy("Signature in French"), max_length=100, required=False,
        widget=forms.TextInput(attrs={"lang": "fr"}),
        help_text=format_lazy("{} {}", gettext_lazy("For example: – Dana, Programme de passeport"),
                              gettext_lazy("At most 100 characters.")))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # No maxlength in the page: a browser cuts a longer paste silently (a 225-character
        # signature was "saved" as its first 100). The server says what is too long, and by how much.
        for field in self.fields.values():
            field.widget.attrs.pop("maxlength", None)


@login_required
@require_http_methods(["GET", "POST"])
def signature(request):
    user = request.user
    form = SignatureForm(request.POST or None, initial={"signature_en": user.signature_en, "signature_fr": user.signature_fr})
    if request.method == "POST" and form.is_valid():
        try:
            user_set_signature(user=user, **form.cleaned_data)
        except WorkflowError as exc:
            for field, msgs in (exc.errors or {}).items():
                for m in msgs:
                    form.add_error(field if field in form.fields else None, m)
        else:
            messages.success(request, _("Signature saved."))
            return redirect("web-signature")
    personal = selectors.personal_channels_of(user=user)
    return render(request, "web/signature.html", {"form": form, "personal_channels": personal})
