from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from guardian.admin import GuardedModelAdmin
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline

from .guidelines import params_problems
from .messages import render as render_message
from .models import (
    AtipExport,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    CaretakerPeriod,
    Channel,
    Decision,
    Engagement,
    EscalationRule,
    GuidelineRule,
    HoldingReply,
    IdempotencyRecord,
    InboundMessage,
    Lane,
    LaneStep,
    ListeningCursor,
    ListeningStream,
    OutboxEvent,
    OutsideInvitation,
    Post,
    PostReview,
    PostRevision,
    PostText,
    Publication,
    WebhookSubscription,
)
from .services.policy import policy_record_change


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by services: visible to staff, never edited in the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Channel)
class ChannelAdmin(TranslationAdmin, GuardedModelAdmin):
    list_display = ("slug", "platform", "handle", "languages", "adapter", "organisation", "is_active")
    list_filter = ("organisation", "platform", "adapter", "is_active")
    search_fields = ("slug", "handle", "name")
    actions = ["test_connection"]
    # adapter_config is validated by the adapter's schema in Channel.clean() (the form calls it).

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        from .services.channels import channel_limits_refresh

        # Limits come from the platform: asked at save when it is reachable (and at every
        # preflight and test connection), not left at a hand-set default.
        transaction.on_commit(lambda: channel_limits_refresh(channel_id=obj.id))

    @admin.action(description=gettext_lazy("Test connection (who the channel posts as)"))
    def test_connection(self, request, queryset):
        from .exceptions import WorkflowError
        from .messages import render
        from .services.channels import channel_test_connection

        for channel in queryset:
            try:
                result = channel_test_connection(channel_id=channel.id, by=request.user)
            except WorkflowError as exc:
                self.message_user(request, f"{channel.slug}: {exc}", level=messages.ERROR)
                continue
            if result["ok"]:
                account = result["account"]
                self.message_user(request, _("%(channel)s posts as %(handle)s (%(name)s).") % {
                    "channel": channel.slug, "handle": account["handle"], "name": account["display_name"] or "—"},
                    level=messages.SUCCESS)
                for note in result.get("notes", []):
                    self.message_user(request, f"{channel.slug}: {render(note['code'], note['params'])}",
                                      level=messages.WARNING)
            else:
                self.message_user(request, f"{channel.slug}: {result['message']} ({result['detail']})",
                                  level=messages.ERROR)


class LaneStepInline(TranslationTabularInline):
    model = LaneStep
    extra = 0


class GuidelineRuleForm(forms.ModelForm):
    """A lane rule's settings are checked against what its kind takes (guidelines.params_problems),
    so a typo is a form error in the reader's language, never a rule that fails at submit."""

    class Meta:
        model = GuidelineRule
        fields = ["lane", "kind", "params", "severity", "enabled"]

    def clean(self):
        cleaned = super().clean()
        problems = params_problems(cleaned.get("kind") or "", cleaned.get("params"))
        if problems:
            raise ValidationError({"params": [render_message(code, params) for code, params in problems]})
        return cleaned


class GuidelineRuleInline(admin.TabularInline):
    model = GuidelineRule
    form = GuidelineRuleForm
    extra = 0


class EscalationRuleInline(TranslationTabularInline):
    model = EscalationRule
    fk_name = "lane"
    extra = 0


