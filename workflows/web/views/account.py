"""Sign-in, sign-out, the interface language and the design system's stylesheet."""
from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.i18n import set_language

from accounts.services import user_set_language
from config.staticfiles import gcds_stylesheet

from ..http import back_to_next_or, post_only

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
