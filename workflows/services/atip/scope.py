"""What an export covers: the posts and citizen messages in its scope, and the citizens' words to redact."""
from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from ...models import AtipExport, InboundMessage, Post
from .redaction import name_parts

# --- scope -------------------------------------------------------------------------------------

def posts_in_scope(export: AtipExport) -> QuerySet[Post]:
    qs = Post.objects.filter(organisation_id=export.organisation_id)
    if export.post_id:
        return qs.filter(id=export.post_id)
    if export.inbound_id:
        return qs.filter(in_reply_to_id=export.inbound_id)
    chan_ids = list(export.channels.values_list("id", flat=True))
    if chan_ids:
        qs = qs.filter(Exists(Post.channels.through.objects.filter(post_id=OuterRef("pk"), channel_id__in=chan_ids)))
    if export.date_from:
        qs = qs.filter(created_at__gte=export.date_from)
    if export.date_to:
        qs = qs.filter(created_at__lte=export.date_to)
    return qs


def inbound_in_scope(export: AtipExport) -> QuerySet[InboundMessage]:
    qs = InboundMessage.objects.filter(organisation_id=export.organisation_id)
    if export.inbound_id:
        return qs.filter(id=export.inbound_id)
    if export.post_id:
        return qs.filter(id__in=Post.objects.filter(id=export.post_id).values("in_reply_to_id"))
    chan_ids = list(export.channels.values_list("id", flat=True))
    if chan_ids:
        qs = qs.filter(channel_id__in=chan_ids)
    if export.date_from:
        qs = qs.filter(received_at__gte=export.date_from)
    if export.date_to:
        qs = qs.filter(received_at__lte=export.date_to)
    return qs


def _citizen_words(export: AtipExport, posts: QuerySet[Post],
                   inbound: QuerySet[InboundMessage]) -> tuple[list[str], list[str]]:
    """(literals, name parts) to redact: the full names and handles of the citizens in scope and
    of those the posts answer, and each part of those names (`name_parts`)."""
    if not (export.redact_names or export.redact_handles):
        return [], []
    words: set[str] = set()
    parts: set[str] = set()
    rows = InboundMessage.objects.filter(
        Q(id__in=inbound.values("id")) | Q(id__in=posts.filter(in_reply_to__isnull=False).values("in_reply_to_id"))
    ).values_list("author", "author_handle")
    for author, handle in rows.iterator(chunk_size=2000):
        author, handle = (author or "").strip(), (handle or "").strip().lstrip("@")
        if export.redact_names and author:
            words.add(author)
            words.add(author.lstrip("@"))
            parts.update(name_parts(author))
        if export.redact_handles and handle:
            words.update({handle, "@" + handle})
        if export.redact_handles and author.startswith("@"):
            words.add(author.lstrip("@"))
    return sorted(words), sorted(parts)
