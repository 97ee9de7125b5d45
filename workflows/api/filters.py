"""Query-string filters for the list endpoints (django-filter). Invalid values → 400."""
from __future__ import annotations

import django_filters

from ..constants import InboundStatus, PostKind, PostState
from ..models import InboundMessage, Post


class PostFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=PostState.choices)
    kind = django_filters.ChoiceFilter(choices=PostKind.choices)
    lane = django_filters.CharFilter(field_name="lane__slug", max_length=50, help_text="Lane slug.")
    channel = django_filters.CharFilter(
        field_name="channels__slug", max_length=50, distinct=True, help_text="Channel slug."
    )
    author = django_filters.CharFilter(
        field_name="author__username", max_length=150, help_text="Author's username."
    )

    class Meta:
        model = Post
        fields = ["state", "kind", "lane", "channel", "author"]


class InboundFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InboundStatus.choices)
    channel = django_filters.CharFilter(field_name="channel__slug", max_length=50, help_text="Channel slug.")
    assignee = django_filters.CharFilter(
        method="filter_assignee", max_length=150,
        help_text="Assignee's username; `me` for the caller; `none` for unassigned messages.",
    )

    class Meta:
        model = InboundMessage
        fields = ["status", "channel", "assignee"]

    def filter_assignee(self, queryset, name, value):
        if value == "me":
            return queryset.filter(assignee_id=self.request.user.id)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee__username=value)
