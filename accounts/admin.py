from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from .models import ApiToken, Organisation, Team, User
from .services import token_revoke


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Parley", {"fields": ("organisation", "preferred_language")}),
    )
    list_display = ("username", "email", "organisation", "preferred_language", "is_staff")
    list_filter = ("organisation", "is_staff", "is_superuser", "is_active")


@admin.register(Organisation)
class OrganisationAdmin(TranslationAdmin):
    list_display = ("name", "slug", "parent")
    prepopulated_fields = {"slug": ("name_en",)}
    search_fields = ("name", "slug")


@admin.register(Team)
class TeamAdmin(TranslationAdmin):
    list_display = ("name", "slug", "organisation")
    list_filter = ("organisation",)
    search_fields = ("name", "slug")


@admin.action(description=_("Revoke selected tokens"))
def revoke_tokens(modeladmin, request, queryset):
    for token_id in queryset.filter(revoked_at__isnull=True).values_list("id", flat=True):
        token_revoke(token_id=token_id, by=request.user, via="admin")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """A token belongs to the user it was issued to, and revocation is one-way: the owner and
    the revocation time are read-only here (reassigning a key or bringing a revoked one back
    would hand someone a credential nobody issued to them). Revoke with the action; issue with
    `manage.py issue_token`. Every change is in the security audit chain."""

    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    readonly_fields = ("user", "prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = [revoke_tokens]

    def has_add_permission(self, request):
        # Keys are shown once at creation: issue them with `manage.py issue_token`.
        return False