class PolicyAuditMixin:
    """Every change to policy made in the admin is appended to the organisation's policy chain
    of the audit trail, in the admin's own transaction."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        policy_record_change(obj=obj, actor=request.user, action="changed" if change else "created",
                             changed_fields=list(form.changed_data))

    def delete_model(self, request, obj):
        policy_record_change(obj=obj, actor=request.user, action="deleted")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            policy_record_change(obj=obj, actor=request.user, action="deleted")
        super().delete_queryset(request, queryset)

    def save_formset(self, request, form, formset, change):
        for deleted_form in formset.deleted_forms:
            if deleted_form.instance.pk:
                policy_record_change(obj=deleted_form.instance, actor=request.user, action="deleted")
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            policy_record_change(obj=obj, actor=request.user, action="created")
        for obj, fields in formset.changed_objects:
            policy_record_change(obj=obj, actor=request.user, action="changed", changed_fields=fields)


@admin.register(Lane)
class LaneAdmin(PolicyAuditMixin, TranslationAdmin):
    list_display = ("slug", "name", "kind", "organisation", "required_languages", "allow_urgent")
    list_filter = ("organisation", "kind")
    inlines = [LaneStepInline, GuidelineRuleInline, EscalationRuleInline]


@admin.register(LaneStep)
class LaneStepAdmin(PolicyAuditMixin, TranslationAdmin):
    list_display = ("lane", "order", "name", "kind", "team", "quorum", "sla")
    list_filter = ("lane__organisation", "kind")


@admin.register(GuidelineRule)
class GuidelineRuleAdmin(PolicyAuditMixin, admin.ModelAdmin):
    form = GuidelineRuleForm
    list_display = ("lane", "kind", "severity", "enabled")
    list_filter = ("lane__organisation", "kind", "severity", "enabled")


@admin.register(EscalationRule)
class EscalationRuleAdmin(PolicyAuditMixin, TranslationAdmin):
    list_display = ("lane", "kind", "reason", "enabled")
    list_filter = ("lane__organisation", "kind", "enabled")


class PostTextInline(admin.TabularInline):
    model = PostText
    extra = 0
    can_delete = False
    readonly_fields = ("language", "body", "version", "updated_by", "updated_at")

    def has_add_permission(self, request, obj=None):
        return False


class DecisionInline(admin.TabularInline):
    model = Decision
    extra = 0
    can_delete = False
    readonly_fields = ("step", "revision", "reviewer", "verdict", "comment", "created_at", "invalidated_at")

    def has_add_permission(self, request, obj=None):
        return False


class PublicationInline(admin.TabularInline):
    model = Publication
    extra = 0
    can_delete = False
    fields = ("channel", "language", "status", "attempts", "external_id", "url", "last_error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Post)
class PostAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "lane", "state", "author", "current_step", "scheduled_at", "updated_at")
    list_filter = ("state", "kind", "lane", "organisation", "urgent")
    search_fields = ("id", "texts__body")
    inlines = [PostTextInline, DecisionInline, PublicationInline]


@admin.register(PostRevision)
class PostRevisionAdmin(ReadOnlyAdmin):
    list_display = ("post", "number", "created_by", "created_at")


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("post", "step", "reviewer", "verdict", "created_at", "invalidated_at")
    list_filter = ("verdict",)


@admin.register(PostReview)
class PostReviewAdmin(ReadOnlyAdmin):
    list_display = ("post", "kind", "status", "reviewer", "ok", "created_at", "completed_at")
    list_filter = ("kind", "status")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("chain", "seq", "verb", "actor", "from_state", "to_state", "created_at", "key_id")
    list_filter = ("verb",)
    search_fields = ("chain",)


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyAdmin):
    list_display = ("chain", "seq", "head", "updated_at")
    search_fields = ("chain",)


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("chain", "seq", "head", "key_id", "created_at")
    search_fields = ("chain",)


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    list_display = ("post", "channel", "language", "status", "attempts", "external_id", "sent_at")
    list_filter = ("status",)


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("channel", "external_id", "author", "language", "status", "assignee", "received_at")
    list_filter = ("status", "channel", "language")
    search_fields = ("body", "author", "external_id")


@admin.register(HoldingReply)
class HoldingReplyAdmin(TranslationAdmin):
    list_display = ("name", "organisation")
    list_filter = ("organisation",)


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "topic", "post", "created_at", "dispatched_at", "attempts")
    list_filter = ("topic",)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("url", "organisation", "events", "is_active", "created_at")
    list_filter = ("organisation", "is_active")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("user", "key", "method", "path", "status_code", "created_at")


@admin.register(CaretakerPeriod)
class CaretakerPeriodAdmin(PolicyAuditMixin, admin.ModelAdmin):
    """Periods are policy: every change is in the organisation's policy chain. Ending a period
    early is done by setting `cancelled_at`; deleting one is refused (the trail keeps it)."""

    list_display = ("name_en", "organisation", "starts_at", "ends_at", "official_lane_only", "cancelled_at")
    list_filter = ("organisation",)
    filter_horizontal = ("paused_channels",)
    readonly_fields = ("created_by", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
# --- listening and engagement (issue 10) ---


@admin.register(ListeningStream)
class ListeningStreamAdmin(admin.ModelAdmin):
    """Saved hashtags (#parks) and searches a channel listens to."""

    list_display = ("channel", "query", "active", "created_at")
    list_filter = ("active", "channel")
    search_fields = ("query",)


@admin.register(ListeningCursor)
class ListeningCursorAdmin(ReadOnlyAdmin):
    list_display = ("channel", "stream", "cursor", "last_polled_at", "backoff_until", "failures", "last_error")
    list_filter = ("channel",)


@admin.register(Engagement)
class EngagementAdmin(ReadOnlyAdmin):
    list_display = ("inbound", "channel", "action", "status", "attempts", "done_at")
    list_filter = ("status", "action")


@admin.register(AtipExport)
class AtipExportAdmin(ReadOnlyAdmin):
    """Access-to-information exports: read-only (requested through /exports/ or the API, where
    permission, scope and audit are checked)."""

    list_display = ("id", "organisation", "requested_by", "state", "progress", "chain_verified", "size_bytes",
                    "created_at", "expires_at", "downloads")
    list_filter = ("state", "organisation")
    exclude = ("redact_patterns",)  # patterns may name a citizen: shown only as a count elsewhere
# --- outside approvers and translation bureaus (issue 13.2) ---


@admin.register(OutsideInvitation)
class OutsideInvitationAdmin(ReadOnlyAdmin):
    """Links sent to people without an account. Invited from the post page or the API (the
    link goes only to the address, by e-mail); here they can be seen and revoked."""

    list_display = ("email", "post", "step", "languages", "can_edit", "created_by", "created_at", "expires_at",
                    "used_at", "verdict", "revoked_at")
    list_filter = ("organisation", "can_edit")
    search_fields = ("email",)
    exclude = ("token_hash",)
    actions = ["revoke_links"]

    def has_change_permission(self, request, obj=None):
        # Needed for the revoke action to show; every field stays read-only.
        return request.user.has_perm("workflows.change_outsideinvitation")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "token_hash"]

    @admin.action(description=gettext_lazy("Revoke the selected links"), permissions=["change"])
    def revoke_links(self, request, queryset):
        from .actions import REVOKE_INVITATION
        from .exceptions import WorkflowError

        done = 0
        for inv_id in queryset.filter(used_at__isnull=True, revoked_at__isnull=True).values_list("id", flat=True):
            try:
                REVOKE_INVITATION.execute(invitation_id=inv_id, by=request.user)
                done += 1
            except WorkflowError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
        self.message_user(request, _("%(count)s links revoked.") % {"count": done})
