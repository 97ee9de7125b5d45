from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..constants import PostKind, PostState, ReviewKind, ReviewStatus, Verdict


class Post(models.Model):
    """A reply or a post moving through a lane. Written only by workflows.services."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="posts"
    )
    lane = models.ForeignKey("workflows.Lane", on_delete=models.PROTECT, related_name="posts")
    channels = models.ManyToManyField("workflows.Channel", related_name="posts")
    kind = models.CharField(max_length=10, choices=PostKind.choices)
    in_reply_to = models.ForeignKey(
        "workflows.InboundMessage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replies",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_posts"
    )
    state = models.CharField(
        max_length=20, choices=PostState.choices, default=PostState.DRAFT, db_index=True
    )
    current_step = models.ForeignKey(
        "workflows.LaneStep", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    step_entered_at = models.DateTimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True, db_index=True)
    #: Bumped on every change; the API's ETag. A stale version is a conflict.
    version = models.PositiveIntegerField(default=1)
    #: Number of the current PostRevision.
    revision = models.PositiveIntegerField(default=0)
    rules_acknowledged = models.BooleanField(default=False)
    #: A reply's content warning (sent as Mastodon's `spoiler_text`; Bluesky has none): the
    #: citizen's by default, editable when replying.
    content_warning = models.CharField(max_length=500, blank=True, default="", db_default="")
    #: Free-text reason of posts escalated before escalations were stored as codes (legacy).
    escalation_reason = models.TextField(blank=True)
    #: Why a conversation reply moved to the official lane: {"code", "params"} (workflows.messages).
    escalation = models.JSONField(default=dict, blank=True)
    urgent = models.BooleanField(default=False)
    #: Went out under a person's name (their own account, or signed): conversation metrics.
    spoken_as_person = models.BooleanField(default=False)
    urgent_reason = models.TextField(blank=True)
    #: Latest guideline results: [{"rule", "severity", "ok", "code", "params", "language", "field"}];
    #: the words are rendered from the code when read (workflows.messages).
    checks = models.JSONField(default=list, blank=True)
    #: Head of this post's audit chain (cache of the last AuditEvent's seq and hash).
    audit_seq = models.PositiveIntegerField(default=0)
    audit_head = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    #: Loud flag: some languages are live and another failed for good (the lane holds them).
    partly_published = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "state"]),
            models.Index(fields=["state", "scheduled_at"]),
            # Lists at 100k posts (issue 14): the post list and an author's posts, newest first;
            # published posts of an organisation by time (metrics).
            models.Index(fields=["organisation", "-created_at", "-id"], name="post_org_created_idx"),
            models.Index(fields=["author", "state", "-created_at", "-id"], name="post_author_created_idx"),
            models.Index(fields=["organisation", "published_at"], condition=Q(state="published"),
                         name="post_org_published_idx"),
        ]

    def __str__(self) -> str:
        return f"Post {self.id} ({self.state})"

    @property
    def escalation_display(self) -> str:
        """The escalation reason in the active language ("" when not escalated)."""
        from ..messages import render_stored

        return render_stored(self.escalation) if self.escalation else self.escalation_reason

    def texts_dict(self) -> dict[str, str]:
        return {t.language: t.body for t in self.texts.all()}


class PostText(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(max_length=2)
    body = models.TextField()
    #: Bumped each time this language's body changes; approvals are bound to it.
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(fields=["post", "language"], name="posttext_unique_language"),
        ]

    def __str__(self) -> str:
        return f"{self.post_id}/{self.language}"


class PostRevision(models.Model):
    """An immutable snapshot of every language's text, taken on each edit."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    texts = models.JSONField()
    #: The media as they were: [{"medium", "position", "language", "alt_text": {lang: …},
    #: "captions": {lang: …}, "focus": [x, y]}] (issue 22).
    media = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["post_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["post", "number"], name="postrevision_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} r{self.number}"


class Decision(models.Model):
    """A reviewer's verdict on one step, bound to the revision (and languages) it saw."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="decisions")
    step = models.ForeignKey("workflows.LaneStep", on_delete=models.PROTECT, related_name="+")
    #: Number of the PostRevision the reviewer saw.
    revision = models.PositiveIntegerField()
    #: {language: PostText.version} of every text the reviewer saw.
    text_versions = models.JSONField(default=dict)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    #: An approval's languages: those it counts for (four eyes by contribution, an outside link's
    #: scope; services/four_eyes.approval_scope). Null: every language it saw (recorded before).
    languages = models.JSONField(null=True, blank=True)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    #: Set when a language the decision covered was edited afterwards.
    invalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["post_id", "created_at", "id"]
        constraints = [
            # One live approval per reviewer per step, enforced by the database too.
            models.UniqueConstraint(
                fields=["post", "step", "reviewer"],
                condition=Q(verdict="approve", invalidated_at__isnull=True),
                name="decision_one_live_approval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} {self.verdict} by {self.reviewer_id}"


class PostReview(models.Model):
    """A review after the fact: a sampled spot-check or the retrospective of an urgent post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reviews")
    kind = models.CharField(max_length=20, choices=ReviewKind.choices)
    status = models.CharField(max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: Who may not do this review (the author, or whoever broke the glass).
    excluded_users = models.JSONField(default=list, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ok = models.BooleanField(null=True, blank=True)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["post", "kind"], name="postreview_unique_kind"),
        ]
        indexes = [
            models.Index(fields=["team", "due_at"], condition=Q(status="open"), name="postreview_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.post_id}"
